"""Health, the page's session, and deletes."""
import hmac

import bottle

from ... import __version__
from ...errors import BadRequest
from ..guard import SESSION_SECONDS
from ..http import fail, json_body, ok, param

__all__ = ["register"]


def register(app, ctx):
    """Add ``/healthz``, ``POST /api/v1/session`` and the ``DELETE`` routes."""

    @app.get("/healthz")
    def healthz():
        return ok({"ok": True, "version": __version__, "points": ctx.store.total_points()})

    @app.post("/api/v1/session")
    def session():
        """The page trades the token for an HttpOnly session cookie (images, /ws)."""
        doc = json_body(ctx.max_body)
        given = doc.get("token") if isinstance(doc, dict) else None
        if not isinstance(given, str):
            raise BadRequest("body must be {\"token\": \"...\"}")
        token = ctx.token
        if token is None:
            return ok({"ok": True, "auth": False})
        if not hmac.compare_digest(given.encode(), token.encode()):
            fail(401, "wrong token")
        env = bottle.request.environ
        bottle.response.set_cookie(ctx.guard.cookie_name(env), ctx.guard.new_session(),
                                   httponly=True, samesite="strict", path="/",
                                   max_age=SESSION_SECONDS)
        return ok({"ok": True, "auth": True})

    def deleted(count, what, event):
        if not count:
            fail(404, f"nothing to delete: {what}")
        ctx.publish([{"type": "deleted", **event}])
        return ok({"ok": True, "deleted": count})

    @app.delete("/api/v1/series")
    def delete_series():
        model, name = param("model"), param("series")
        return deleted(ctx.write(ctx.store.delete_series, model, name),
                       f"model {model!r} has no series {name!r}",
                       {"model": model, "series": name})

    @app.delete("/api/v1/images")
    def delete_images():
        model, name = param("model"), param("name")
        return deleted(ctx.write(ctx.store.delete_images, model, name),
                       f"model {model!r} has no images named {name!r}",
                       {"model": model, "image": name})

    @app.delete("/api/v1/models/<model:path>")
    def delete_model(model):
        return deleted(ctx.write(ctx.store.delete_model, model), f"no model named {model!r}",
                       {"model": model})
