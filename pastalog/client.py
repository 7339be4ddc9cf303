"""The client: ``Log(server, model_name).write(series, value)``.

``write`` appends to columnar arrays in memory and returns (1.91 µs median in
benchmarks/RESULTS.md); one daemon thread batches them every ``flush_interval`` seconds (or
sooner, at ``batch_points`` points) and posts them to the server over one
keep-alive connection. A slow, dead or restarting server never blocks or raises
into the training loop: batches wait in memory, past ``max_memory_points`` in a
spool file on disk, and are sent in order when the server answers again; one
warning says so. Every batch carries an id, so a batch sent twice is stored once.

Only the caller's own mistakes raise, at once: an invalid name, a value that is not
a number, a step beyond ±(2**53-1). Standard library only (numpy is used for images
only if you pass one).

Every request has a whole-request deadline (``request_timeout``), so a server that
answers one byte at a time cannot hold the sender; ``close()`` cuts off a request
still running at its own deadline and spools what is left. The sender thread
survives anything it meets: an unexpected error is counted (``sender_errors``),
said once, and the batch is retried. ``last_error`` says why delivery fails.

Signals: the first ``Log`` created in the main thread installs handlers for SIGTERM
and SIGINT (``handle_signals=False`` opts out). On either signal every live ``Log``
spools what it has not delivered, then the signal does what it did before: the
handler installed at that moment is called (Python's default for SIGINT raises
``KeyboardInterrupt``), or, for the default action, the default is restored and
the signal sent again, so the process still terminates by that signal. A handler
the program installs *after* its first ``Log`` replaces pastalog's; call
``log.close()`` in it to keep the points.
"""
import atexit
import errno
import functools
import http.client
import io
import logging
import operator
import os
import re
import signal
import socket
import threading
import time
import urllib.parse
import uuid
import weakref
from array import array
from collections import deque
from typing import Any, Literal

from . import _spool
from ._images import to_png
from .errors import InvalidValue, PastalogError
from .limits import BACKOFF_MAX, BACKOFF_MIN, MAX_STEP
from .names import check_name
from .paths import spool_dir as default_spool_dir
from .wire import CONTENT_TYPE, encode_batch

__all__ = ["HTTPTransport", "Log"]

log = logging.getLogger("pastalog")

_MAX_REQUEST_POINTS = 200_000
_MAX_ANSWER = 1 << 20       # bytes read from an answer; the rest is not worth memory
_READ_SLICE = 0.25          # seconds a blocking read waits before it checks the deadline
_SPOOL_GRACE = 5.0          # how long close() and a signal wait for the spool to be written
_DISK_FULL = frozenset(getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG")
                       if hasattr(errno, name))
# What a header value cannot carry: control characters, line separators, lone surrogates.
_BAD_TOKEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_LIVE: "weakref.WeakSet[Log]" = weakref.WeakSet()
_now = time.time


def _server_url(server):
    if isinstance(server, bool) or not isinstance(server, (int, str)):
        raise TypeError(f"server must be a port number or a URL, got {server!r}")
    if isinstance(server, int) or server.isdigit():
        port = int(server)
        if not 0 < port < 65536:
            raise ValueError(f"server port must be within 1..65535, got {port}")
        return f"http://127.0.0.1:{port}"
    url = server if "://" in server else "http://" + server
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"server must be a port or an http(s) URL, got {server!r}")
    return url.rstrip("/")


def _as_float(value, series):
    if isinstance(value, (int, float)):  # includes bool and numpy's float64
        try:
            return float(value)
        except OverflowError:
            raise InvalidValue(f"value for {series!r} is too large for a float64: "
                               f"{str(value)[:40]}") from None
    item = getattr(value, "item", None)
    if item is not None:
        try:
            value = item()
        except (ValueError, TypeError, RuntimeError) as exc:
            raise InvalidValue(
                f"value for {series!r} must be a single number, got {type(value).__name__} "
                f"({exc})") from None
        if isinstance(value, (int, float)):
            return float(value)
    raise InvalidValue(f"value for {series!r} must be a real number, got "
                       f"{type(value).__name__} {str(value)[:40]!r}")


