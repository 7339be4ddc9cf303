"""Running the server: gevent's WSGI server with gevent-websocket's handler.

This is the one place that monkey-patches, first thing: bottle keeps the current
request and response in ``threading.local``, which must be per greenlet, or a request
that waits (for its body, or for the writer thread) would answer with another
request's headers. The store's single writer is a real OS thread (gevent's thread
pool), so SQLite's commits never stall the loop that serves reads and websockets.
"""
from gevent import monkey

monkey.patch_all(ssl=False)  # the server speaks plain HTTP; ssl was imported already

import logging  # noqa: E402  (after patching, on purpose)
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402
from gevent.threadpool import ThreadPool  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402

from .app import make_app  # noqa: E402
from .hub import Hub  # noqa: E402
from .store import Store  # noqa: E402

__all__ = ["serve"]

log = logging.getLogger("pastalog.server")


class _QuietHandler(WebSocketHandler):
    """Logs errors only: one access line per 50 ms batch would drown the console.

    Sets ``TCP_NODELAY``: pywsgi writes a response's headers and body separately, and
    Nagle's algorithm with the client's delayed ACK would hold every answer ~40 ms.
    """

    def __init__(self, sock, address, server, *args, **kwargs):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not TCP (a unix socket): nothing to tune
            pass
        super().__init__(sock, address, server, *args, **kwargs)

    def log_request(self):
        if self.code is not None and int(str(self.code).split()[0]) >= 500:
            super().log_request()


def serve(*, host, port, data, max_body_mb=64, sync="normal", token=None, public_read=False,
          allowed_hosts=(), ready=None):
    """Serve until SIGINT/SIGTERM. ``ready(url)`` is called once it listens."""
    store = Store(data, synchronous=sync.upper())
    swept = store.gc()  # files of uploads killed mid-write, blobs of interrupted deletes
    if swept["tmp"] or swept["blobs"]:
        log.warning("removed %d unfinished uploads and %d unused images (%d bytes)",
                    swept["tmp"], swept["blobs"], swept["bytes"])
    pool = ThreadPool(1)
    hub = Hub()

    def writer(fn, *args):
        return pool.apply(fn, args)

    allowed_hosts = [*allowed_hosts, host]  # the address it listens on names it too
    app = make_app(store, hub, max_body=max_body_mb * 2**20, writer=writer, token=token,
                   allowed_hosts=allowed_hosts,
                   public_read=public_read)
    server = WSGIServer((host, port), app, handler_class=_QuietHandler, log=None,
                        error_log=logging.getLogger("pastalog.wsgi"))
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
    pruner = gevent.spawn(prune)
    if ready:
        ready(url)
    try:
        stop.wait()
    finally:
        pruner.kill()
        hub.close()
        server.stop(timeout=2)
        pool.kill()
        store.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: pastalog run")
