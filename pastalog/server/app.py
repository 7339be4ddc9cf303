"""``make_app``: the WSGI app over a ``Store`` and a ``Hub`` (routes in docs/API.md).

Thin on purpose: two plugins (the guard of ``guard.py``, then errors as JSON) and the
route groups of ``routes/``, each registered by its module.
"""
import importlib
import logging
from typing import Any, Callable, Iterable, Optional

import bottle

from ..limits import RUN_STALE_SECONDS
from ..errors import (BadRequest, DiskFull, InvalidName, LimitExceeded, PayloadTooLarge,
                      StorageError)
from .guard import Guard, GuardPlugin
from .http import fail
from .jsonio import dumps
from .routes import GROUPS, Context
from .routes.pages import STATIC_DIR

__all__ = ["STATIC_DIR", "make_app"]

log = logging.getLogger("pastalog.server")

#: Exceptions a route may raise, and the status each becomes. A cap (403) is not the
#: batch's fault: the client keeps its points and retries, as for a 5xx.
STATUS_OF = ((PayloadTooLarge, 413), (BadRequest, 400), (InvalidName, 400),
             (LimitExceeded, 403), (DiskFull, 507), (StorageError, 503))


class ErrorsPlugin:
    """Bottle plugin: pastalog's exceptions become JSON answers with their status."""

    name = "pastalog_errors"
    api = 2

    def apply(self, callback: Callable, route: Any) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return callback(*args, **kwargs)
            except tuple(exc for exc, _ in STATUS_OF) as exc:
                fail(next(status for kind, status in STATUS_OF if isinstance(exc, kind)),
                     str(exc))
        return wrapper


def make_app(store: Any, hub: Any = None, *, max_body: int = 64 * 2**20,
             writer: Optional[Callable] = None, reader: Optional[Callable] = None,
             point_writer: Optional[Callable] = None, token: Optional[str] = None,
             public_read: bool = False, allowed_hosts: Iterable[str] = (),
             run_stale: float = RUN_STALE_SECONDS) -> bottle.Bottle:
    """Build the WSGI app.

    Parameters
    ----------
    store : pastalog.server.store.Store
    hub : pastalog.server.hub.Hub, optional
        Receives an event for every write; without one, ``/ws`` answers 503.
    max_body : int
        Largest request body accepted, in bytes (413 above).
    writer : callable, optional
        ``writer(fn, *args)`` runs a store write; the server passes one that runs it
        on its single writer thread. Default: call directly.
    point_writer : callable, optional
        ``point_writer(series, batch_id, session)`` stores a request's points in place
        of ``writer(store.write_points, ...)``; the SQLite server passes a
        :class:`~.groupwrite.GroupWriter` (group commit).
    reader : callable, optional
        ``reader(fn, *args)`` runs a store read; the server passes one that runs it on
        a small pool of threads, off the event loop. Default: call directly.
    token : str, optional
        When set, every write and delete needs ``Authorization: Bearer <token>`` (or
        the session cookie the page gets from ``POST /api/v1/session``), and so does
        every read unless ``public_read``. The page and ``/healthz`` stay open.
    public_read : bool
        With a token: let anyone read.
    allowed_hosts : iterable of str
        Host names, besides IP literals and ``localhost``, that this server answers
        (``"*"``: any); see ``guard.py``.
    run_stale : float
        Seconds without a heartbeat after which a running run reads as crashed.

    Returns
    -------
    bottle.Bottle
        ``app.config["pastalog.guard"]`` is the :class:`~.guard.Guard`, which the server
        also asks before a websocket upgrade.

    Examples
    --------
    >>> import tempfile
    >>> from pastalog.server.store import Store
    >>> app = make_app(Store(tempfile.mkdtemp()))
    >>> sorted({route.method for route in app.routes})
    ['DELETE', 'GET', 'PATCH', 'POST']
    """
    guard = Guard(token=token, public_read=public_read, allowed_hosts=allowed_hosts)
    ctx = Context(store=store, hub=hub, max_body=max_body, guard=guard, run_stale=run_stale)
    if writer is not None:
        ctx.writer = writer
    if reader is not None:
        ctx.reader = reader
    ctx.point_writer = point_writer
    app = bottle.Bottle()
    app.config["json.enable"] = False
    app.config["pastalog.guard"] = guard
    app.install(ErrorsPlugin())
    app.install(GuardPlugin(guard))   # installed last: innermost, just before the route
    for group in GROUPS:
        importlib.import_module(f"{__package__}.routes.{group}").register(app, ctx)
    _install_error_pages(app)
    return app


def _install_error_pages(app: bottle.Bottle) -> None:
    @app.error(404)
    @app.error(405)
    def _http_error(err):
        bottle.response.content_type = "application/json"
        return dumps({"error": f"{bottle.request.method} {bottle.request.path}: "
                               f"{err.status_line}"})

    @app.error(500)
    def _internal(err):
        log.error("internal error on %s %s: %s", bottle.request.method, bottle.request.path,
                  err.exception, exc_info=err.exception)
        bottle.response.content_type = "application/json"
        return dumps({"error": "internal server error; the server log has the details"})

    @app.hook("after_request")
    def _headers():
        bottle.response.headers["X-Content-Type-Options"] = "nosniff"
        bottle.response.headers["Referrer-Policy"] = "no-referrer"