def _as_step(step):
    if isinstance(step, float) and step.is_integer():
        step = int(step)
    try:
        step = operator.index(step)
    except TypeError:
        raise InvalidValue(f"step must be an integer, got {type(step).__name__} "
                           f"{str(step)[:40]!r}") from None
    if isinstance(step, bool):
        raise InvalidValue(f"step must be an integer, got bool {step!r}")
    if not -MAX_STEP <= step <= MAX_STEP:
        raise InvalidValue(f"step must be within ±(2**53-1) (±{MAX_STEP}), got {step!r}")
    return step


def _past_the_end(what, name):
    return InvalidValue(f"{what} {name!r} is at step 2**53-1 ({MAX_STEP}), the largest step; "
                        "give the next step explicitly")


def _check_token(token):
    if not isinstance(token, str):
        raise TypeError(f"token must be a string, got {type(token).__name__}")
    bad = _BAD_TOKEN.search(token)
    if bad:
        raise ValueError(f"token must not contain control characters or line breaks, got "
                         f"{bad.group()!r} at position {bad.start()} (a newline read from a "
                         "file? strip it)")
    if token != token.strip():
        raise ValueError("token must not start or end with spaces (HTTP drops them, so the "
                         "server would never match it)")
    return token


class _Series:
    # The arrays are never replaced (the sender copies and clears them), so their
    # bound append methods can be kept: write() saves three lookups a call.
    __slots__ = ("name", "next", "steps", "values", "times", "add_step", "add_value",
                 "add_time")

    def __init__(self, name):
        self.name = name
        self.next = 0
        self.steps = array("q")
        self.values = array("d")
        self.times = array("d")
        self.add_step = self.steps.append
        self.add_value = self.values.append
        self.add_time = self.times.append


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


class _HTTPConnection(_DeadlineSend, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineSend, http.client.HTTPSConnection):
    pass


class _Wake:
    """An auto-clearing event on one plain lock, released to wake the sender.

    ``set()`` is a single C call, so a signal handler that runs on the main thread
    between two bytecodes can never find it half done; ``threading.Event`` holds
    an internal lock in ``set()``, which a handler's own ``set()`` (or the sender
    waking up) would then wait for while the handler waits for the sender.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._lock.acquire()            # held: not set

    def set(self):
        if self._lock.locked():
            try:
                self._lock.release()
            except RuntimeError:        # another thread set it first
                pass

    def clear(self):
        self._lock.acquire(blocking=False)

    def wait(self, timeout):
        """Wait until set (and clear it) or ``timeout`` seconds; whether it was set."""
        return self._lock.acquire(timeout=timeout)


class HTTPTransport:
    """Posts request bodies over one keep-alive HTTP connection.

    ``transport(path, body, content_type) -> (status, response_bytes)``; raises
    ``OSError`` when the server cannot be reached, ``TimeoutError`` when a request
    (connect, send and the whole answer) takes longer than ``timeout`` seconds or runs
    past ``cutoff`` (a ``time.monotonic()`` time another thread may set). At most
    1 MiB of an answer is read. ``TCP_NODELAY`` is set: without it Nagle's algorithm
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
        self._deadline = time.monotonic() + self.timeout
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
            headers = {"Content-Type": content_type, **self._headers}
            self._conn.request("POST", self._prefix + path, body, headers)
            resp = self._conn.getresponse()
            reply = resp.read(_MAX_ANSWER)
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


