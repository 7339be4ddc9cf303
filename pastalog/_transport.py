"""HTTP for the client: one keep-alive connection, every request under a deadline.

``HTTPTransport(base_url, token=, timeout=)`` is the client's default transport
(``transport(path, body, content_type) -> (status, reply)``). A socket timeout
applies to each read, so every request here has a deadline for the whole of it
(connect, send, the complete answer), and another thread may bring that deadline
forward (``cutoff``), as ``Log.close()`` and the signal handlers do.
"""
import functools
import http.client
import io
import socket
import time
import urllib.parse

__all__ = ["HTTPTransport"]

_MAX_ANSWER = 1 << 20       # bytes read from an answer; the rest is not worth memory
_READ_SLICE = 0.25          # seconds a blocking read waits before it checks the deadline


class _DeadlineReader(io.RawIOBase):
    """The socket under an HTTP answer, read against a deadline for the whole request.

    A socket timeout applies to each read, so a server sending one byte every few
    seconds would hold a plain reader forever; here each read waits at most until
    ``left()`` reaches zero (checked every ``_READ_SLICE`` seconds).
    """

    def __init__(self, fp, sock, left):
        self._fp = fp          # http.client's own reader: keeps the socket open until closed
        self._sock = sock
        self._left = left

    def readable(self):
        return True

    def readinto(self, buf):
        while True:
            left = self._left()
            if left <= 0:
                raise TimeoutError("timed out: no complete answer before the deadline")
            self._sock.settimeout(min(left, _READ_SLICE))
            try:
                return self._sock.recv_into(buf)
            except TimeoutError:
                continue

    def close(self):
        if not self.closed:
            self._fp.close()
        super().close()


class _Response(http.client.HTTPResponse):
    def __init__(self, sock, *args, left, **kwargs):
        super().__init__(sock, *args, **kwargs)
        self.fp = io.BufferedReader(_DeadlineReader(self.fp, sock, left))


class _DeadlineSend:
    """Each write of a request waits at most until the request's deadline."""

    left = None

    def send(self, data):
        if self.sock is not None:
            left = self.left()
            if left <= 0:
                raise TimeoutError("timed out: the request could not be sent before the deadline")
            self.sock.settimeout(left)
        super().send(data)


#: Failures of a reused connection that the server had already closed.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _HTTPConnection(_DeadlineSend, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineSend, http.client.HTTPSConnection):
    pass


class HTTPTransport:
    """Posts request bodies over one keep-alive HTTP connection.

    ``transport(path, body, content_type) -> (status, response_bytes)``; raises
    ``OSError`` when the server cannot be reached, ``TimeoutError`` when a request
    (connect, send and the whole answer) takes longer than ``timeout`` seconds or runs
    past ``cutoff`` (a ``time.monotonic()`` time another thread may set). At most
    1 MiB of an answer is read (``request(method, path, limit=None)`` reads a whole one:
    what :class:`pastalog.Api` reads with). ``TCP_NODELAY`` is set: without it Nagle's algorithm
    and delayed ACKs stall every request ~40 ms on loopback. The token is sent UTF-8
    encoded, as curl sends it.

    Examples
    --------
    >>> transport = HTTPTransport("http://127.0.0.1:8120", token="s3cret", timeout=5)
    >>> transport("/data", b'{"modelName": "m", "pointType": "loss", '  # doctest: +SKIP
    ...           b'"pointValue": 2.5, "globalStep": 1}', "application/json")
    (200, b'...')
    """

    def __init__(self, base_url, *, token=None, timeout=30.0):
        parts = urllib.parse.urlsplit(base_url)
        self._cls = _HTTPSConnection if parts.scheme == "https" else _HTTPConnection
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")
        self.timeout = float(timeout)
        self.cutoff = None
        self._deadline = 0.0
        self._headers = ({"Authorization": b"Bearer " + token.encode("utf-8")} if token
                         else {})
        self._conn = None

    def _left(self):
        end = self._deadline if self.cutoff is None else min(self._deadline, self.cutoff)
        return end - time.monotonic()

    def __call__(self, path, body, content_type):
        return self.request("POST", path, body, content_type)

    def request(self, method, path, body=None, content_type=None, *, limit=_MAX_ANSWER):
        """Send one request: ``(status, answer bytes)``, at most ``limit`` bytes of the
        answer (``None``: all of it, for reads)."""
        self._deadline = time.monotonic() + self.timeout
        reused = self._conn is not None
        try:
            return self._request(method, path, body, content_type, limit)
        except _STALE:
            # The server closes keep-alive connections it found idle (--idle-timeout);
            # a request on such a connection fails before any answer: send it once more
            # on a new one (a repeated batch is stored once: it carries its id).
            if not reused:
                raise
            return self._request(method, path, body, content_type, limit)

    def _request(self, method, path, body, content_type, limit):
        try:
            if self._conn is None:
                left = self._left()
                if left <= 0:
                    raise TimeoutError("timed out before connecting")
                conn = self._cls(self._netloc, timeout=left)
                conn.left = self._left
                conn.response_class = functools.partial(_Response, left=self._left)
                self._conn = conn
                conn.connect()
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            headers = dict(self._headers)
            if content_type is not None:
                headers["Content-Type"] = content_type
            self._conn.request(method, self._prefix + path, body, headers)
            resp = self._conn.getresponse()
            reply = resp.read(limit)
            if not resp.isclosed():     # an answer longer than we read: drop the connection
                resp.close()
                self.close()
            return resp.status, reply
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            if isinstance(exc, OSError):
                raise
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc

    def close(self):
        """Drop the connection (the next call reconnects)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
