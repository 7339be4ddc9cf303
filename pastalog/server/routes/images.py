"""Images: upload a PNG, list an image name's steps, serve blobs by content hash."""
import math
import re

import bottle

from ...names import check_name
from ..http import batch_id, fail, ok, param, read_body, step_param

__all__ = ["blob_url", "register"]

_SHA = re.compile(r"^[0-9a-f]{64}$")


def blob_url(sha):
    """Where the page fetches the PNG with this content hash."""
    return f"/api/v1/blobs/{sha}.png"


def register(app, ctx):
    """Add ``POST``/``GET /api/v1/images`` and ``GET /api/v1/blobs/<sha>.png``."""
    store = ctx.store

    @app.post("/api/v1/images")
    def post_image():
        model = check_name(param("model"), "model name")
        name = check_name(param("name"), "image name")
        step = step_param("step")
        when = bottle.request.query.get("time")
        try:
            when = None if when in (None, "") else float(when)
        except ValueError:
            fail(400, f"query parameter 'time' must be a number, got {when[:40]!r}")
        if when is not None and not math.isfinite(when):
            fail(400, f"query parameter 'time' must be a finite unix time, got {when}")
        record = ctx.write(store.write_image, model, name, read_body(ctx.max_body), step, when,
                           batch_id(bottle.request.query.getunicode("batch")))
        if record is None:
            return ok({"ok": True, "duplicate": True})
        record["url"] = blob_url(record["sha"])
        ctx.publish([{"type": "image", **record}])
        return ok({"ok": True, "duplicate": False, **record})

    @app.get("/api/v1/images")
    def images():
        model, name = param("model"), param("name")
        found = ctx.read(store.images, model, name)
        for image in found:
            image["url"] = blob_url(image["sha"])
        return ok({"model": model, "name": name, "images": found})

    @app.get("/api/v1/blobs/<filename>")
    def blob(filename):
        sha, _, ext = filename.partition(".")
        if ext != "png" or not _SHA.match(sha):
            fail(404, "no such image")
        if bottle.request.get_header("If-None-Match") == f'"{sha}"':
            return bottle.HTTPResponse(status=304)
        data = ctx.read(store.read_blob, sha)
        if data is None:
            fail(404, "no such image")
        return bottle.HTTPResponse(data, 200, {
            "Content-Type": "image/png", "ETag": f'"{sha}"',
            "Cache-Control": "public, max-age=31536000, immutable"})
