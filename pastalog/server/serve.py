"""Running the server: gevent's WSGI server with gevent-websocket's handler.

This is the one place that monkey-patches, first thing: bottle keeps the current
request and response in ``threading.local``, which must be per greenlet, or a request
that waits (for its body, or for the writer thread) would answer with another
request's headers. The store's single writer is a real OS thread (gevent's thread
pool), so SQLite's commits never stall the loop that serves reads and websockets; the
point writes that wait for it go in together, one transaction (``groupwrite``).
"""
from gevent import monkey

monkey.patch_all(ssl=False)  # the server speaks plain HTTP; ssl was imported already

import io  # noqa: E402  (after patching, on purpose)
import logging  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402
from gevent.threadpool import ThreadPool  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402

from .app import make_app  # noqa: E402
from .crossfeed import follow  # noqa: E402
from .groupwrite import GroupWriter  # noqa: E402
from .hub import Hub, bound_incoming  # noqa: E402
from .jsonio import dumps  # noqa: E402
from .store import Store  # noqa: E402

__all__ = ["Limits", "serve"]

log = logging.getLogger("pastalog.server")

#: Threads that run store reads (each with its own SQLite connection).
READ_THREADS = 4


@dataclass(frozen=True)
class Limits:
    """What one connection may cost the server in time, memory and descriptors.

    Attributes
    ----------
    max_body : int
        Largest request body, in bytes (413 above, before reading it).
    header_timeout : float
        Seconds for the request line's rest and the headers to arrive.
    body_timeout : float
        Seconds for a whole request body to arrive (408 after).
    idle_timeout : float
        Seconds a connection may wait before its next request (before its first, too).
    max_inflight : int
        Bytes of request bodies held at once, over all connections; a body that does
        not fit waits up to ``budget_wait`` seconds for room, then gets 503.
    budget_wait : float
    max_connections : int
        Open HTTP connections at most; a new one beyond closes the one idle longest
        (0: the descriptor limit less a reserve).
    ws_max_message : int
        Largest message a websocket may send the server, in bytes (1009 above).
    """

    max_body: int = 64 * 2**20
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    idle_timeout: float = 60.0
    max_inflight: int = 128 * 2**20
    budget_wait: float = 10.0
    max_connections: int = 0
    ws_max_message: int = 64 * 1024


#: A request body is read this much at a time.
_PIECE = 256 * 1024
#: Descriptors kept free of HTTP connections: SQLite, images, the listener, logs.
_FD_RESERVE = 64


def _connection_cap(limits):
    if limits.max_connections:
        return limits.max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(soft - _FD_RESERVE, 16)