class Log:
    """Log scalars and images of one model to a pastalog server.

    Parameters
    ----------
    server : int or str
        A port (``8120`` means ``http://127.0.0.1:8120``) or a URL.
    model_name : str
        The model (run) these points belong to.
    token : str, optional
        Bearer token for a server started with ``--token``; default
        ``$PASTALOG_TOKEN``. Any Unicode without control characters; sent UTF-8
        encoded (as curl sends it).
    flush_interval : float
        Seconds between sends (default 0.05).
    batch_points : int
        Send sooner once this many points wait (default 10,000).
    max_memory_points : int
        Past this many unsent points, batches go to the spool file (default 1,000,000).
    spool_dir : str, path or False, optional
        Where to spool; default ``$PASTALOG_SPOOL`` or the user cache dir. ``False``
        keeps everything in memory, as does a directory that cannot be used (one
        warning says so).
    close_timeout : float
        How long ``close()`` (and interpreter exit) waits for delivery before it
        spools what is left for the next ``Log`` to send (default 10 s).
    request_timeout : float
        Seconds one request may take in all, connecting, sending and reading the whole
        answer (default 30 s); then it is retried.
    handle_signals : bool
        Spool unsent points on SIGTERM and SIGINT before the signal takes its course
        (default True; see the module's docstring for how handlers are chained).
    transport : callable, optional
        ``transport(path, body, content_type) -> (status, bytes)``; default HTTP.

    Attributes
    ----------
    last_error : str or None
        Why the last delivery failed (a refused token, an unreachable server, a
        timeout); ``None`` before any trouble and again once the server takes points.
    dropped : int
        Batches the server refused as invalid (400, 413, 422) and that were dropped.
    sender_errors : int
        Unexpected errors the sender thread met and survived.

    Examples
    --------
    >>> log = Log(8120, "model_1", transport=lambda path, body, ctype: (200, b"{}"))
    >>> log.write("train_loss", 2.7)
    >>> log.write("train_loss", 2.5)
    >>> log.flush(timeout=5)
    True
    >>> log.last_error is None
    True
    >>> log.close()
    """

    def __init__(self, server: "int | str" = 8120, model_name: str = "model", *,
                 token: "str | None" = None, flush_interval: float = 0.05,
                 batch_points: int = 10_000, max_memory_points: int = 1_000_000,
                 spool_dir: "str | os.PathLike[str] | Literal[False] | None" = None, close_timeout: float = 10.0,
                 request_timeout: float = 30.0, handle_signals: bool = True,
                 transport: Any = None) -> None:
        self.server = _server_url(server)
        self.model_name = check_name(model_name, "model name")
        self.flush_interval = float(flush_interval)
        self.batch_points = int(batch_points)
        self.max_memory_points = int(max_memory_points)
        self.close_timeout = float(close_timeout)
        self.request_timeout = float(request_timeout)
        token = token if token is not None else os.environ.get("PASTALOG_TOKEN") or None
        if token is not None:
            _check_token(token)
        self._has_token = bool(token)
        self._transport = transport or HTTPTransport(self.server, token=token,
                                                     timeout=self.request_timeout)
        if spool_dir is None:
            spool_dir = os.environ.get("PASTALOG_SPOOL") or default_spool_dir()
        self._spool_dir = (None if spool_dir is False
                           else os.path.join(os.fspath(spool_dir), _label(self.server)))
        self._series: dict = {}
        self._image_steps: dict = {}
        self._images: list = []
        self._lock = threading.Lock()
        self._wake = _Wake()
        # Reentrant: a signal handler may run while the main thread holds it in flush().
        self._done = threading.Condition(threading.RLock())
        self._wake_at = self.batch_points   # wake the sender at this many accepted
        self._accepted = 0          # ever accepted by write/image
        self._delivered = 0         # ever delivered (or given up on)
        self.dropped = 0            # points the server refused as invalid
        self.sender_errors = 0      # unexpected errors the sender survived
        self.last_error = None
        self._pending: deque = deque()  # (path, body, content_type, n) in memory
        self._pending_points = 0
        self._replay: deque = deque()   # spool files to send, oldest first:
                                    # [path, fd, records or None, ours?]
        self._spool = (_spool.Spool(self._spool_dir, self.model_name)
                       if self._spool_dir else None)
        self._problem = None        # the trouble of the current outage, if any
        self._warned: set = set()   # what was said during it: each problem once
        self._spool_asked = 0       # spool-everything-now requests (signals) ...
        self._spool_done = 0        # ... and how many the sender has carried out
        self._closing = False
        self.closed = False
        self._thread = threading.Thread(target=self._run, name=f"pastalog-{model_name[:20]}",
                                        daemon=True)
        self._thread.start()
        _LIVE.add(self)
        if handle_signals:
            _install_signal_handlers()

    # -- the caller's side: only memory --------------------------------------------

    def write(self, series: str, value: float, step: "int | None" = None) -> None:
        """Log ``value`` of ``series`` at ``step`` (default: the series' last step + 1).

        Parameters
        ----------
        series : str
            Series name; ``/`` groups (``conv1/mean``).
        value : float, int, bool, numpy scalar or anything with ``.item()``
        step : int, optional
            Within ±(2**53-1).

        Raises
        ------
        InvalidName, InvalidValue
            At once, for a bad name, value or step; nothing is logged then.

        Examples
        --------
        >>> log = Log(8120, "m", transport=lambda path, body, ctype: (200, b"{}"))
        >>> log.write("loss", 2.5)
        >>> log.write("loss", "2.5")
        Traceback (most recent call last):
        ...
        pastalog.errors.InvalidValue: value for 'loss' must be a real number, got str '2.5'
        >>> log.close()
        """
        try:
            s = self._series[series]
        except (KeyError, TypeError):
            s = self._add_series(series)
        if value.__class__ is not float:
            value = _as_float(value, series)
        if step is None:
            step = s.next
            if step > MAX_STEP:
                raise _past_the_end("series", series)
        elif step.__class__ is not int or not -MAX_STEP <= step <= MAX_STEP:
            step = _as_step(step)
        s.next = step + 1
        t = _now()
        with self._lock:
            try:
                s.add_step(step)
                s.add_value(value)
                s.add_time(t)
            except BaseException:       # KeyboardInterrupt between two appends
                _trim(s)
                raise
            self._accepted += 1
        if self._accepted >= self._wake_at:
            self._wake.set()

    def post(self, series: str, value: float, step: int) -> None:
        """The original pastalog API: ``write(series, value, step)``."""
        self.write(series, value, step)

    def write_many(self, values: "dict[str, float]", step: "int | None" = None) -> None:
        """Log several series at one step, all of them or (on a bad entry) none.

        Parameters
        ----------
        values : dict
            ``{series: value}``.
        step : int, optional
            One step for all; default: each series' last step + 1.

        Examples
        --------
        >>> log = Log(8120, "m", transport=lambda path, body, ctype: (200, b"{}"))
        >>> log.write_many({"loss": 2.1, "acc": 0.4}, step=10)
        >>> log.write_many({"loss": 2.0, "acc": "high"})
        Traceback (most recent call last):
        ...
        pastalog.errors.InvalidValue: value for 'acc' must be a real number, got str 'high'
        >>> log.close()
        """
        if step is not None and (step.__class__ is not int or not -MAX_STEP <= step <= MAX_STEP):
            step = _as_step(step)
        items = []
        for series, value in values.items():       # validate every entry first ...
            s = self._series.get(series) if isinstance(series, str) else None
            if s is None:
                s = self._add_series(series)
            if value.__class__ is not float:
                value = _as_float(value, series)
            at = s.next if step is None else step
            if at > MAX_STEP:
                raise _past_the_end("series", series)
            items.append((s, at, value))
        t = _now()
        with self._lock:                            # ... then commit them all
            for s, at, value in items:
                try:
                    s.add_step(at)
                    s.add_value(value)
                    s.add_time(t)
                except BaseException:
                    _trim(s)
                    raise
                s.next = at + 1
                self._accepted += 1
        if self._accepted >= self._wake_at:
            self._wake.set()

    def image(self, name: str, img: Any, step: "int | None" = None) -> None:
        """Log an image (array, PIL image, matplotlib Figure, PNG bytes or a path).

        Arrays are HxW, HxWx3 or HxWx4, uint8 or float in [0, 1]. ``step`` defaults
        to the image name's last step + 1.

        Examples
        --------
        >>> log = Log(8120, "m", transport=lambda path, body, ctype: (200, b"{}"))
        >>> log.image("digits", "samples.png", step=3)  # doctest: +SKIP
        >>> log.close()
        """
        check_name(name, "image name")
        if step is None:
            at = self._image_steps.get(name, 0)
            if at > MAX_STEP:
                raise _past_the_end("image name", name)
        else:
            at = _as_step(step)
        png = to_png(img)
        self._image_steps[name] = at + 1
        query = urllib.parse.urlencode({"model": self.model_name, "name": name, "step": at,
                                        "time": repr(_now()), "batch": uuid.uuid4().hex})
        with self._lock:
            self._images.append((f"/api/v1/images?{query}", png, "image/png", 1))
            self._accepted += 1
        self._wake.set()

    def _add_series(self, name):
        check_name(name)
        # Under the lock: the sender iterates self._series while it drains. write()
        # looks series up without it (a dict read is safe while another thread
        # inserts), so only a new series pays for the lock.
        with self._lock:
            s = self._series.get(name)
            if s is None:
                s = self._series[name] = _Series(name)
        return s

    def flush(self, timeout: "float | None" = None, raise_on_error: bool = False) -> bool:
        """Send everything written so far; return whether it was all delivered in time.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait; default: until delivered.
        raise_on_error : bool
            Raise ``PastalogError`` (saying why, from ``last_error``) instead of
            returning False.

        Returns
        -------
        bool
            True when every point and image written before the call was delivered
            and none was refused as invalid.

        Examples
        --------
        >>> log = Log(8120, "m", token="wrong", spool_dir=False,
        ...           transport=lambda path, body, ctype: (401, b"bad token"))
        >>> log.write("loss", 2.5)
        >>> log.flush(timeout=1, raise_on_error=True)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pastalog.errors.PastalogError: ... refused the token (401...
        >>> log.close(timeout=0)
        """
        ok = self._flush(timeout)
        if not ok and raise_on_error:
            if self._thread.is_alive() or self.closed:
                why = self.last_error or "not every point was delivered in time"
            else:
                why = "the sender thread stopped"
            raise PastalogError(f"flush to {self.server} failed: {why}")
        return ok

    def _flush(self, timeout):
        if self.closed:
            return self._delivered >= self._accepted
        with self._done:
            target = self._accepted
            dropped = self.dropped
            self._wake.set()
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._delivered < target:
                if not self._thread.is_alive():
                    return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._done.wait(0.5 if left is None else min(left, 0.5))
                self._wake.set()
        return self.dropped == dropped

    def close(self, timeout: "float | None" = None) -> None:
        """Flush (up to ``timeout``, default ``close_timeout`` s), spool the rest, stop.

        A request still running at the deadline is cut off; what is left then goes
        to the spool file (as long as writing it takes, at most a few seconds). A
        warning says how many points were spooled, or lost when they could not be.
        """
        if self.closed:
            return
        if timeout is None:
            # With the server already failing, waiting helps nobody: spool at once.
            timeout = 0.0 if self._problem else self.close_timeout
        deadline = time.monotonic() + timeout
        self._set_cutoff(deadline)
        delivered = self._flush(timeout)
        self._closing = True
        self._set_cutoff(time.monotonic())
        self._wake.set()
        self._thread.join(max(0.0, deadline - time.monotonic()) + _SPOOL_GRACE)
        stopped = not self._thread.is_alive()
        self.closed = True
        _LIVE.discard(self)
        if stopped:
            self._release_files()
        left = self._accepted - self._delivered
        if delivered or left <= 0:
            return
        if not stopped:
            log.warning("pastalog: %d points/images could not reach %s before close and the "
                        "sender is still busy; they are lost if the process exits now",
                        left, self.server)
            return
        in_memory = min(left, self._pending_points + self._buffered())
        spooled = left - in_memory
        if spooled:
            log.warning("pastalog: %d points/images could not reach %s before close; "
                        "they wait in %s and the next pastalog.Log for this server "
                        "sends them", spooled, self.server, self._spool_dir)
        if in_memory:
            log.warning("pastalog: %d points/images could not be delivered to %s and were "
                        "lost (%s)", in_memory, self.server,
                        "spooling is off" if self._spool is None else
                        "the spool file could not be written")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Log({self.server!r}, {self.model_name!r})"

    def _set_cutoff(self, when):
        if hasattr(self._transport, "cutoff"):
            self._transport.cutoff = when

    def _buffered(self):
        """Points and images written but not yet taken by the sender."""
        return sum(len(s.times) for s in list(self._series.values())) + len(self._images)

    def _release_files(self):
        """Close spool files (releasing their locks) once the sender has stopped."""
        while self._replay:
            try:
                os.close(self._replay.popleft()[1])
            except OSError:
                pass
        if self._spool is not None:
            self._spool.close()

    def _spool_now(self, why, timeout=_SPOOL_GRACE):
        """Have the sender spool every unsent point now (a signal); say what happened."""
        if self.closed or self._accepted <= self._delivered:
            return
        if self._spool is None or not self._thread.is_alive():
            log.warning("pastalog: %s: %d points/images not yet delivered to %s are lost (%s)",
                        why, self._accepted - self._delivered, self.server,
                        "spooling is off" if self._spool is None else "the sender stopped")
            return
        with self._done:
            self._spool_asked += 1
            ticket = self._spool_asked
        self._set_cutoff(time.monotonic())
        self._wake.set()
        deadline = time.monotonic() + timeout
        with self._done:
            while (self._spool_done < ticket and self._thread.is_alive()
                   and time.monotonic() < deadline):
                self._done.wait(0.05)
        if not self._closing:
            self._set_cutoff(None)
        left = self._accepted - self._delivered
        in_memory = min(left, self._pending_points + self._buffered())
        if left - in_memory:
            log.warning("pastalog: %s: %d points/images not yet delivered to %s are spooled "
                        "to %s; they are sent once the server answers, by this process or "
                        "the next pastalog.Log for this server", why, left - in_memory,
                        self.server, self._spool_dir)
        if in_memory:
            log.warning("pastalog: %s: %d points/images could not be spooled in time and "
                        "are lost if the process exits now", why, in_memory)

    # -- the sender thread ---------------------------------------------------------

    def _drain(self, force=False):
        """Swap out the write buffers; returns requests for what they held.

        While a signal handler waits for the spool (on the main thread, which may hold
        the lock, frozen between two appends of one write), it takes the buffers
        without the lock after a short wait: only whole points, leaving a half-written
        one to be completed.
        """
        locked = self._lock.acquire(timeout=0.2 if force else 0.1)
        while not locked and not self._spool_asked > self._spool_done:
            locked = self._lock.acquire(timeout=0.1)
        try:
            taken = []
            for s in list(self._series.values()):
                n = len(s.times)
                if n:
                    n = min(n, len(s.steps), len(s.values))
                    taken.append((s.name, s.steps[:n], s.values[:n], s.times[:n]))
                    del s.steps[:n], s.values[:n], s.times[:n]
            images, self._images = self._images, []
            self._wake_at = self._accepted + self.batch_points
        finally:
            if locked:
                self._lock.release()
        requests = []
        batch, size = [], 0
        for name, steps, values, times in taken:
            for lo in range(0, len(values), _MAX_REQUEST_POINTS):
                hi = lo + _MAX_REQUEST_POINTS
                batch.append((self.model_name, name, steps[lo:hi], values[lo:hi], times[lo:hi]))
                size += len(batch[-1][2])
                if size >= _MAX_REQUEST_POINTS:
                    requests.append(self._points_request(batch, size))
                    batch, size = [], 0
        if batch:
            requests.append(self._points_request(batch, size))
        return requests + images

    @staticmethod
    def _points_request(batch, size):
        return ("/api/v1/points", encode_batch(uuid.uuid4().hex, batch), CONTENT_TYPE, size)

    def _run(self):
        try:
            self._loop()
        except BaseException:
            # A bug here must not pass silently: flush() stops waiting, close() warns.
            log.exception("pastalog: the sender thread for %s stopped on an error; points "
                          "written from now on are not sent", self.server)
            with self._done:
                self._done.notify_all()

    def _loop(self):
        self._adopt_orphans()
        backoff = 0.0
        while True:
            self._wake.wait(max(self.flush_interval, backoff))
            self._wake.clear()
            closing, asked = self._closing, self._spool_asked
            spool_all = closing or asked > self._spool_done
            try:
                for request in self._drain(force=spool_all and not closing):
                    self._enqueue(request)
                if spool_all or self._pending_points > self.max_memory_points:
                    self._spool_pending()
                ok = spool_all or self._send_all()
            except Exception as exc:    # a bug or a surprise: count it, say it, go on
                ok = False
                self._unexpected(exc)
            if spool_all:
                with self._done:
                    self._spool_done = asked
                    self._done.notify_all()
            if closing:
                return
            backoff = 0.0 if ok else min(BACKOFF_MAX, max(BACKOFF_MIN, backoff * 2))

    def _adopt_orphans(self):
        if not self._spool:
            return
        try:
            found = _spool.orphans(self._spool_dir)
        except OSError as exc:
            self._spool_off(exc)
            return
        self._replay.extend([p, fd, None, False] for p, fd in found)

    def _spool_off(self, exc):
        """The spool directory cannot be used: go on without a spool."""
        log.warning("pastalog: cannot use the spool directory %s (%s: %s); spooling is off, "
                    "unsent points stay in memory", self._spool_dir, type(exc).__name__,
                    exc.strerror or exc)
        spool, self._spool = self._spool, None
        if spool is not None and spool.records:
            self._replay.append([*spool.take(), None, True])

    def _enqueue(self, request):
        if self._spool and self._spool.records and self._to_spool(request):
            return
        self._pending.append(request)
        self._pending_points += request[3]

    def _to_spool(self, request):
        path, body, _, n = request
        try:
            self._spool.append(f"{n} {path}", body)
        except OSError as exc:
            if exc.errno not in _DISK_FULL:
                self._spool_off(exc)
                return False
            if f"spool-{exc.errno}" not in self._warned:
                self._warned.add(f"spool-{exc.errno}")
                log.warning("pastalog: cannot write the spool file %s (%s); the partial record "
                            "was cut off and unsent points stay in memory", self._spool.path,
                            exc.strerror)
            return False
        return True

    def _spool_pending(self):
        if not self._spool or not self._pending:
            return
        if not self._spool.records:
            self._say("spooling", "%d points wait for %s; spooling them to %s",
                      self._pending_points, self.server, self._spool.path)
        while self._spool and self._pending and self._to_spool(self._pending[0]):
            self._pending_points -= self._pending.popleft()[3]
        try:
            if self._spool:
                self._spool.sync()
        except OSError as exc:
            self._say(f"spool-sync-{exc.errno}", "cannot sync the spool file %s (%s)",
                      self._spool.path, exc.strerror)

    def _send_all(self):
        """Deliver replay files, then the spool, then memory; False on trouble."""
        while self._replay:
            if not self._send_replay(self._replay[0]):
                return False
            os.close(self._replay.popleft()[1])
        if self._spool and self._spool.records:
            path, fd = self._spool.take()
            self._replay.append([path, fd, None, True])
            return self._send_all()
        while self._pending:
            path, body, ctype, n = self._pending[0]
            if not self._send(path, body, ctype):
                return False
            self._pending.popleft()
            self._pending_points -= n
            self._mark_delivered(n)
        return True

    def _send_replay(self, entry):
        path, _, records, own = entry
        if records is None:
            records = entry[2] = deque(_spool.read_records(path))
        while records:
            head, body = records[0]
            count, _, req_path = head.partition(" ")
            ctype = "image/png" if req_path.startswith("/api/v1/images") else CONTENT_TYPE
            if not self._send(req_path, body, ctype):
                return False
            records.popleft()
            if own:
                self._mark_delivered(int(count))
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return True

    def _send(self, path, body, ctype):
        try:
            status, reply = self._transport(path, body, ctype)
        except TimeoutError as exc:
            self._fail("timeout", f"{self.server} timed out: no complete answer within "
                       f"{self.request_timeout:g}s",
                       "%s did not answer within %gs (%s); keeping points and retrying",
                       self.server, self.request_timeout, exc)
            return False
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            self._fail("unreachable", f"cannot reach {self.server}: {reason}",
                       "cannot reach %s (%s); keeping points and retrying", self.server, reason)
            return False
        if status == 200:
            if self._problem is not None:
                log.warning("pastalog: %s takes points again; nothing was lost", self.server)
                self._problem = None
                self._warned.clear()
                self.last_error = None
            return True
        text = reply[:300].decode("utf-8", "replace")
        if status in (400, 413, 422):
            self.dropped += 1
            self.last_error = f"{self.server} refused a batch ({status}: {text[:100]})"
            log.warning("pastalog: %s refused a batch (%d %s); dropped it", self.server,
                        status, text)
            return True
        if status == 401:
            if self._has_token:
                short = f"{self.server} refused the token (401 Unauthorized)"
                hint = "check token= or $PASTALOG_TOKEN"
            else:
                short = f"{self.server} needs a token (401 Unauthorized)"
                hint = "pass token= or set $PASTALOG_TOKEN"
            self._fail("http-401", short, "%s; %s. Keeping points and retrying", short, hint)
            return False
        self._fail(f"http-{status}", f"{self.server} answered {status}: {text[:100]}",
                   "%s answered %d (%s); keeping points and retrying", self.server, status,
                   text)
        return False

    def _unexpected(self, exc):
        self.sender_errors += 1
        name = type(exc).__name__
        self.last_error = f"unexpected {name}: {str(exc)[:200]}"
        self._problem = f"error-{name}"
        if self._problem not in self._warned:
            self._warned.add(self._problem)
            log.warning("pastalog: the sender for %s met an unexpected %s (%s); it keeps the "
                        "points and retries", self.server, name, exc, exc_info=exc)

    def _mark_delivered(self, n):
        with self._done:
            self._delivered += n
            self._done.notify_all()

    def _fail(self, problem, short, message, *args):
        """A delivery failed: remember why, say it once per outage."""
        self.last_error = short
        self._problem = problem
        self._say(problem, message, *args)

    def _say(self, problem, message, *args):
        if problem not in self._warned:
            self._warned.add(problem)
            log.warning("pastalog: " + message, *args)


