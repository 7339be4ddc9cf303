"""Histograms in every SQL store, written once: the checks, the tables, thinning.

A histogram record is one step of one histogram name of a model: equal-width (or any
increasing) bin ``edges`` (``nbins + 1`` float64), ``counts`` (``nbins`` float64), and
exact statistics of the finite values (``count``, ``min``, ``max``, ``sum``,
``sumsq``) with the non-finite ones counted apart (``nan``, ``posinf``, ``neginf``).
A record of no finite value has no bins (``edges`` and ``counts`` empty) and NaN for
``min``/``max``.

Tables (both backends; ``BLOB`` is ``BYTEA`` in PostgreSQL)::

    histograms(id, model_id, name, step, time, count, vmin, vmax, vsum, vsumsq,
               nan, posinf, neginf, edges, counts)      edges/counts: float64 LE bytes
    hist_names(model_id, name, count, first_step, last_step, last_time)

``hist_names`` is what a model listing reads (it costs what it shows), and where a
record without a step continues from. Thinning (:func:`choose`) picks which records
an answer holds from an index-only read of ``(id)`` in step order; only the chosen
records' payloads are read.

:class:`HistogramStore` is mixed into ``SQLiteStore`` and ``PostgresStore``; a backend
supplies ``_hist_tx(fn, *args)`` (a write transaction), ``_read(fn, *args)`` (a read
snapshot), ``_seen_batch``, ``_model_id``, the placeholder ``_HMARK``, the row lock
``_HLOCK`` and ``_hist_in(ids)`` (SQL and arguments for "model_id in ids").
"""
import math
import time
from array import array

import numpy as np

from ...errors import BadRequest
from ...limits import MAX_STEP

__all__ = ["DEFAULT_LIMIT", "FIELDS", "HistogramStore", "MAX_BINS", "MAX_LIMIT",
           "PG_SCHEMA", "SQLITE_SCHEMA", "check_record", "choose", "from_row"]

