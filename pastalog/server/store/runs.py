"""Runs: what a model carries besides its points, written once for every SQL backend.

A run ("model" in the API) has one row in ``runs`` (its status, config, tags, notes,
provenance and times), made by the first run record that arrives for it; a model
written only through ``POST /data`` or by an old client has none and reads as status
``None`` with an empty config. ``run_offsets`` maps the implicit steps of one client
session (``Log``) onto a series: the first relative batch of ``(series, session)``
fixes the shift, durably, so retries, spool replays and other servers map the same
points to the same steps. A session whose shift is above 0 is a restart of the run.

Every function takes a DB-API connection (``sqlite3`` or ``psycopg``) and ``mark``, the
dialect's placeholder (``?`` or ``%s``); the backends call them inside their own
transactions. Config, tags, error and provenance are stored as JSON text.

Listing a page of runs costs four queries (runs, the page's series, their counts, the
restarts),
whatever the number of runs: a series row keeps its own min and max (``vmin``,
``vmax``, NaN ignored), updated on write.
"""
import json
import math
import time

import numpy as np

from ...errors import BadRequest
from ...limits import MAX_CONFIG_KEYS, MAX_STEP, RUN_STALE_SECONDS
from .rows import SERIES_PAGE, models_sql

__all__ = ["RUN_COLUMNS", "STATUSES", "apply_offset", "apply_record", "backfill_minmax",
           "check_error", "check_provenance", "check_record", "describe_runs",
           "merge_minmax", "patch_run", "run_event", "run_fields", "schema_sql"]

#: What a run record's ``status`` may be.
STATUSES = ("running", "finished", "crashed")
#: The columns of ``runs`` read for an answer, in this order.
RUN_COLUMNS = ("session", "status", "error", "config", "tags", "notes", "provenance",
               "start", "finish", "heartbeat", "seen")


def schema_sql(dialect):
    """The statements that add runs to a store of schema version 2 (SQLite) / 1 (PG).

    Examples
    --------
    >>> len(schema_sql("sqlite")), len(schema_sql("postgresql"))
    (4, 4)
    """
    big, real = ("INTEGER", "REAL") if dialect == "sqlite" else ("BIGINT", "DOUBLE PRECISION")
    return [
        f"ALTER TABLE series ADD COLUMN vmin {real}",
        f"ALTER TABLE series ADD COLUMN vmax {real}",
        f"""CREATE TABLE IF NOT EXISTS runs(
            model_id {big} PRIMARY KEY, session TEXT, status TEXT, error TEXT,
            config TEXT NOT NULL DEFAULT '{{}}', tags TEXT NOT NULL DEFAULT '[]',
            notes TEXT NOT NULL DEFAULT '', provenance TEXT, start {real}, finish {real},
            heartbeat {real}, seen {real})""",
        f"""CREATE TABLE IF NOT EXISTS run_offsets(
            series_id {big} NOT NULL, session TEXT NOT NULL, shift {big} NOT NULL,
            time {real} NOT NULL, first_step {big} NOT NULL,
            PRIMARY KEY(series_id, session))""",
    ]


def merge_minmax(vmin, vmax, values):
    """The series' ``(vmin, vmax)`` after ``values`` (NaN ignored; ``None``: none yet).

    Examples
    --------
    >>> merge_minmax(None, None, np.array([2.0, float("nan"), -1.0]))
    (-1.0, 2.0)
    >>> merge_minmax(0.5, 0.7, np.array([float("nan")]))
    (0.5, 0.7)
    """
    real = values[values == values]
    if not len(real):
        return vmin, vmax
    lo, hi = float(real.min()), float(real.max())
    return (lo if vmin is None else min(vmin, lo)), (hi if vmax is None else max(vmax, hi))


def backfill_minmax(conn, mark, decode_rows):
    """Set ``vmin``/``vmax`` of every series from its points (the upgrade to runs)."""
    ids = [r[0] for r in conn.execute("SELECT id FROM series").fetchall()]
    for sid in ids:
        steps, values, _ = decode_rows(conn.execute(
            f"SELECT steps, vals, times FROM chunks WHERE series_id={mark}",
            (sid,)).fetchall())
        vmin, vmax = merge_minmax(None, None, values)
        conn.execute(f"UPDATE series SET vmin={mark}, vmax={mark} WHERE id={mark}",
                     (vmin, vmax, sid))


