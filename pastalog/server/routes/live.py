"""``GET /ws``: the websocket that streams fresh points and images to the page."""
import bottle

from ..http import fail

__all__ = ["register"]


def register(app, ctx):
    """Add ``GET /ws`` (the guard has checked Host, Origin and token before the upgrade)."""

    @app.get("/ws")
    def websocket():
        ws = bottle.request.environ.get("wsgi.websocket")
        if ws is None:
            fail(400, "GET /ws needs a websocket upgrade")
        if ctx.hub is None:
            fail(503, "this server has no live hub")
        ctx.hub.serve(ws, bottle.request.query.getunicode("model") or None)
        return ""
