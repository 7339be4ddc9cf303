"""Histograms: ``POST``, ``GET`` and ``DELETE /api/v1/histograms`` (docs/API.md)."""
import bottle

from ...errors import BadRequest
from ...names import check_name
from ...wire import CONTENT_TYPE as BATCH_TYPE
from ...wire import decode_histograms
from ..http import batch_id, fail, int_param, json_body, ok, param, read_body, step_param
from ..store.histograms import DEFAULT_LIMIT, MAX_LIMIT, check_record

__all__ = ["histogram_event", "parse_histograms", "register"]


def parse_histograms(doc):
    """A JSON body ``{"batch", "histograms": [...]}`` as ``(batch id, checked records)``.

    Examples
    --------
    >>> parse_histograms({"histograms": [{"model": "m"}]})
    Traceback (most recent call last):
    ...
    pastalog.errors.InvalidName: histograms[0].name must be a non-empty string, got None
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("histograms"), list):
        raise BadRequest("body must be an object with a 'histograms' list")
    return doc.get("batch"), [check_record(rec, f"histograms[{i}]")
                              for i, rec in enumerate(doc["histograms"])]


def parse_binary(data):
    """A PLB1 histogram body (``pastalog.wire``) as ``(batch id, checked records)``."""
    try:
        bid, raw = decode_histograms(data)
    except ValueError as exc:
        raise BadRequest(f"bad histogram batch body: {exc}") from None
    return bid, [check_record(rec, f"histograms[{i}]") for i, rec in enumerate(raw)]


def histogram_event(model, name, record):
    """The websocket event for one stored record."""
    return {"type": "histogram", "model": model, "name": name,
            **{k: v for k, v in record.items() if k not in ("model", "name", "id")}}


def register(app, ctx):
    """Add ``POST``/``GET``/``DELETE /api/v1/histograms``."""
    store = ctx.store

    @app.post("/api/v1/histograms")
    def post_histograms():
        ctype = (bottle.request.content_type or "").split(";")[0].strip().lower()
        if ctype == BATCH_TYPE:
            bid, records = parse_binary(read_body(ctx.max_body))
        else:
            bid, records = parse_histograms(json_body(ctx.max_body))
        written = ctx.write(store.write_histograms, records, batch_id(bid))
        if written is None:
            return ok({"ok": True, "histograms": 0, "duplicate": True})
        ctx.publish([histogram_event(r["model"], r["name"], r) for r in written])
        return ok({"ok": True, "histograms": len(written), "duplicate": False})

    @app.get("/api/v1/histograms")
    def get_histograms():
        model = check_name(param("model"), "model name")
        name = check_name(param("name"), "histogram name")
        x0, x1 = step_param("x0"), step_param("x1")
        limit = int_param("limit", 2, MAX_LIMIT)
        found = ctx.read(store.read_histograms, model, name, x0, x1,
                         DEFAULT_LIMIT if limit is None else limit)
        if found is None:
            fail(404, f"no histogram {name!r} in model {model!r}")
        return ok({"model": model, "name": name, **found})

    @app.delete("/api/v1/histograms")
    def delete_histograms():
        model = check_name(param("model"), "model name")
        name = check_name(param("name"), "histogram name")
        gone = ctx.write(store.delete_histograms, model, name)
        if not gone:
            fail(404, f"no histogram {name!r} in model {model!r}")
        ctx.publish([{"type": "deleted", "model": model, "histogram": name}])
        return ok({"ok": True, "deleted": gone})