def apply_offset(conn, mark, sid, stats, session, steps, now):
    """Map a session's implicit ``steps`` of series ``sid`` onto stored steps.

    ``stats`` is the series' row (``count``, ``max_step``) before this write, locked by
    the caller. The first call for ``(sid, session)`` fixes the shift: past the series'
    last step when the session's first step would land on or before it, else 0.
    """
    row = conn.execute(f"SELECT shift FROM run_offsets WHERE series_id={mark} AND "
                       f"session={mark}", (sid, session)).fetchone()
    if row is None:
        first = int(steps[0])
        last = stats["max_step"]
        shift = last + 1 - first if stats["count"] and last is not None and first <= last \
            else 0
        conn.execute(f"INSERT INTO run_offsets(series_id, session, shift, time, first_step) "
                     f"VALUES({mark}, {mark}, {mark}, {mark}, {mark}) ON CONFLICT DO NOTHING",
                     (sid, session, shift, now, first + shift))
    else:
        shift = row[0]
    if shift:
        if int(steps.max()) + shift > MAX_STEP:
            raise BadRequest(f"steps continued after the stored ones would pass 2**53-1 "
                             f"(shift {shift})")
        steps = steps + shift
    return steps


def _loads(text, default):
    return default if text is None else json.loads(text)


def _dumps(obj):
    return None if obj is None else json.dumps(obj, ensure_ascii=False, allow_nan=False)


def _number(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) \
        else None


def apply_record(conn, mark, model_id, record, now, *, lock=""):
    """Merge one run record (checked by the route) into the model's row.

    Config merges key by key; tags and notes are replaced when present; a ``running``
    record of the session that already finished is late and changes no status.
    Returns the run's fields after the merge (``run_fields``).
    """
    cols = ", ".join(RUN_COLUMNS)
    row = conn.execute(f"SELECT {cols} FROM runs WHERE model_id={mark}{lock}",
                       (model_id,)).fetchone()
    if row is None:
        conn.execute(f"INSERT INTO runs(model_id) VALUES({mark}) ON CONFLICT DO NOTHING",
                     (model_id,))
        row = conn.execute(f"SELECT {cols} FROM runs WHERE model_id={mark}{lock}",
                           (model_id,)).fetchone()
    run = dict(zip(RUN_COLUMNS, row))
    when = record["time"]
    if "config" in record:
        config = _loads(run["config"], {})
        config.update(record["config"])
        if len(config) > MAX_CONFIG_KEYS:
            raise BadRequest(f"the run's config would hold {len(config):,} keys, over the "
                             f"limit of {MAX_CONFIG_KEYS:,}")
        run["config"] = _dumps(config)
    if "tags" in record:
        run["tags"] = _dumps(record["tags"])
    if "notes" in record:
        run["notes"] = record["notes"]
    if record.get("provenance") is not None:
        run["provenance"] = _dumps(record["provenance"])
    if run["start"] is None and record["session"] is not None:   # not by a patch
        run["start"] = when
    status = record.get("status")
    same = run["session"] == record["session"]
    if status == "running":
        done = same and run["status"] in ("finished", "crashed")
        stale_other = not same and when < (run["heartbeat"] or run["finish"] or -math.inf)
        if not done and not stale_other:
            if not same:
                run["finish"] = run["error"] = None
            run.update(session=record["session"], status="running",
                       heartbeat=max(when, run["heartbeat"] or when) if same else when,
                       seen=now)
    elif status in ("finished", "crashed"):
        run.update(session=record["session"], status=status, finish=when, seen=now,
                   heartbeat=max(when, run["heartbeat"] or when) if same else when,
                   error=_dumps(record.get("error")) if status == "crashed" else None)
    sets = ", ".join(f"{c}={mark}" for c in RUN_COLUMNS)
    conn.execute(f"UPDATE runs SET {sets} WHERE model_id={mark}",
                 [run[c] for c in RUN_COLUMNS] + [model_id])
    return run


