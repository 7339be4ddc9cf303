"""The page: ``/`` and its static files, with a strict Content-Security-Policy."""
import os

import bottle

__all__ = ["CSP", "STATIC_DIR", "register"]

STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def _page(path):
    resp = bottle.static_file(path, root=STATIC_DIR)
    resp.set_header("Content-Security-Policy", CSP)
    if path.endswith((".js", ".mjs")):
        resp.set_header("Content-Type", "text/javascript; charset=utf-8")
    resp.set_header("Cache-Control", "no-cache")
    return resp


def register(app, ctx):
    """Add ``/`` and ``/static/<path>``."""
    app.get("/")(lambda: _page("index.html"))
    app.get("/static/<path:path>")(_page)
