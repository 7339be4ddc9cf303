"""Writing points: the original ``POST /data`` and the batched ``POST /api/v1/points``.

A batch may name the client ``session`` it comes from and mark series whose steps are
that session's implicit counters (binary: a 4th header element 1; JSON:
``"relative": true``); the store then continues them after the stored last step.
"""
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
    """A binary batch body (``pastalog.wire``) as ``(batch id, store series, session)``."""
    try:
        bid, session, raw = decode_batch(data, with_session=True)
    except ValueError as exc:
        raise BadRequest(f"bad batch body: {exc}") from None
    series = []
    for i, (model, name, steps, values, times, relative) in enumerate(raw):
        series.append((check_name(model, "model name"), check_name(name),
                       check_steps(np.frombuffer(steps, "<i8"), f"series[{i}].steps"),
                       np.frombuffer(values, "<f8"), np.frombuffer(times, "<f8"), relative))
    return bid, series, session


def _session(value):
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 64 or not value.isprintable():
        raise BadRequest("'session' must be a string of 1 to 64 printable characters")
    return value


def parse_json_batch(doc):
    """A JSON batch body (``{"batch", "session"?, "series": [...]}``) as
    ``(batch id, store series, session)``."""
    if not isinstance(doc, dict) or not isinstance(doc.get("series"), list):
        raise BadRequest("body must be an object with a 'series' list")
    session = _session(doc.get("session"))
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
        relative = entry.get("relative", False)
        if not isinstance(relative, bool):
            raise BadRequest(f"{where}.relative must be true or false")
        if relative and (steps is None or session is None):
            raise BadRequest(f"{where}.relative needs 'steps' and the batch's 'session'")
        series.append((model, name, steps, values, times, relative))
    return doc.get("batch"), series, session


def register(app, ctx):
    """Add ``POST /data`` and ``POST /api/v1/points``."""

    def stored(bid, series, session=None):
        result = ctx.write_points(series, batch_id(bid), session)
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
