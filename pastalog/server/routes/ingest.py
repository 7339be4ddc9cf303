"""Writing points: the original ``POST /data`` and the batched ``POST /api/v1/points``."""
import time

import bottle
import numpy as np

from ...errors import BadRequest
from ...names import check_name
from ...wire import CONTENT_TYPE as BATCH_TYPE
from ...wire import decode_batch
from ..http import batch_id, json_body, ok, read_body
from ..hub import point_events
from ..jsonio import check_steps, parse_step, parse_steps, parse_value, parse_values

__all__ = ["register"]


def _piece(model, name, run, now):
    steps = None if run[0][0] is None else np.array([s for s, _ in run], dtype=np.int64)
    values = np.array([v for _, v in run], dtype=np.float64)
    return (model, name, steps, values, np.full(len(run), now))


def parse_original(items):
    """The original pastalog's body (one object or an array) as store series."""
    single = isinstance(items, dict)
    if single:
        items = [items]
    if not isinstance(items, list):
        raise BadRequest("body must be a JSON object or an array of objects")
    groups = {}
    for i, item in enumerate(items):
        where = "" if single else f"item {i}: "
        if not isinstance(item, dict):
            raise BadRequest(f"{where}must be an object, got {type(item).__name__}")
        for key in ("modelName", "pointType", "pointValue"):
            if key not in item:
                raise BadRequest(f"{where}field {key!r} is missing")
        model = check_name(item["modelName"], f"{where}'modelName'")
        name = check_name(item["pointType"], f"{where}'pointType'")
        value = parse_value(item["pointValue"], f"{where}'pointValue'")
        step = item.get("globalStep")
        step = None if step is None else parse_step(step, f"{where}'globalStep'")
        groups.setdefault((model, name), []).append((step, value))
    now = time.time()
    series = []
    for (model, name), points in groups.items():
        # Points without a step continue the series; with mixed input, runs are kept
        # in order as separate pieces so each gets the right steps.
        run = []
        for step, value in points:
            if run and (step is None) != (run[0][0] is None):
                series.append(_piece(model, name, run, now))
                run = []
            run.append((step, value))
        series.append(_piece(model, name, run, now))
    return series


def parse_binary(data):
    """A binary batch body (``pastalog.wire``) as ``(batch id, store series)``."""
    try:
        bid, raw = decode_batch(data)
    except ValueError as exc:
        raise BadRequest(f"bad batch body: {exc}") from None
    series = []
    for i, (model, name, steps, values, times) in enumerate(raw):
        series.append((check_name(model, "model name"), check_name(name),
                       check_steps(np.frombuffer(steps, "<i8"), f"series[{i}].steps"),
                       np.frombuffer(values, "<f8"), np.frombuffer(times, "<f8")))
    return bid, series


def parse_json_batch(doc):
    """A JSON batch body (``{"batch", "series": [...]}``) as ``(batch id, store series)``."""
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
    return doc.get("batch"), series


def register(app, ctx):
    """Add ``POST /data`` and ``POST /api/v1/points``."""

    def stored(bid, series):
        result = ctx.write(ctx.store.write_points, series, batch_id(bid))
        ctx.publish(point_events(result["series"]))
        return ok({"ok": True, "points": result["points"], "duplicate": result["duplicate"]})

    @app.post("/data")
    def post_data():
        return stored(None, parse_original(json_body(ctx.max_body)))

    @app.post("/api/v1/points")
    def post_points():
        ctype = (bottle.request.content_type or "").split(";")[0].strip().lower()
        if ctype == BATCH_TYPE:
            return stored(*parse_binary(read_body(ctx.max_body)))
        return stored(*parse_json_batch(json_body(ctx.max_body)))