def _trim(s):
    """Drop a half-appended point (an exception between the appends of one write)."""
    n = min(len(s.steps), len(s.values), len(s.times))
    del s.steps[n:], s.values[n:], s.times[n:]


def _label(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname}_{parts.port or 80}"


@atexit.register
def _close_all():
    for live in list(_LIVE):
        live.close()


_previous_handlers: dict = {}   # signal number -> what was installed before pastalog's handler
_signals_installed = False


def _install_signal_handlers():
    """Once, from the main thread: spool on SIGTERM and SIGINT, then chain."""
    global _signals_installed
    if _signals_installed or threading.current_thread() is not threading.main_thread():
        return
    _signals_installed = True
    for name in ("SIGTERM", "SIGINT"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        previous = signal.getsignal(signum)
        if previous is None or previous == signal.SIG_IGN:
            continue    # installed outside Python (we could not chain it), or ignored
        try:
            signal.signal(signum, _on_signal)
        except (ValueError, OSError):
            continue
        _previous_handlers[signum] = previous


def _on_signal(signum, frame):
    name = signal.Signals(signum).name
    for live in list(_LIVE):
        try:
            live._spool_now(name)
        except Exception:       # never let pastalog stop the signal taking its course
            log.exception("pastalog: %s: spooling for %s failed", name, live.server)
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        return previous(signum, frame)
    # The default action (terminate): restore it and send the signal again, so the
    # process ends by this signal as it would have without pastalog.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