#: Records in one answer unless asked otherwise, and at most.
DEFAULT_LIMIT = 200
MAX_LIMIT = 2000
#: Bins of one record at most.
MAX_BINS = 10_000
#: The statistics of a record, in the order of the wire's header entries.
FIELDS = ("count", "min", "max", "sum", "sumsq", "nan", "posinf", "neginf")
_COUNTS = ("count", "nan", "posinf", "neginf")

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS histograms(
    id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL, name TEXT NOT NULL,
    step INTEGER NOT NULL, time REAL NOT NULL, count INTEGER NOT NULL,
    vmin REAL, vmax REAL, vsum REAL, vsumsq REAL, nan INTEGER NOT NULL,
    posinf INTEGER NOT NULL, neginf INTEGER NOT NULL, edges BLOB NOT NULL,
    counts BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS histograms_by_name ON histograms(model_id, name, step, id);
CREATE TABLE IF NOT EXISTS hist_names(
    model_id INTEGER NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL,
    first_step INTEGER, last_step INTEGER, last_time REAL,
    PRIMARY KEY(model_id, name)) WITHOUT ROWID;
"""

PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS histograms(
    id BIGSERIAL PRIMARY KEY, model_id BIGINT NOT NULL REFERENCES models(id),
    name TEXT NOT NULL, step BIGINT NOT NULL, time DOUBLE PRECISION NOT NULL,
    count BIGINT NOT NULL, vmin DOUBLE PRECISION, vmax DOUBLE PRECISION,
    vsum DOUBLE PRECISION, vsumsq DOUBLE PRECISION, nan BIGINT NOT NULL,
    posinf BIGINT NOT NULL, neginf BIGINT NOT NULL, edges BYTEA NOT NULL,
    counts BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS histograms_by_name ON histograms(model_id, name, step, id);
CREATE TABLE IF NOT EXISTS hist_names(
    model_id BIGINT NOT NULL REFERENCES models(id), name TEXT NOT NULL,
    count BIGINT NOT NULL, first_step BIGINT, last_step BIGINT,
    last_time DOUBLE PRECISION, PRIMARY KEY(model_id, name));
"""

_COLS = ("id, step, time, count, vmin, vmax, vsum, vsumsq, nan, posinf, neginf, edges, "
         "counts")


def _float(x, where):
    if isinstance(x, (bool, str)) or x is None:
        if isinstance(x, str) and x in ("NaN", "Infinity", "-Infinity"):
            return float(x.replace("Infinity", "inf"))
        if x is None:
            return math.nan
        raise BadRequest(f"{where} must be a number, got {x!r:.60}")
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        raise BadRequest(f"{where} must be a number, got {x!r:.60}") from None


def _count(x, where):
    if type(x) is float and x.is_integer():
        x = int(x)
    if type(x) is not int or not 0 <= x <= 2**62:
        raise BadRequest(f"{where} must be a whole number from 0 to 2**62, got {x!r:.60}")
    return x


def _array(x, where):
    if isinstance(x, (np.ndarray, array)):
        return np.array(x, dtype="<f8").reshape(-1)
    if not isinstance(x, list):
        raise BadRequest(f"{where} must be a list of numbers, got {type(x).__name__}")
    return np.array([_float(v, f"{where}[{i}]") for i, v in enumerate(x)], dtype="<f8")


def check_record(rec, where="histogram"):
    """A record (a dict, from JSON or the wire) checked and normalised, or ``BadRequest``.

    Parameters
    ----------
    rec : dict
        ``model``, ``name``, ``edges``, ``counts`` and the statistics of ``FIELDS``;
        ``step`` and ``time`` may be ``None`` (continue the name; now).
    where : str
        How the record is named in an error (``histograms[3]``).

    Returns
    -------
    dict
        With ``edges``/``counts`` as float64 arrays, counts as ints, the rest floats.

    Examples
    --------
    >>> r = check_record({"model": "m", "name": "w", "step": 0, "edges": [0, 1, 2],
    ...                   "counts": [1, 2], "count": 3, "min": 0, "max": 2, "sum": 3,
    ...                   "sumsq": 5, "nan": 0, "posinf": 0, "neginf": 0})
    >>> r["counts"].tolist(), r["min"]
    ([1.0, 2.0], 0.0)
    >>> check_record({"model": "m", "name": "w", "edges": [0, 1], "counts": [1, 2]})
    Traceback (most recent call last):
    ...
    pastalog.errors.BadRequest: histogram.edges has 2 entries; it needs one more than counts (2)
    """
    from ...names import check_name

    if not isinstance(rec, dict):
        raise BadRequest(f"{where} must be an object, got {type(rec).__name__}")
    out = {"model": check_name(rec.get("model"), f"{where}.model"),
           "name": check_name(rec.get("name"), f"{where}.name")}
    step = rec.get("step")
    if step is not None:
        if type(step) is float and step.is_integer():
            step = int(step)
        if type(step) is not int or not -MAX_STEP <= step <= MAX_STEP:
            raise BadRequest(f"{where}.step must be an integer within ±(2**53 - 1), got "
                             f"{step!r:.60}")
    out["step"] = step
    when = rec.get("time")
    if when is not None:
        when = _float(when, f"{where}.time")
        if not math.isfinite(when):
            raise BadRequest(f"{where}.time must be a finite unix time, got {when}")
    out["time"] = when
    edges = _array(rec.get("edges"), f"{where}.edges")
    counts = _array(rec.get("counts"), f"{where}.counts")
    if len(counts) > MAX_BINS:
        raise BadRequest(f"{where}.counts has {len(counts)} bins; at most {MAX_BINS}")
    if len(edges) != len(counts) + (1 if len(counts) else 0):
        raise BadRequest(f"{where}.edges has {len(edges)} entries; it needs one more than "
                         f"counts ({len(counts)})")
    if not np.isfinite(edges).all() or (np.diff(edges) < 0).any():
        raise BadRequest(f"{where}.edges must be finite and non-decreasing")
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise BadRequest(f"{where}.counts must be finite and not negative")
    out["edges"], out["counts"] = edges, counts
    for key in FIELDS:
        if key not in rec:
            if key in _COUNTS and key != "count":
                out[key] = 0
                continue
            raise BadRequest(f"{where}.{key} is missing")
        out[key] = (_count(rec[key], f"{where}.{key}") if key in _COUNTS
                    else _float(rec[key], f"{where}.{key}"))
    return out


def choose(n, limit):
    """Indices of the ``n`` records in step order that an answer of ``limit`` holds.

    Evenly spread, always the first and the last.

    Examples
    --------
    >>> choose(10, 4).tolist(), choose(3, 200).tolist()
    ([0, 3, 6, 9], [0, 1, 2])
    """
    if n <= limit:
        return np.arange(n)
    return np.unique(np.rint(np.linspace(0, n - 1, limit)).astype(np.int64))


def _nan(x):
    return math.nan if x is None else float(x)


def from_row(row):
    """A record dict from a row of ``_COLS`` (without the id).

    Examples
    --------
    >>> e = np.array([0.0, 1.0]).tobytes(); c = np.array([2.0]).tobytes()
    >>> from_row((5, 1.5, 2, 0.0, None, 1.0, 1.0, 0, 0, 0, e, c))["max"]
    nan
    """
    (step, when, count, vmin, vmax, vsum, vsumsq, nan, posinf, neginf, edges,
     counts) = row
    return {"step": int(step), "time": float(when),
            "edges": np.frombuffer(bytes(edges), "<f8"),
            "counts": np.frombuffer(bytes(counts), "<f8"),
            "count": int(count), "min": _nan(vmin), "max": _nan(vmax), "sum": _nan(vsum),
            "sumsq": _nan(vsumsq), "nan": int(nan), "posinf": int(posinf),
            "neginf": int(neginf)}


def _null(x):
    return None if x != x else x


class HistogramStore:
    """The histogram half of a store (see the module docstring for what it needs)."""

    # -- writing -------------------------------------------------------------------

    def write_histograms(self, records, batch_id=None):
        """Store records checked by :func:`check_record`, atomically.

        Returns
        -------
        list of dict or None
            The stored records, each with ``model``, ``name``, ``step``, ``time`` and
            ``id``; ``None`` when ``batch_id`` was stored before.
        """
        return self._hist_tx(self._write_histograms, records, batch_id)

    def _write_histograms(self, conn, records, batch_id):
        now = time.time()
        if self._seen_batch(conn, batch_id, now):
            return None
        mark, lock = self._HMARK, self._HLOCK
        groups = {}
        for rec in records:
            groups.setdefault((rec["model"], rec["name"]), []).append(rec)
        model_ids = {m: self._model_id(conn, m, now) for m in sorted({k[0] for k in groups})}
        out = []
        for (model, name) in sorted(groups):
            mid = model_ids[model]
            conn.execute(f"INSERT INTO hist_names(model_id, name, count) VALUES({mark}, "
                         f"{mark}, 0) ON CONFLICT DO NOTHING", (mid, name))
            count, first, last, last_time = conn.execute(
                f"SELECT count, first_step, last_step, last_time FROM hist_names WHERE "
                f"model_id={mark} AND name={mark}{lock}", (mid, name)).fetchone()
            for rec in groups[(model, name)]:
                step = rec["step"]
                if step is None:
                    step = 0 if last is None else last + 1
                    if step > MAX_STEP:
                        raise BadRequest(f"histogram {name!r} is at the largest step; give "
                                         "the next step explicitly")
                when = now if rec["time"] is None else rec["time"]
                rid = conn.execute(
                    f"INSERT INTO histograms(model_id, name, step, time, count, vmin, vmax, "
                    f"vsum, vsumsq, nan, posinf, neginf, edges, counts) VALUES("
                    f"{', '.join([mark] * 14)}) RETURNING id",
                    (mid, name, step, when, rec["count"], _null(rec["min"]),
                     _null(rec["max"]), _null(rec["sum"]), _null(rec["sumsq"]), rec["nan"],
                     rec["posinf"], rec["neginf"],
                     np.ascontiguousarray(rec["edges"], "<f8").tobytes(),
                     np.ascontiguousarray(rec["counts"], "<f8").tobytes())).fetchone()[0]
                count += 1
                first = step if first is None else min(first, step)
                last = step if last is None else max(last, step)
                last_time = when if last_time is None else max(last_time, when)
                out.append({"id": rid, **rec, "model": model, "name": name, "step": step,
                            "time": when})
            conn.execute(f"UPDATE hist_names SET count={mark}, first_step={mark}, "
                         f"last_step={mark}, last_time={mark} WHERE model_id={mark} AND "
                         f"name={mark}", (count, first, last, last_time, mid, name))
        self._hist_notify(conn, out)
        return out

    def _hist_notify(self, conn, written):
        """Tell other servers (a backend shared by servers overrides this)."""

    def delete_histograms(self, model, name):
        """Delete every record of one histogram name; returns how many went."""
        return self._hist_tx(self._delete_histograms, model, name)

    def _delete_histograms(self, conn, model, name):
        mark = self._HMARK
        row = conn.execute(f"SELECT id FROM models WHERE name={mark}", (model,)).fetchone()
        if row is None:
            return 0
        conn.execute(f"DELETE FROM hist_names WHERE model_id={mark} AND name={mark}",
                     (row[0], name))
        return conn.execute(f"DELETE FROM histograms WHERE model_id={mark} AND name={mark}",
                            (row[0], name)).rowcount

    def _delete_model_histograms(self, conn, model_id):
        """Delete a model's histograms inside its delete; returns how many went."""
        mark = self._HMARK
        conn.execute(f"DELETE FROM hist_names WHERE model_id={mark}", (model_id,))
        return conn.execute(f"DELETE FROM histograms WHERE model_id={mark}",
                            (model_id,)).rowcount

    # -- reading -------------------------------------------------------------------

    def read_histograms(self, model, name, x0=None, x1=None, limit=DEFAULT_LIMIT):
        """Records of one name with ``x0 <= step <= x1``, thinned to ``limit``, or ``None``.

        Returns
        -------
        dict or None
            ``{"total": n, "records": [record, ...]}`` (``n`` records in the range;
            at most ``limit`` of them, evenly spread, first and last kept); ``None``
            for an unknown model or name.
        """
        if not 2 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be within [2, {MAX_LIMIT}], got {limit}")
        return self._read(self._read_histograms, model, name, x0, x1, limit)

    def _read_histograms(self, conn, model, name, x0, x1, limit):
        mark = self._HMARK
        row = conn.execute(
            f"SELECT h.model_id, h.first_step, h.last_step FROM hist_names h JOIN models m "
            f"ON m.id=h.model_id WHERE m.name={mark} AND h.name={mark}",
            (model, name)).fetchone()
        if row is None:
            return None
        mid, first, last = row
        if x0 is not None and x1 is not None and x1 < x0:
            raise BadRequest(f"x1 ({x1}) must not be below x0 ({x0})")
        x0 = first if x0 is None else x0
        x1 = last if x1 is None else x1
        if first is None or x1 < x0:
            return {"total": 0, "records": []}
        # index-only: (model_id, name, step, id)
        ids = np.array([r[0] for r in conn.execute(
            f"SELECT id FROM histograms WHERE model_id={mark} AND name={mark} AND step "
            f"BETWEEN {mark} AND {mark} ORDER BY step, id", (mid, name, x0, x1))],
            dtype=np.int64)
        chosen = ids[choose(len(ids), limit)].tolist()
        records = self._records_by_id(conn, chosen)
        return {"total": len(ids), "records": records}

    def _records_by_id(self, conn, ids):
        """Full records of ``ids`` (a list), in step order."""
        if not ids:
            return []
        sql, args = self._hist_in("id", ids)
        rows = conn.execute(f"SELECT {_COLS} FROM histograms WHERE {sql} ORDER BY step, id",
                            args).fetchall()
        return [from_row(r[1:]) for r in rows]

    def histogram_by_id(self, rid):
        """``(model, name, record)`` of one stored record, or ``None`` (live events)."""
        def run(conn):
            mark = self._HMARK
            row = conn.execute(
                f"SELECT m.name, h.name FROM histograms h JOIN models m ON m.id=h.model_id "
                f"WHERE h.id={mark}", (rid,)).fetchone()
            if row is None:
                return None
            return row[0], row[1], self._records_by_id(conn, [rid])[0]
        return self._read(run)

    def _attach_histograms(self, conn, out, ids):
        """Put each model's histogram names into ``out`` (a dict of models by id)."""
        for model in out.values():
            model.setdefault("histograms", [])
        if not ids:
            return
        sql, args = self._hist_in("model_id", ids)
        for mid, name, count, first, last, when in conn.execute(
                f"SELECT model_id, name, count, first_step, last_step, last_time FROM "
                f"hist_names WHERE {sql} AND count > 0 ORDER BY name{self._HCOLLATE}", args):
            out[mid]["histograms"].append({"name": name, "count": count, "first_step": first,
                                           "last_step": last, "last_time": when})

    def iter_histograms(self, page=500):
        """Yield ``(model, name, record)`` for every record, for export (by model, name,
        step), reading ``page`` records at a time."""
        mark = self._HMARK
        names = self._read(lambda conn: conn.execute(
            f"SELECT m.name, h.model_id, h.name FROM hist_names h JOIN models m ON "
            f"m.id=h.model_id ORDER BY m.name{self._HCOLLATE}, h.name{self._HCOLLATE}"
        ).fetchall())
        for model, mid, name in names:
            after = (-MAX_STEP - 1, 0)
            while True:
                rows = self._read(lambda conn: conn.execute(
                    f"SELECT {_COLS} FROM histograms WHERE model_id={mark} AND name={mark} "
                    f"AND (step, id) > ({mark}, {mark}) ORDER BY step, id LIMIT {int(page)}",
                    (mid, name, *after)).fetchall())
                for row in rows:
                    yield model, name, from_row(row[1:])
                if len(rows) < page:
                    break
                after = (rows[-1][1], rows[-1][0])