class _Budget:
    """Bytes of request bodies in memory at once; ``acquire`` waits for room."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.used = 0
        self._freed = gevent.event.Event()

    def acquire(self, size, timeout, cancelled=lambda: False):
        """Reserve ``size`` bytes (alone, a bigger size fits); ``False`` after ``timeout``
        or once ``cancelled()`` is true (checked whenever :meth:`wake` is called)."""
        deadline = gevent.get_hub().loop.now() + timeout
        while self.used and self.used + size > self.capacity:
            left = deadline - gevent.get_hub().loop.now()
            if left <= 0 or cancelled():
                return False
            self._freed.clear()
            self._freed.wait(left)
        if cancelled():
            return False
        self.used += size
        return True

    def release(self, size):
        self.used -= size
        self.wake()

    def wake(self):
        """Let every waiter look again (room was freed, or one was cancelled)."""
        self._freed.set()


class _Connections:
    """Open HTTP connections, and which of them wait for a client (sheddable)."""

    def __init__(self, cap):
        self.cap = cap
        self.open = set()
        self.waiting = {}  # handler -> None, oldest first
        self.shed = 0

    def admit(self, handler):
        """Count ``handler`` in; at the cap, close the connection idle longest."""
        self.open.add(handler)
        if len(self.open) > self.cap:
            victim = next(iter(self.waiting), None)
            if victim is None:
                return False
            self.forget(victim)
            self.shed += 1
            victim.shed()
        return True

    def wait(self, handler):
        self.waiting.pop(handler, None)
        if handler in self.open:
            self.waiting[handler] = None

    def work(self, handler):
        self.waiting.pop(handler, None)

    def forget(self, handler):
        self.open.discard(handler)
        self.waiting.pop(handler, None)


class _Expired(Exception):
    """A read deadline passed (never an ``OSError``: pywsgi swallows those)."""


class _HeaderTimeout(ValueError):
    """The headers did not arrive in time (pywsgi turns ValueError into a 4xx)."""


_REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Payload Too Large",
            503: "Service Unavailable"}


class _Handler(WebSocketHandler):
    """gevent-websocket's handler with deadlines, a body budget and quiet logs.

    - The next request line must come within ``idle_timeout``, the headers within
      ``header_timeout``, a body within ``body_timeout``; past a deadline the connection
      closes (a 408 where one can still be sent).
    - A request body is read here, before the app runs, within the byte budget of
      bodies in flight; the app gets it from memory. An upload cut off mid-body just
      closes: no traceback, no log line.
    - At the connection cap, a new connection closes the one idle longest, so the
      descriptor limit is never reached and ``/healthz`` stays answered.
    - Incoming websocket messages are capped (``hub.bound_incoming``).
    - Logs errors only: one access line per 50 ms batch would drown the console.
    - Sets ``TCP_NODELAY``: pywsgi writes a response's headers and body separately, and
      Nagle's algorithm with the client's delayed ACK would hold every answer ~40 ms.
    """

    _reserved = 0
    _shed = False

    def __init__(self, sock, address, server, *args, **kwargs):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not TCP (a unix socket): nothing to tune
            pass
        super().__init__(sock, address, server, *args, **kwargs)

    # -- connection life -------------------------------------------------------------

    def handle(self):
        conns = self.server.pastalog_connections
        if not conns.admit(self):
            conns.forget(self)
            self._answer(503, "too many connections; retry")
            self.rfile.close()
            self.socket.close()
            return
        try:
            super().handle()
        finally:
            conns.forget(self)

    def shed(self):
        """Close this (idle) connection to make room; its greenlet then ends, even when
        it waits for room in the body budget."""
        self._shed = True
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.server.pastalog_budget.wake()

    def read_requestline(self):
        self.server.pastalog_connections.wait(self)
        try:
            with gevent.Timeout(self.server.pastalog_limits.idle_timeout, _Expired()):
                return super().read_requestline()
        except _Expired:
            return ""  # pywsgi closes the connection

    def read_request(self, raw_requestline):
        try:
            with gevent.Timeout(self.server.pastalog_limits.header_timeout, _Expired()):
                return super().read_request(raw_requestline)
        except _Expired:
            raise _HeaderTimeout("the headers did not arrive in time") from None

    def _handle_client_error(self, ex):
        if isinstance(ex, _HeaderTimeout):
            return "408", self._raw(408, str(ex))
        return super()._handle_client_error(ex)

    # -- bodies ----------------------------------------------------------------------

    def handle_one_response(self):
        chunked = bool(getattr(self.wsgi_input, "chunked_input", False))
        if self.content_length or chunked:
            if not self._read_body(chunked):
                self.close_connection = True
                return
        self.server.pastalog_connections.work(self)
        try:
            return super().handle_one_response()
        finally:
            if self._reserved:
                self.server.pastalog_budget.release(self._reserved)
                self._reserved = 0
                self.environ["wsgi.input"] = io.BytesIO()

    def _read_body(self, chunked):
        """Read the body into memory within the budget; ``False`` when it failed."""
        limits = self.server.pastalog_limits
        size = limits.max_body if chunked else self.content_length
        if size > limits.max_body:
            self._answer(413, f"request body of {size} bytes is over the cap of "
                              f"{limits.max_body} bytes")
            self._linger(limits.max_body, min(5.0, limits.body_timeout))
            return False
        budget = self.server.pastalog_budget
        if not budget.acquire(size, min(limits.budget_wait, limits.body_timeout),
                              lambda: self._shed):
            self._answer(503, "the server is receiving too many request bodies at once; "
                              "retry shortly", retry_after=1)
            return False
        self._reserved = size
        try:
            with gevent.Timeout(limits.body_timeout, _Expired()):
                data = self._read_all(chunked, limits.max_body)
        except _Expired:
            self._answer(408, f"the request body did not arrive within "
                              f"{limits.body_timeout:g} s")
            data = None
        except (OSError, ValueError):  # cut off mid-body, or bad chunking: just close
            data = None
        if data is None or len(data) > limits.max_body:
            if data is not None:
                self._answer(413, f"request body is over the cap of {limits.max_body} bytes")
            budget.release(self._reserved)
            self._reserved = 0
            return False
        self.environ["wsgi.input"] = io.BytesIO(data)
        self.environ["CONTENT_LENGTH"] = str(len(data))
        return True

    def _read_all(self, chunked, cap):
        """The body, read in pieces with a yield between them: data that keeps arriving
        on a fast socket would otherwise hold the event loop until the whole body is in."""
        stream = self.wsgi_input
        want = cap + 1 if chunked else self.content_length
        parts, got = [], 0
        while got < want:
            part = stream.read(min(_PIECE, want - got))
            if not part:
                break
            parts.append(part)
            got += len(part)
            gevent.sleep(0)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    # -- answers outside the app -----------------------------------------------------

    @staticmethod
    def _raw(status, message, retry_after=None):
        body = dumps({"error": message})
        extra = f"Retry-After: {retry_after}\r\n" if retry_after else ""
        return (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
                ).encode("latin-1") + body

    def _answer(self, status, message, retry_after=None):
        """Send a whole error answer and close, whatever state the request is in."""
        self.close_connection = True
        try:
            with gevent.Timeout(2, False):
                self.socket.sendall(self._raw(status, message, retry_after))
        except OSError:
            pass

    def _linger(self, most, seconds):
        """After an early answer, read and drop up to ``most`` bytes for ``seconds``: a
        client that sends its whole body before reading (urllib, most) then sees the
        answer instead of a broken pipe. Holds no memory; the connection stays
        sheddable."""
        try:
            self.socket.shutdown(socket.SHUT_WR)
        except OSError:
            return
        scratch = bytearray(65536)
        with gevent.Timeout(seconds, False):
            try:
                while most > 0:
                    got = self.socket.recv_into(scratch)
                    if not got:
                        break
                    most -= got
            except OSError:
                pass

    # -- websockets and logs ---------------------------------------------------------

    def upgrade_connection(self):
        result = super().upgrade_connection()
        ws = self.environ.get("wsgi.websocket")
        if ws is not None:
            self.websocket = bound_incoming(ws, self.server.pastalog_limits.ws_max_message)
            self.environ["wsgi.websocket"] = self.websocket
        return result

    def log_request(self):
        if self.code is not None and int(str(self.code).split()[0]) >= 500:
            super().log_request()


def _direct(fn, *args):
    return fn(*args)


def serve(*, host, port, data, max_body_mb=64, sync="normal", token=None, public_read=False,
          allowed_hosts=(), max_series=100_000, ws_queue_mb=8, ws_max_message_kb=64, header_timeout=10.0,
          body_timeout=60.0, idle_timeout=60.0, max_inflight_mb=128, max_connections=0,
          run_stale_seconds=60.0, ready=None):
    """Serve until SIGINT/SIGTERM. ``ready(url)`` is called once it listens.

    The limits (``ws_queue_mb`` onwards) bound what one client may cost: see
    :class:`Limits` and :class:`~.hub.Hub`.
    """
    limits = Limits(max_body=max_body_mb * 2**20, header_timeout=header_timeout,
                    body_timeout=body_timeout, idle_timeout=idle_timeout,
                    max_inflight=max(max_inflight_mb, max_body_mb) * 2**20,
                    max_connections=max_connections, ws_max_message=ws_max_message_kb * 1024)
    store = Store(data, synchronous=sync.upper(), max_series=max_series)
    swept = store.gc()  # files of uploads killed mid-write, blobs of interrupted deletes
    if swept["tmp"] or swept["blobs"]:
        log.warning("removed %d unfinished uploads and %d unused images (%d bytes)",
                    swept["tmp"], swept["blobs"], swept["bytes"])
    pool = ThreadPool(1)
    hub = Hub(max_queue_bytes=ws_queue_mb * 2**20)

    readers = ThreadPool(READ_THREADS)  # reads off the event loop: /healthz stays quick

    def writer(fn, *args):
        return pool.apply(fn, args)

    def reader(fn, *args):
        return readers.apply(fn, args)

    # point writes that wait for the busy writer go in together: one transaction
    points = GroupWriter(writer, store.write_points_group)
    if getattr(store, "concurrent", False):
        # a database store waits on its sockets cooperatively: its calls run in the
        # request's greenlet, many at once (the database orders writers per series)
        writer = reader = _direct
        points = None

    allowed_hosts = [*allowed_hosts, host]  # the address it listens on names it too
    app = make_app(store, hub, max_body=max_body_mb * 2**20, writer=writer, reader=reader,
                   point_writer=points, token=token,
                   allowed_hosts=allowed_hosts,
                   public_read=public_read, run_stale=run_stale_seconds)
    server = WSGIServer((host, port), app, handler_class=_Handler, log=None,
                        error_log=logging.getLogger("pastalog.wsgi"))
    server.pastalog_limits = limits
    server.pastalog_budget = _Budget(limits.max_inflight)
    server.pastalog_connections = _Connections(_connection_cap(limits))
    guard = app.config["pastalog.guard"]
    # A websocket upgrade the guard refuses is answered as plain HTTP (its 403 or 401)
    # instead of being upgraded first: gevent-websocket calls this before the handshake.
    server.pre_start_hook = lambda handler: guard.refusal(handler.environ) is not None
    server.init_socket()  # raises OSError (port in use, bad address) before we print
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{server.server_port}"
    stop = gevent.event.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(sig, stop.set)

    def prune():
        while True:
            gevent.sleep(3600)
            writer(store.forget_batches)

    server.start()
    feed = follow(store, hub)   # live events written through other servers
    pruner = gevent.spawn(prune)
    if ready:
        ready(url)
    try:
        stop.wait()
    finally:
        pruner.kill()
        if feed is not None:
            feed.stop()
        hub.close()
        server.stop(timeout=2)
        pool.kill()
        readers.kill()
        store.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: pastalog run")
