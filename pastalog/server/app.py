"""The HTTP routes: thin, over a ``Store`` and a ``Hub`` (see docs/API.md)."""
import hmac
import json
import logging
import math
import os
import re
import time

import bottle
import numpy as np

from .. import __version__
from ..errors import BadRequest, DiskFull, InvalidName, PayloadTooLarge, StorageError
from ..names import check_name
from ..wire import CONTENT_TYPE as BATCH_TYPE
from ..wire import decode_batch
from .hub import point_events
from .jsonio import dumps, finite_or_text, parse_step, parse_steps, parse_value, parse_values

__all__ = ["STATIC_DIR", "make_app"]

log = logging.getLogger("pastalog.server")

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
COOKIE = "pastalog_token"
_SHA = re.compile(r"^[0-9a-f]{64}$")
MAX_BUCKETS = 100_000
MAX_MODELS_PER_QUERY = 200


def _direct(fn, *args):
    return fn(*args)


def make_app(store, hub=None, *, max_body=64 * 2**20, writer=None, token=None,
             public_read=False):
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
    token : str, optional
        When set, every write and delete needs ``Authorization: Bearer <token>`` (or
        the session cookie the page gets from ``POST /api/v1/session``), and so does
        every read unless ``public_read``. The page and ``/healthz`` stay open.
    public_read : bool
        With a token: let anyone read.

    Returns
    -------
    bottle.Bottle
    """
    app = bottle.Bottle(autojson=False)
    write = writer or _direct
    publish = hub.publish if hub is not None else (lambda events: None)

    def fail(status, message):
        raise bottle.HTTPResponse(dumps({"error": message}), status,
                                  {"Content-Type": "application/json"})

    def ok(obj, status=200):
        bottle.response.content_type = "application/json"
        bottle.response.status = status
        return dumps(obj)

    def body():
        env = bottle.request.environ
        length = env.get("CONTENT_LENGTH") or ""
        stream = env["wsgi.input"]
        if length:
            try:
                length = int(length)
            except ValueError:
                fail(400, f"Content-Length is not a number: {length[:20]!r}")
            if length > max_body:
                raise PayloadTooLarge(
                    f"request body of {length} bytes is over the cap of {max_body} bytes")
            data = stream.read(length)
        else:
            data = stream.read(max_body + 1)
            if len(data) > max_body:
                raise PayloadTooLarge(f"request body is over the cap of {max_body} bytes")
        return data

    def json_body():
        data = body()
        try:
            return json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(f"body is not valid JSON: {exc}") from None
        except RecursionError:
            raise BadRequest("body is nested too deeply") from None

    def param(name, required=True):
        value = bottle.request.query.getunicode(name)
        if value is None and required:
            fail(400, f"query parameter {name!r} is required")
        return value

    def int_param(name, lo=None, hi=None):
        raw = bottle.request.query.get(name)
        if raw is None or raw == "":
            return None
        try:
            value = int(raw)
        except ValueError:
            fail(400, f"query parameter {name!r} must be an integer, got {raw[:40]!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            fail(400, f"query parameter {name!r} must be within [{lo}, {hi}], got {value}")
        return value

    def stored(series, batch_id):
        result = write(store.write_points, series, batch_id)
        publish(point_events(result["series"]))
        return {"ok": True, "points": result["points"], "duplicate": result["duplicate"]}

    @app.error(404)
    @app.error(405)
    def _http_error(err):
        bottle.response.content_type = "application/json"
        return dumps({"error": f"{bottle.request.method} {bottle.request.path}: {err.status_line}"})

    @app.error(500)
    def _internal(err):
        log.error("internal error on %s %s: %s", bottle.request.method, bottle.request.path,
                  err.exception, exc_info=err.exception)
        bottle.response.content_type = "application/json"
        return dumps({"error": "internal server error; the server log has the details"})

    open_paths = ("/", "/healthz", "/api/v1/session")

    def authorized():
        if token is None:
            return True
        given = bottle.request.get_header("Authorization", "")
        if given.startswith("Bearer "):
            given = given[len("Bearer "):]
        else:
            given = bottle.request.get_cookie(COOKIE) or ""
        return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode())

    def guard():
        method, path = bottle.request.method, bottle.request.path
        if method not in ("GET", "HEAD"):
            origin = bottle.request.get_header("Origin")
            host = bottle.request.get_header("Host", "")
            if origin is not None and origin.split("://", 1)[-1] != host:
                fail(403, f"cross-origin {method} refused (Origin {origin[:80]!r} is not "
                          "this server)")
        if path in open_paths or path.startswith("/static/"):
            return
        if method in ("GET", "HEAD") and public_read:
            return
        if not authorized():
            fail(401, "this server needs a token: send 'Authorization: Bearer <token>'")

    def errors_as_json(callback):
        def wrapper(*args, **kwargs):
            try:
                guard()
                return callback(*args, **kwargs)
            except PayloadTooLarge as exc:
                fail(413, str(exc))
            except (BadRequest, InvalidName) as exc:
                fail(400, str(exc))
            except DiskFull as exc:
                fail(507, str(exc))
            except StorageError as exc:
                fail(503, str(exc))
        return wrapper

    app.install(errors_as_json)

    @app.hook("after_request")
    def _headers():
        bottle.response.headers["X-Content-Type-Options"] = "nosniff"
        bottle.response.headers["Referrer-Policy"] = "no-referrer"

    # -- pages -----------------------------------------------------------------------

    def page(path, **headers):
        resp = bottle.static_file(path, root=STATIC_DIR)
        resp.set_header("Content-Security-Policy", CSP)
        if path.endswith((".js", ".mjs")):
            resp.set_header("Content-Type", "text/javascript; charset=utf-8")
        for key, value in headers.items():
            resp.set_header(key.replace("_", "-"), value)
        return resp

    @app.get("/")
    def index():
        return page("index.html", Cache_Control="no-cache")

    @app.get("/static/<path:path>")
    def static(path):
        return page(path, Cache_Control="no-cache")

    @app.post("/api/v1/session")
    def session():
        """The page trades the token for an HttpOnly cookie (images and /ws need it)."""
        doc = json_body()
        given = doc.get("token") if isinstance(doc, dict) else None
        if not isinstance(given, str):
            raise BadRequest("body must be {\"token\": \"...\"}")
        if token is not None and not hmac.compare_digest(given.encode(), token.encode()):
            fail(401, "wrong token")
        bottle.response.set_cookie(COOKIE, given, httponly=True, samesite="strict", path="/",
                                   max_age=30 * 24 * 3600)
        return ok({"ok": True, "auth": token is not None})

    @app.get("/healthz")
    def healthz():
        return ok({"ok": True, "version": __version__, "points": store.total_points()})

    # -- writing ---------------------------------------------------------------------

    @app.post("/data")
    def post_data():
        items = json_body()
        single = isinstance(items, dict)
        if single:
            items = [items]
        if not isinstance(items, list):
            raise BadRequest("body must be a JSON object or an array of objects")
        groups = {}
        now = time.time()
        for i, item in enumerate(items):
            where = "" if single else f"item {i}: "
            if not isinstance(item, dict):
                raise BadRequest(f"{where}must be an object, got {type(item).__name__}")
            for field in ("modelName", "pointType", "pointValue"):
                if field not in item:
                    raise BadRequest(f"{where}field {field!r} is missing")
            model = check_name(item["modelName"], f"{where}'modelName'")
            name = check_name(item["pointType"], f"{where}'pointType'")
            value = parse_value(item["pointValue"], f"{where}'pointValue'")
            step = item.get("globalStep")
            step = None if step is None else parse_step(step, f"{where}'globalStep'")
            groups.setdefault((model, name), []).append((step, value))
        series = []
        for (model, name), points in groups.items():
            # Points without a step continue the series; with mixed input, runs are
            # kept in order as separate pieces so each gets the right steps.
            run = []
            for step, value in points:
                if run and (step is None) != (run[0][0] is None):
                    series.append(_piece(model, name, run, now))
                    run = []
                run.append((step, value))
            series.append(_piece(model, name, run, now))
        return ok(stored(series, None))

    @app.post("/api/v1/points")
    def post_points():
        ctype = (bottle.request.content_type or "").split(";")[0].strip().lower()
        if ctype == BATCH_TYPE:
            data = body()
            try:
                batch_id, raw = decode_batch(data)
            except ValueError as exc:
                raise BadRequest(f"bad batch body: {exc}") from None
            series = []
            for model, name, steps, values, times in raw:
                series.append((check_name(model, "model name"), check_name(name),
                               np.frombuffer(steps, "<i8"), np.frombuffer(values, "<f8"),
                               np.frombuffer(times, "<f8")))
            return ok(stored(series, _batch_id(batch_id)))
        doc = json_body()
        if not isinstance(doc, dict) or not isinstance(doc.get("series"), list):
            raise BadRequest("body must be an object with a 'series' list")
        series = []
        for i, entry in enumerate(doc["series"]):
            where = f"series[{i}]"
            if not isinstance(entry, dict):
                raise BadRequest(f"{where} must be an object")
            model = check_name(entry.get("model"), f"{where}.model")
            name = check_name(entry.get("name"), f"{where}.name")
            values = parse_values(entry.get("values"), f"{where}.values")
            steps = entry.get("steps")
            steps = None if steps is None else parse_steps(steps, f"{where}.steps")
            times = entry.get("times")
            times = None if times is None else parse_values(times, f"{where}.times")
            for label, arr in (("steps", steps), ("times", times)):
                if arr is not None and len(arr) != len(values):
                    raise BadRequest(f"{where}.{label} has {len(arr)} entries but values has "
                                     f"{len(values)}")
            series.append((model, name, steps, values, times))
        return ok(stored(series, _batch_id(doc.get("batch"))))

    @app.post("/api/v1/images")
    def post_image():
        model = check_name(param("model"), "model name")
        name = check_name(param("name"), "image name")
        step = int_param("step", -2**62, 2**62)
        when = bottle.request.query.get("time")
        try:
            when = None if when in (None, "") else float(when)
        except ValueError:
            fail(400, f"query parameter 'time' must be a number, got {when[:40]!r}")
        if when is not None and not math.isfinite(when):
            fail(400, f"query parameter 'time' must be a finite unix time, got {when}")
        record = write(store.write_image, model, name, body(), step, when,
                       _batch_id(bottle.request.query.getunicode("batch")))
        if record is None:
            return ok({"ok": True, "duplicate": True})
        record["url"] = f"/api/v1/blobs/{record['sha']}.png"
        publish([{"type": "image", **record}])
        return ok({"ok": True, "duplicate": False, **record})

    # -- reading ---------------------------------------------------------------------

    @app.get("/api/v1/models")
    def models():
        return ok({"models": store.models()})

    @app.get("/api/v1/models/<model:path>")
    def one_model(model):
        found = store.model(model)
        if found is None:
            fail(404, f"no model named {model!r}")
        return ok(found)

    def bucket_answer(model, name, buckets, x0, x1):
        result = store.read_buckets(model, name, buckets, x0, x1)
        if result is None:
            return None
        return {"model": model, "series": name, "level": result["level"],
                "width": 2 ** result["level"], "count_total": result["count_total"],
                "seq": result["seq"],
                "buckets": _bucket_columns(result["agg"], result["level"])}

    def range_params():
        return int_param("x0", -2**62, 2**62), int_param("x1", -2**62, 2**62)

    @app.get("/api/v1/series")
    def series():
        model, name = param("model"), param("series")
        x0, x1 = range_params()
        buckets = int_param("buckets", 1, MAX_BUCKETS)
        found = (store.read_series(model, name, x0, x1) if buckets is None
                 else bucket_answer(model, name, buckets, x0, x1))
        if found is None:
            fail(404, f"model {model!r} has no series {name!r}")
        if buckets is None:
            found = {"model": model, "series": name, **found}
        return ok(found)

    @app.get("/api/v1/buckets")
    def many_buckets():
        """One series of many models at once: what the overview draws on load."""
        name = param("series")
        models = bottle.request.query.getall("model")
        if len(models) > MAX_MODELS_PER_QUERY:
            fail(400, f"at most {MAX_MODELS_PER_QUERY} 'model' parameters, got {len(models)}")
        x0, x1 = range_params()
        buckets = int_param("buckets", 1, MAX_BUCKETS) or 1000
        results = []
        for raw in models:
            model = raw.encode("latin-1").decode("utf-8", "replace")  # bottle's WSGI decoding
            found = bucket_answer(model, name, buckets, x0, x1)
            results.append(found or {"model": model, "series": name,
                                     "error": f"model {model!r} has no series {name!r}"})
        return ok({"series": name, "results": results})

    @app.get("/api/v1/images")
    def images():
        model, name = param("model"), param("name")
        found = store.images(model, name)
        for image in found:
            image["url"] = f"/api/v1/blobs/{image['sha']}.png"
        return ok({"model": model, "name": name, "images": found})

    @app.get("/api/v1/blobs/<filename>")
    def blob(filename):
        sha, _, ext = filename.partition(".")
        if ext != "png" or not _SHA.match(sha):
            fail(404, "no such image")
        path = store.blob_path(sha)
        resp = bottle.static_file(os.path.relpath(path, store.image_dir), root=store.image_dir,
                                  mimetype="image/png")
        if resp.status_code == 200:
            resp.set_header("Cache-Control", "public, max-age=31536000, immutable")
        return resp

    # -- deleting --------------------------------------------------------------------

    def deleted(count, what, event):
        if not count:
            fail(404, f"nothing to delete: {what}")
        publish([{"type": "deleted", **event}])
        return ok({"ok": True, "deleted": count})

    @app.delete("/api/v1/series")
    def delete_series():
        model, name = param("model"), param("series")
        return deleted(write(store.delete_series, model, name),
                       f"model {model!r} has no series {name!r}", {"model": model, "series": name})

    @app.delete("/api/v1/images")
    def delete_images():
        model, name = param("model"), param("name")
        return deleted(write(store.delete_images, model, name),
                       f"model {model!r} has no images named {name!r}",
                       {"model": model, "image": name})

    @app.delete("/api/v1/models/<model:path>")
    def delete_model(model):
        return deleted(write(store.delete_model, model), f"no model named {model!r}",
                       {"model": model})

    # -- live ------------------------------------------------------------------------

    @app.get("/ws")
    def websocket():
        ws = bottle.request.environ.get("wsgi.websocket")
        if ws is None:
            fail(400, "GET /ws needs a websocket upgrade")
        if hub is None:
            fail(503, "this server has no live hub")
        model = bottle.request.query.getunicode("model") or None
        hub.serve(ws, model)
        return ""

    return app


def _batch_id(value):
    if value is None:
        return None
    if (not isinstance(value, str) or not 0 < len(value) <= 128
            or not value.isprintable() or not value.isascii()):
        raise BadRequest("'batch' must be a string of 1 to 128 printable ASCII characters")
    return value


def _piece(model, name, run, now):
    steps = None if run[0][0] is None else np.array([s for s, _ in run], dtype=np.int64)
    values = np.array([v for _, v in run], dtype=np.float64)
    return (model, name, steps, values, np.full(len(run), now))


def _bucket_columns(agg, level):
    cells = agg["cell"].astype(np.int64)
    count = agg["count"].astype(np.int64)
    nans = agg["nans"].astype(np.int64)
    real = count - nans
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(real > 0, agg["vsum"] / np.maximum(real, 1), np.nan)
    vmin, vmax = agg["vmin"], agg["vmax"]
    if level > 60:  # the top levels' bounds overflow int64 arithmetic: use Python ints
        starts = [c << level for c in cells.tolist()]
        ends = [((c + 1) << level) - 1 for c in cells.tolist()]
    else:
        starts, ends = cells << level, ((cells + 1) << level) - 1
    return {
        "x0": starts,
        "x1": ends,
        "s0": agg["fstep"].astype(np.int64),
        "s1": agg["lstep"].astype(np.int64),
        "count": count,
        "nans": nans,
        "min": _null_for_nan(vmin),
        "max": _null_for_nan(vmax),
        "first": agg["first"],
        "last": agg["last"],
        "mean": mean,
        "t0": agg["t0"],
        "t1": agg["t1"],
    }


def _null_for_nan(arr):
    """Floats with NaN (no non-NaN value in the bucket) as null; as is when all finite."""
    if np.isfinite(arr).all():
        return arr  # the common case: orjson writes the array itself
    return [None if x != x else finite_or_text(x) for x in arr.tolist()]
