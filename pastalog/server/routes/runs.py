"""Runs: ``POST /api/v1/runs`` (run records from clients), ``GET /api/v1/runs``,
``GET`` and ``PATCH /api/v1/runs/<model>`` (docs/API.md, Runs).

Every record that arrives, and every patch, is published to the page as a ``run``
event with the run's fields (not its series).
"""
from ...errors import BadRequest
from ..._config import check_notes, check_tags
from ..http import fail, int_param, json_body, ok, param
from ..store.runs import check_record, run_event
from .read import MODELS_PAGE

__all__ = ["MAX_RUN_RECORDS", "register"]

#: Run records in one ``POST /api/v1/runs`` at most.
MAX_RUN_RECORDS = 10_000


def parse_records(doc):
    """The body of ``POST /api/v1/runs`` as checked records (``BadRequest`` otherwise)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise BadRequest("body must be an object with a 'runs' list")
    if len(doc["runs"]) > MAX_RUN_RECORDS:
        raise BadRequest(f"at most {MAX_RUN_RECORDS:,} run records a request, got "
                         f"{len(doc['runs']):,}")
    return [check_record(record, i) for i, record in enumerate(doc["runs"])]


def parse_patch(doc):
    """The body of ``PATCH /api/v1/runs/<model>`` as ``(tags, notes)``."""
    if not isinstance(doc, dict):
        raise BadRequest("body must be an object with 'tags' and/or 'notes'")
    unknown = set(doc) - {"tags", "notes"}
    if unknown:
        raise BadRequest(f"only 'tags' and 'notes' can be changed, got "
                         f"{', '.join(sorted(map(repr, unknown)))}")
    if doc.get("tags") is None and doc.get("notes") is None:
        raise BadRequest("give 'tags' (a list of strings) and/or 'notes' (a string)")
    tags = None if doc.get("tags") is None else check_tags(doc["tags"], BadRequest)
    notes = None if doc.get("notes") is None else check_notes(doc["notes"], BadRequest)
    return tags, notes


def register(app, ctx):
    """Add the runs routes."""
    store = ctx.store

    @app.post("/api/v1/runs")
    def post_runs():
        records = parse_records(json_body(ctx.max_body))
        changed = ctx.write(store.write_runs, records) if records else []
        latest = {}
        for model, run in changed:
            latest[model] = run
        ctx.publish([run_event(model, run, ctx.run_stale) for model, run in latest.items()])
        return ok({"ok": True, "runs": len(records)})

    @app.get("/api/v1/runs")
    def list_runs():
        limit = int_param("limit", 1, 10 * MODELS_PAGE) or MODELS_PAGE
        after, contains = param("after", False), param("q", False)
        found = ctx.read(lambda: store.runs(limit=limit + 1, after=after, contains=contains,
                                            stale=ctx.run_stale))
        more = len(found) > limit
        found = found[:limit]
        return ok({"runs": found, "next": found[-1]["model"] if more else None})

    @app.get("/api/v1/runs/<model:path>")
    def one_run(model):
        found = ctx.read(lambda: store.run(model, stale=ctx.run_stale))
        if found is None:
            fail(404, f"no model named {model!r}")
        return ok(found)

    @app.route("/api/v1/runs/<model:path>", method="PATCH")
    def patch_run(model):
        tags, notes = parse_patch(json_body(ctx.max_body))
        run = ctx.write(store.patch_run, model, tags, notes)
        if run is None:
            fail(404, f"no model named {model!r}")
        ctx.publish([run_event(model, run, ctx.run_stale)])
        found = ctx.read(lambda: store.run(model, stale=ctx.run_stale))
        if found is None:   # deleted meanwhile
            fail(404, f"no model named {model!r}")
        return ok(found)