def patch_run(conn, mark, model_id, tags, notes, now, *, lock=""):
    """Replace a run's tags and/or notes (a row is made for a model without one)."""
    record = {"session": None, "time": now}
    if tags is not None:
        record["tags"] = tags
    if notes is not None:
        record["notes"] = notes
    return apply_record(conn, mark, model_id, record, now, lock=lock)


def run_fields(run, restarts=(), stale=RUN_STALE_SECONDS, now=None):
    """A ``runs`` row (a dict by ``RUN_COLUMNS``, or None) as the RUN fields of docs/API.md.

    A running run not heard from for ``stale`` seconds is reported crashed.

    Examples
    --------
    >>> run_fields(None)["status"] is None
    True
    >>> row = dict.fromkeys(RUN_COLUMNS); row.update(status="running", heartbeat=5.0, seen=5.0)
    >>> run_fields(row, now=100.0)["status"], run_fields(row, now=6.0)["status"]
    ('crashed', 'running')
    """
    if run is None:
        run = dict.fromkeys(RUN_COLUMNS)
    now = time.time() if now is None else now
    status, error = run["status"], _loads(run["error"], None)
    end = run["finish"]
    if status == "running":
        end = run["heartbeat"]
        if run["seen"] is not None and now - run["seen"] > stale:
            status = "crashed"
            error = {"type": "Lost",
                     "message": f"no heartbeat for over {stale:g} s (the process died?)"}
    return {"status": status, "error": error, "config": _loads(run["config"], {}),
            "tags": _loads(run["tags"], []), "notes": run["notes"] or "",
            "provenance": _loads(run["provenance"], None), "start": run["start"],
            "end": end, "heartbeat": run["heartbeat"], "restarts": list(restarts)}


def run_event(model, run, stale=RUN_STALE_SECONDS):
    """The websocket event for a run record that arrived or a patch (without the
    restarts, which come from the points: the page reads them with the run)."""
    fields = run_fields(run, stale=stale)
    del fields["restarts"]
    return {"type": "run", "model": model, **fields}


def _series_entry(count, last_step, last_value, vmin, vmax):
    last = float("nan") if last_value is None and count else last_value
    return {"last": last, "min": vmin, "max": vmax, "count": count, "last_step": last_step}


def describe_runs(conn, mark, in_ids, *, limit=None, after=None, contains=None, name=None,
                  like="LIKE", collate="", stale=RUN_STALE_SECONDS, batch=500):
    """A page of runs (RUN dicts of docs/API.md), sorted by name; or the one ``name``.

    ``in_ids(ids)`` gives the dialect's "in these ids" clause and its parameters.
    Four queries per ``batch`` of runs: the runs, their series, series counts, restarts.
    """
    if name is not None:
        sql, args = f"SELECT id, name, created FROM models WHERE name={mark}", [name]
    else:
        sql, args = models_sql(mark, like, after, contains, limit, collate)
    cols = ", ".join(f"r.{c}" for c in RUN_COLUMNS)
    rows = conn.execute(f"SELECT m.id, m.name, {cols} FROM ({sql}) AS m LEFT JOIN runs r "
                        f"ON r.model_id=m.id ORDER BY m.name{collate}", args).fetchall()
    now = time.time()
    out = []
    for lo in range(0, len(rows), batch):
        part = rows[lo:lo + batch]
        ids = [r[0] for r in part]
        clause, params = in_ids(ids)
        series = {mid: {} for mid in ids}
        totals = dict.fromkeys(ids, 0)
        for mid, sname, count, last_step, last_value, vmin, vmax in conn.execute(
                "SELECT model_id, name, count, max_step, last_value, vmin, vmax FROM "
                "(SELECT model_id, name, count, max_step, last_value, vmin, vmax, "
                f"row_number() OVER (PARTITION BY model_id ORDER BY name{collate}) AS rn "
                f"FROM series WHERE model_id {clause}) AS page WHERE rn <= {SERIES_PAGE} "
                f"ORDER BY model_id, name{collate}", params).fetchall():
            series[mid][sname] = _series_entry(count, last_step, last_value, vmin, vmax)
        for mid, n in conn.execute(f"SELECT model_id, count(*) FROM series WHERE model_id "
                                   f"{clause} GROUP BY model_id", params).fetchall():
            totals[mid] = n
        restarts = {mid: [] for mid in ids}
        for mid, _, when, step in conn.execute(
                "SELECT s.model_id, o.session, min(o.time), min(o.first_step) FROM run_offsets o "
                f"JOIN series s ON s.id=o.series_id WHERE o.shift > 0 AND s.model_id {clause} "
                "GROUP BY s.model_id, o.session "
                "ORDER BY 3", params).fetchall():
            restarts[mid].append({"time": when, "step": step})
        for mid, model, *run in part:
            row = None if run[3] is None else dict(zip(RUN_COLUMNS, run))   # no runs row
            out.append({"model": model, **run_fields(row, restarts[mid], stale, now),
                        "series": series[mid], "series_count": totals[mid]})
    return out


def check_record(doc, i):
    """One run record of ``POST /api/v1/runs`` checked (``BadRequest`` naming the field)."""
    from ..._config import check_config, check_notes, check_tags
    from ...names import check_name

    where = f"runs[{i}]"
    if not isinstance(doc, dict):
        raise BadRequest(f"{where} must be an object")
    unknown = set(doc) - {"model", "session", "time", "status", "config", "tags", "notes",
                          "provenance", "error"}
    if unknown:
        raise BadRequest(f"{where} has unknown fields: {', '.join(sorted(unknown))}")
    out = {"model": check_name(doc.get("model"), f"{where}.model")}
    session = doc.get("session")
    if not isinstance(session, str) or not 0 < len(session) <= 64 or not session.isprintable():
        raise BadRequest(f"{where}.session must be a string of 1 to 64 printable characters")
    out["session"] = session
    when = doc.get("time")
    if _number(when) is None:
        raise BadRequest(f"{where}.time must be a finite number (unix seconds), got "
                         f"{str(when)[:40]!r}")
    out["time"] = float(when)
    if "status" in doc and doc["status"] is not None:
        if doc["status"] not in STATUSES:
            raise BadRequest(f"{where}.status must be one of {', '.join(STATUSES)}, got "
                             f"{str(doc['status'])[:40]!r}")
        out["status"] = doc["status"]
    if doc.get("config") is not None:
        out["config"] = check_config(doc["config"], BadRequest, flat=True)
    if doc.get("tags") is not None:
        out["tags"] = check_tags(doc["tags"], BadRequest)
    if doc.get("notes") is not None:
        out["notes"] = check_notes(doc["notes"], BadRequest)
    if doc.get("provenance") is not None:
        out["provenance"] = check_provenance(doc["provenance"], f"{where}.provenance")
    if doc.get("error") is not None:
        out["error"] = check_error(doc["error"], f"{where}.error")
    return out


def check_error(err, where):
    """An exception's ``{"type", "message"}``, cut to 256 and 4,096 characters."""
    if not isinstance(err, dict) or not all(isinstance(err.get(k), str)
                                            for k in ("type", "message")):
        raise BadRequest(f"{where} must be an object with string 'type' and 'message'")
    return {"type": err["type"][:256], "message": err["message"][:4096]}


_PROVENANCE = {"host": str, "pid": int, "python": str, "pastalog": str, "argv": list,
               "cwd": str, "git": dict, "start": float}


def check_provenance(prov, where):
    """The captured provenance: known keys with values of their type, bounded in size."""
    if not isinstance(prov, dict):
        raise BadRequest(f"{where} must be an object")
    out = {}
    for key, kind in _PROVENANCE.items():
        value = prov.get(key)
        if value is None:
            out[key] = None
            continue
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise BadRequest(f"{where}.{key} must be a {kind.__name__}")
        if kind is str:
            value = value[:4096]
        elif kind is list:
            value = [str(a)[:4096] for a in value[:1000]]
        elif kind is dict:
            commit, dirty = value.get("commit"), value.get("dirty")
            if commit is not None and not isinstance(commit, str) or \
                    dirty is not None and not isinstance(dirty, bool):
                raise BadRequest(f"{where}.git must be {{'commit': str|null, "
                                 "'dirty': bool|null}")
            value = {"commit": None if commit is None else commit[:64], "dirty": dirty}
        out[key] = value
    return out
