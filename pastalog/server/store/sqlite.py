"""SQLiteStore: every point and image, durable in one SQLite database (WAL).

Layout (schema version 3)::

    models(id, name, created)
    series(id, model_id, name, count, min_step, max_step, last_step, last_value,
           last_time, agg_level, vmin, vmax)
    chunks(id, series_id, n, step_min, step_max, steps, vals, times)   packed arrays
    agg(series_id, level, cell, count, nans, vmin, vmax, first, last,
        fstep, lstep, vsum, t0, t1)                                     pyramid
    images(id, model_id, name, step, time, sha, width, height)
    batch_keys(key, tag, time)   idempotency: a 64-bit key and 32-bit tag per batch id
    batches(id, time)            full ids, only for the (2**-64) case of a shared key
    runs(model_id, session, status, error, config, tags, notes, provenance, start,
         finish, heartbeat, seen)                                     see ``runs``
    run_offsets(series_id, session, shift, time, first_step)        implicit steps
    histograms, hist_names       histogram records (store/histograms.py, shared)

Points are stored in chunks of up to ``CHUNK_POINTS`` (packed by ``codec``; 8.7 to
11.1 bytes a point measured in benchmarks/RESULTS.md). Small ingests append small chunks that are merged once a series
has ``MERGE_AFTER`` of them. Once a series holds more than ``PYRAMID_AFTER`` points
it gets a pyramid of aggregates at every level from ``agg_level`` up, so a chart
query reads at most one row per bucket whatever the series' length.

A write commits before it returns: with WAL and ``synchronous=NORMAL`` a point that
was answered 200 survives ``kill -9`` of the server. SQLite stores NaN as NULL; the
store keeps NaN inside the packed chunks, and in aggregates NULL means NaN.

One writer: ``write_*`` and ``delete_*`` may be called from one thread at a time
(the server runs them on a single worker thread). Reads share one connection of
their own (SQLite serializes it), so they never wait for the writer under WAL.
"""
import errno
import hashlib
import logging
import os
import sqlite3
import threading
import time

import numpy as np

from ...errors import BadRequest, DiskFull, StorageError
from . import codec
from .aggcache import AggCache
from . import runs as run_rows
from .histograms import SQLITE_SCHEMA as _HIST_SCHEMA
from .histograms import HistogramStore
from .base import (BATCH_MEMORY, DEFAULT_MAX_SERIES, RAW_LIMIT, Store, batch_key, png_size,
                   series_cap_error, sqlite_path)
from .rows import (SERIES_PAGE, attach_series, columns as _columns, decode_rows,
                   describe_times, models_sql, parse_cursor as _parse_cursor, raw_page,
                   series_page_sql)
from .pyramid import (AGG_COLUMNS, LEVELS_ABOVE, PYRAMID_AFTER, agg_insert_sql, aggregate,
                      bucket_level, merge_levels, overlapping, pyramid_columns_many,
                      pyramid_level)

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

log = logging.getLogger("pastalog.store")

SCHEMA_VERSION = 4
CHUNK_POINTS = 4096
MERGE_AFTER = 16
#: The writer copies the WAL into the database (a checkpoint: two fsyncs and every page
#: the WAL holds) once it holds this many pages, not SQLite's default of 1,000 (4 MB):
#: a group of four 10,000-point requests writes about 600 pages, mostly pages written
#: before (61,532 WAL pages for a 10,095-page database of 4 million points), so a
#: checkpoint every group or two cost more than the rest of the commit. Measured (4
#: million points in groups of four requests, three runs): 1,000 pages 0.91 to 1.10 s
#: in COMMIT, 10,000 pages 0.55 to 0.73 s.
WAL_PAGES = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models(
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS series(
    id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL, name TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0, min_step INTEGER, max_step INTEGER,
    last_step INTEGER, last_value REAL, last_time REAL, agg_level INTEGER,
    UNIQUE(model_id, name));
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, n INTEGER NOT NULL,
    step_min INTEGER NOT NULL, step_max INTEGER NOT NULL,
    steps BLOB NOT NULL, vals BLOB NOT NULL, times BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_series ON chunks(series_id, step_min);
CREATE TABLE IF NOT EXISTS agg(
    series_id INTEGER NOT NULL, level INTEGER NOT NULL, cell INTEGER NOT NULL,
    count INTEGER NOT NULL, nans INTEGER NOT NULL, vmin REAL, vmax REAL,
    first REAL, last REAL, fstep INTEGER NOT NULL, lstep INTEGER NOT NULL,
    vsum REAL, t0 REAL NOT NULL, t1 REAL NOT NULL,
    PRIMARY KEY(series_id, level, cell)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS images(
    id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL, name TEXT NOT NULL,
    step INTEGER NOT NULL, time REAL NOT NULL, sha TEXT NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS images_by_name ON images(model_id, name, step);
CREATE TABLE IF NOT EXISTS batches(id TEXT PRIMARY KEY, time REAL NOT NULL) WITHOUT ROWID;
"""

#: Schema changes by the version they bring; each runs once, in order, in one
#: transaction with the version bump, so an interrupted upgrade leaves the old version.
_MIGRATIONS = {
    2: """CREATE TABLE IF NOT EXISTS batch_keys(
              key INTEGER PRIMARY KEY, tag INTEGER NOT NULL, time INTEGER NOT NULL);""",
    # runs: their table, implicit-step offsets, and each series' min and max (computed
    # from the stored points once, here)
    3: lambda conn: ([conn.execute(sql) for sql in run_rows.schema_sql("sqlite")],
                     run_rows.backfill_minmax(conn, "?", decode_rows)),
    4: _HIST_SCHEMA,   # histograms (store/histograms.py)
}

_INSERT_AGG = agg_insert_sql("?")
_UPSERT_AGG = agg_insert_sql("?", merge=True)


def _translate(exc):
    """Turn a sqlite3/OS error from a write into a ``StorageError``."""
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"the data directory's disk is full: {exc.strerror}")
    if "disk is full" in text or "SQLITE_FULL" in text:
        return DiskFull("the data directory's disk is full; free space and retry")
    return StorageError(f"could not write to the store: {text}")


def _in_ids(ids):
    return f"IN ({','.join('?' * len(ids))})", ids


def _after(stats, steps, values, times):
    """A series' figures after appending points to it (``stats``: its row before)."""
    count = stats["count"] + len(steps)
    smin, smax = int(steps.min()), int(steps.max())
    if stats["min_step"] is not None:
        smin, smax = min(smin, stats["min_step"]), max(smax, stats["max_step"])
    return {"count": count, "seq": count, "first_step": smin, "last_step": smax,
            "last_value": float(values[-1]), "last_time": float(times[-1])}


class _Held:
    """The appends of a group of point writes, held back to be written per series.

    A series' row in the database stays as it was before the group until the end;
    ``stats`` gives the figures the requests before have left it with, so steps
    continue and answers count as if each request had been written on its own. The
    current request's appends are kept apart until it succeeds (``keep``) or is rolled
    back (``drop``).
    """

    def __init__(self):
        self._series = {}   # sid -> [row before the group, figures now, [parts]]
        self._request = {}  # the same, for what the current request changed

    def stats(self, sid, row):
        """The series' figures now (a dict this request may change), from its ``row``."""
        mine = self._request.get(sid)
        if mine is None:
            kept = self._series.get(sid)
            before, now = (row, row) if kept is None else (kept[0], kept[1])
            mine = self._request[sid] = [before, dict(now), []]
        return mine[1]

    def append(self, sid, stats, steps, values, times):
        """Hold points back; the series' figures (``stats``) move on as if written."""
        self._request[sid][2].append((steps, values, times))
        after = _after(stats, steps, values, times)
        stats.update(count=after["count"], min_step=after["first_step"],
                     max_step=after["last_step"], last_step=int(steps[-1]))
        return after

    def keep(self):
        for sid, (before, now, parts) in self._request.items():
            kept = self._series.setdefault(sid, [before, now, []])
            kept[1] = now
            kept[2].extend(parts)
        self._request = {}

    def drop(self):
        self._request = {}

    def appends(self):
        """``(sid, row before the group, [(steps, values, times), ...])`` per series."""
        return [(sid, before, parts) for sid, (before, _, parts) in self._series.items()
                if parts]


class SQLiteStore(HistogramStore, Store):
    """The durable store under one data directory: SQLite for rows, files for PNGs.

    Parameters
    ----------
    data_dir : str or path
        Created if missing. Holds ``pastalog.sqlite3`` and ``images/``.
    synchronous : {"NORMAL", "FULL"}
        SQLite's sync mode. NORMAL survives a killed process; FULL also a power cut.

    Examples
    --------
    >>> import tempfile
    >>> store = SQLiteStore(tempfile.mkdtemp())
    >>> store.write_points([("m", "loss", [0, 1], [2.5, 2.0], [1.0, 2.0])])["points"]
    2
    >>> store.read_series("m", "loss")["values"].tolist()
    [2.5, 2.0]
    >>> store.close()
    """

    # for HistogramStore (store/histograms.py)
    _HMARK, _HLOCK, _HCOLLATE = "?", "", ""

    def _hist_tx(self, fn, *args):
        return self._transaction(fn, *args)

    @staticmethod
    def _hist_in(column, ids):
        return f"{column} IN ({','.join('?' * len(ids))})", list(ids)

    def __init__(self, data_dir, *, synchronous="NORMAL", max_series=DEFAULT_MAX_SERIES):
        self.data_dir = sqlite_path(data_dir)
        self.location = "sqlite://" + self.data_dir
        self.image_dir = os.path.join(self.data_dir, "images")
        os.makedirs(self.image_dir, exist_ok=True)
        self.path = os.path.join(self.data_dir, "pastalog.sqlite3")
        self._synchronous = synchronous
        self.max_series = max_series
        self._all = []
        self._all_lock = threading.Lock()
        self._w = self._connect()
        self._w.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        self._migrate()
        # Readers: one connection per OS thread (the server reads on a small pool of
        # threads; greenlets of one thread share theirs, since a read never yields).
        self._readers = {}
        # Kept by the one writer, so /healthz and the series cap cost no scan.
        self._series_count, self._total = self._w.execute(
            "SELECT count(*), coalesce(sum(count), 0) FROM series").fetchone()
        self._delta = [0, 0]
        self._agg_cache = AggCache()
        self.group_retries = 0   # groups of point writes written again one by one

    # -- connections -------------------------------------------------------------

    def _connect(self):
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA cache_size=-16000")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def close(self):
        """Close every connection (checkpointing the WAL)."""
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()

    @property
    def _r(self):
        """This OS thread's reader connection."""
        ident = threading.get_native_id()
        conn = self._readers.get(ident)
        if conn is None:
            conn = self._readers[ident] = self._connect()
        return conn

    def _read(self, fn, *args):
        """Run ``fn(conn, *args)`` in one read transaction: a consistent snapshot.

        Greenlets of one thread share its reader; the statements inside never yield to
        another greenlet (sqlite3 calls block), so snapshots do not interleave.
        """
        conn = self._r
        conn.execute("BEGIN")
        try:
            return fn(conn, *args)
        finally:
            conn.execute("COMMIT")

    def _migrate(self):
        conn = self._w
        conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = SCHEMA_VERSION if row is None else int(row[0])
        if row is None:  # a new store: the tables above, then every migration
            version = 1
            conn.execute("INSERT INTO meta VALUES('schema_version', '1')")
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path} has schema version {version}, newer than this pastalog "
                f"understands ({SCHEMA_VERSION}); upgrade pastalog")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            step = _MIGRATIONS[target]
            conn.execute("BEGIN IMMEDIATE")
            try:
                if callable(step):
                    step(conn)
                else:
                    for sql in step.split(";"):
                        if sql.strip():
                            conn.execute(sql)
                conn.execute("UPDATE meta SET value=? WHERE key='schema_version'",
                             (str(target),))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _transaction(self, fn, *args):
        """Run ``fn(conn, *args)`` in one IMMEDIATE transaction on the writer."""
        conn = self._w
        self._delta = [0, 0]  # series and points added (or removed) by this transaction
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn, *args)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self._series_count += self._delta[0]
            self._total += self._delta[1]
        except (sqlite3.OperationalError, sqlite3.DatabaseError, OSError) as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise _translate(exc) from exc
        return result

    # -- writing points ----------------------------------------------------------

    def write_points(self, series, batch_id=None, session=None):
        """Store a batch of points atomically (see ``Store.write_points``)."""
        return self._transaction(self._write_points, series, batch_id, session)

    def write_points_group(self, requests):
        """Store several batches of points in one transaction (see ``Store``).

        Each request runs in a savepoint: one that is refused (a ``BadRequest``, the
        series cap, any error not SQLite's or the disk's) is rolled back alone and gets
        its error. The points of the others are held back and written per series at
        the end, the parts of one series from several requests as one append: fewer
        chunks and pyramid merges than request by request. When the transaction fails
        as a whole (disk full, I/O error), nothing of it is stored and every request is
        written again alone, so each gets the answer it would have got alone.
        """
        if len(requests) < 2:
            return super().write_points_group(requests)
        try:
            return self._transaction(self._write_group, requests)
        except Exception as exc:  # noqa: BLE001 (each request is retried alone below)
            self.group_retries += 1
            log.info("a group of %d point writes failed (%s); writing them one by one",
                     len(requests), exc)
        return super().write_points_group(requests)

    def _write_group(self, conn, requests):
        held = _Held()
        outcomes = []
        for series, batch_id, session in requests:
            conn.execute("SAVEPOINT request")
            created = self._delta[0]
            try:
                outcomes.append(self._write_points(conn, series, batch_id, session, held))
            except (sqlite3.Error, OSError):
                raise   # the transaction's failure: the whole group is retried
            except Exception as exc:  # noqa: BLE001 (this request's answer)
                conn.execute("ROLLBACK TO request")
                self._delta[0] = created
                held.drop()
                outcomes.append(exc)
            else:
                held.keep()
            conn.execute("RELEASE request")
        pyramids = []
        for sid, before, parts in held.appends():
            self._append(conn, sid, before, *(np.concatenate(p) for p in zip(*parts)),
                         pyramids)
        self._add_to_pyramids(conn, pyramids)
        return outcomes

    @staticmethod
    def _seen_batch(conn, batch_id, now):
        """Whether ``batch_id`` was stored before; remembers it if not."""
        if batch_id is None:
            return False
        key, tag = batch_key(batch_id)
        row = conn.execute("SELECT tag FROM batch_keys WHERE key=?", (key,)).fetchone()
        if row is None:
            # ids stored in full (by schema version 1, or sharing a key) are checked too
            if conn.execute("SELECT 1 FROM batches WHERE id=?", (batch_id,)).fetchone():
                return True
            conn.execute("INSERT INTO batch_keys VALUES(?, ?, ?)", (key, tag, int(now)))
            return False
        if row[0] == tag:  # the same 96 bits of hash: the same id (2**-96 otherwise)
            return True
        # another id with the same 64-bit key: keep this one in full
        if conn.execute("SELECT 1 FROM batches WHERE id=?", (batch_id,)).fetchone():
            return True
        conn.execute("INSERT INTO batches VALUES(?, ?)", (batch_id, now))
        return False

    def _write_points(self, conn, series, batch_id, session=None, held=None):
        """``held``: a group's ``_Held``, which keeps the appends to write them later."""
        now = time.time()
        if self._seen_batch(conn, batch_id, now):
            return {"points": 0, "duplicate": True, "series": []}
        written = []
        total = 0
        model_ids = {}
        for model, name, steps, values, times, *relative in series:
            values = np.asarray(values, dtype=np.float64).reshape(-1)
            n = len(values)
            if n == 0:
                continue
            if model not in model_ids:
                model_ids[model] = self._model_id(conn, model, now)
            sid, stats = self._series_row(conn, model_ids[model], name)
            if held is not None:
                stats = held.stats(sid, stats)
            if steps is None:
                start = 0 if stats["last_step"] is None else stats["last_step"] + 1
                steps = np.arange(start, start + n, dtype=np.int64)
            else:
                steps = np.asarray(steps, dtype=np.int64).reshape(-1)
                if relative and relative[0] and session is not None and len(steps) == n:
                    steps = run_rows.apply_offset(conn, "?", sid, stats, session, steps, now)
            times = (np.full(n, now) if times is None
                     else np.asarray(times, dtype=np.float64).reshape(-1))
            if len(steps) != n or len(times) != n:
                raise BadRequest(f"series {name!r}: steps, values and times differ in length")
            if held is None:
                after = self._append(conn, sid, stats, steps, values, times)
            else:
                after = held.append(sid, stats, steps, values, times)
            total += n
            written.append((model, name, steps, values, times, {"name": name, **after}))
        return {"points": total, "duplicate": False, "series": written}

    def _model_id(self, conn, model, now):
        row = conn.execute("SELECT id FROM models WHERE name=?", (model,)).fetchone()
        if row:
            return row[0]
        return conn.execute("INSERT INTO models(name, created) VALUES(?, ?)",
                            (model, now)).lastrowid

    def _series_row(self, conn, model_id, name):
        row = conn.execute(
            "SELECT id, count, min_step, max_step, last_step, agg_level, vmin, vmax "
            "FROM series WHERE model_id=? AND name=?", (model_id, name)).fetchone()
        if row is None:
            if self._series_count + self._delta[0] >= self.max_series:
                raise series_cap_error(self.max_series)
            sid = conn.execute("INSERT INTO series(model_id, name) VALUES(?, ?)",
                               (model_id, name)).lastrowid
            self._delta[0] += 1
            row = (sid, 0, None, None, None, None, None, None)
        keys = ("id", "count", "min_step", "max_step", "last_step", "agg_level", "vmin",
                "vmax")
        stats = dict(zip(keys, row))
        return stats["id"], stats

    def _append(self, conn, sid, stats, steps, values, times, pyramids=None):
        """Append points to a series; ``pyramids``: a list to leave the pyramid's part
        in (``_add_to_pyramids``' items), to be written with other series' at once."""
        n = len(steps)
        for lo in range(0, n, CHUNK_POINTS):
            hi = min(n, lo + CHUNK_POINTS)
            self._insert_chunk(conn, sid, steps[lo:hi], values[lo:hi], times[lo:hi])
        self._delta[1] += n
        after = _after(stats, steps, values, times)
        count, smin, smax = after["count"], after["first_step"], after["last_step"]
        last_value = after["last_value"]
        vmin, vmax = run_rows.merge_minmax(stats["vmin"], stats["vmax"], values)
        conn.execute(
            "UPDATE series SET count=?, min_step=?, max_step=?, last_step=?, last_value=?, "
            "last_time=?, vmin=?, vmax=? WHERE id=?",
            (count, smin, smax, int(steps[-1]),
             None if last_value != last_value else last_value, after["last_time"], vmin, vmax,
             sid))
        if n < CHUNK_POINTS:
            self._merge_small_chunks(conn, sid)
        level = stats["agg_level"]
        if level is not None:
            item = (sid, level, steps, values, times, (stats["min_step"], stats["max_step"]))
            if pyramids is None:
                self._add_to_pyramids(conn, [item])
            else:
                pyramids.append(item)
        elif count > PYRAMID_AFTER:
            self._build_pyramid(conn, sid, smax - smin + 1, count)
        return after

    def _insert_chunk(self, conn, sid, steps, values, times):
        conn.execute(
            "INSERT INTO chunks(series_id, n, step_min, step_max, steps, vals, times) "
            "VALUES(?, ?, ?, ?, ?, ?, ?)",
            (sid, len(steps), int(steps.min()), int(steps.max()), codec.encode_steps(steps),
             codec.encode_floats(values), codec.encode_times(times)))

    def _merge_small_chunks(self, conn, sid):
        """Merge the trailing run of partly filled chunks once it is long enough."""
        rows = conn.execute(
            "SELECT id, n FROM chunks WHERE series_id=? ORDER BY id DESC LIMIT ?",
            (sid, MERGE_AFTER + 1)).fetchall()
        small = []
        for cid, n in rows:
            if n >= CHUNK_POINTS:
                break
            small.append(cid)
        if len(small) < MERGE_AFTER:
            return
        small.reverse()
        marks = ",".join("?" * len(small))
        steps, values, times = self._decode_rows(conn.execute(
            f"SELECT steps, vals, times FROM chunks WHERE id IN ({marks}) ORDER BY id",
            small).fetchall())
        conn.execute(f"DELETE FROM chunks WHERE id IN ({marks})", small)
        for lo in range(0, len(steps), CHUNK_POINTS):
            hi = lo + CHUNK_POINTS
            self._insert_chunk(conn, sid, steps[lo:hi], values[lo:hi], times[lo:hi])

    _decode_rows = staticmethod(decode_rows)

    def _build_pyramid(self, conn, sid, span, count):
        level = pyramid_level(span, count)
        steps, values, times = self._decode_rows(conn.execute(
            "SELECT steps, vals, times FROM chunks WHERE series_id=? ORDER BY id",
            (sid,)).fetchall())
        conn.execute("UPDATE series SET agg_level=? WHERE id=?", (level, sid))
        self._add_to_pyramids(conn, [(sid, level, steps, values, times, None)])

    @staticmethod
    def _add_to_pyramids(conn, items):
        """Add points to every stored level of their series' pyramids.

        ``items``: ``(sid, base level, steps, values, times, old)``, one a series, with
        ``old`` the series' (min, max) step before these points (``None``: no pyramid
        yet). Cells outside ``old`` cannot exist yet and take a plain INSERT; the few
        that may (at the edges of an in-order append) take the merging UPSERT. One
        ``pyramid_columns_many`` and two statements for all the series.
        """
        if not items:
            return
        cols = pyramid_columns_many([item[1:5] for item in items])
        key = cols["key"]
        olds = [item[5] or (0, -1) for item in items]   # (0, -1): no cell overlaps
        lo, hi = (np.array(side, dtype=np.int64)[key] for side in zip(*olds))
        overlap = overlapping(cols["level"], cols["cell"], lo, hi).tolist()
        sids = np.array([item[0] for item in items], dtype=np.int64)[key]
        rows = zip(sids.tolist(), *(cols[name].tolist() for name in AGG_COLUMNS[1:]))
        fresh, merged = [], []
        for row, old in zip(rows, overlap):
            (merged if old else fresh).append(row)
        conn.executemany(_INSERT_AGG, fresh)
        conn.executemany(_UPSERT_AGG, merged)

    # -- images ------------------------------------------------------------------

    def write_image(self, model, name, png, step=None, when=None, batch_id=None):
        """Store a PNG image; returns its record (or ``None`` for a seen batch)."""
        width, height = png_size(png)
        sha = hashlib.sha256(png).hexdigest()
        path = self.blob_path(sha)
        if not os.path.exists(path):
            tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(tmp, "wb") as fh:
                    fh.write(png)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except OSError as exc:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise _translate(exc) from exc
        return self._transaction(self._write_image, model, name, step, when, sha, width,
                                 height, batch_id)

    def _write_image(self, conn, model, name, step, when, sha, width, height, batch_id):
        now = time.time()
        if self._seen_batch(conn, batch_id, now):
            return None
        mid = self._model_id(conn, model, now)
        if step is None:
            row = conn.execute("SELECT max(step) FROM images WHERE model_id=? AND name=?",
                               (mid, name)).fetchone()
            step = 0 if row[0] is None else row[0] + 1
        when = now if when is None else when
        conn.execute("INSERT INTO images(model_id, name, step, time, sha, width, height) "
                     "VALUES(?, ?, ?, ?, ?, ?, ?)", (mid, name, step, when, sha, width, height))
        return {"model": model, "name": name, "step": step, "time": when, "sha": sha,
                "width": width, "height": height}

    def blob_path(self, sha):
        """Path of the image file with this sha256 (hex, checked by the caller)."""
        return os.path.join(self.image_dir, sha[:2], sha[2:] + ".png")

    def read_blob(self, sha):
        """The PNG bytes stored under ``sha``, or ``None``."""
        try:
            with open(self.blob_path(sha), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    # -- deleting ----------------------------------------------------------------

    def delete_series(self, model, name):
        """Delete one series; returns how many points went."""
        try:
            return self._transaction(self._delete_series, model, name)
        finally:
            self._agg_cache.clear()   # (its id may go to a new series)

    def _delete_series(self, conn, model, name):
        row = conn.execute(
            "SELECT s.id, s.count FROM series s JOIN models m ON m.id=s.model_id "
            "WHERE m.name=? AND s.name=?", (model, name)).fetchone()
        if row is None:
            return 0
        for table, key in (("chunks", "series_id"), ("agg", "series_id"),
                           ("run_offsets", "series_id"), ("series", "id")):
            conn.execute(f"DELETE FROM {table} WHERE {key}=?", (row[0],))
        self._delta[0] -= 1
        self._delta[1] -= row[1]
        return row[1]

    def delete_images(self, model, name):
        """Delete every image of one image name; returns how many went.

        Blob files that no image refers to any more are removed after the commit, so a
        crash in between leaves at worst an orphan file (``gc`` sweeps it), never a row
        without its file.
        """
        gone, shas = self._transaction(self._delete_images, model, name)
        self._drop_unused_blobs(shas)
        return gone

    def _delete_images(self, conn, model, name):
        where = "name=? AND model_id=(SELECT id FROM models WHERE name=?)"
        shas = {r[0] for r in conn.execute(f"SELECT DISTINCT sha FROM images WHERE {where}",
                                           (name, model))}
        return conn.execute(f"DELETE FROM images WHERE {where}", (name, model)).rowcount, shas

    def _drop_unused_blobs(self, shas):
        """Unlink the blob files among ``shas`` that no image row refers to."""
        if not shas:
            return
        conn = self._w
        for sha in shas:
            if conn.execute("SELECT 1 FROM images WHERE sha=? LIMIT 1", (sha,)).fetchone():
                continue
            try:
                os.unlink(self.blob_path(sha))
            except FileNotFoundError:
                pass
            except OSError as exc:  # left for gc; the rows are already gone
                log.warning("could not remove unused image %s: %s", sha, exc)

    def delete_model(self, model):
        """Delete a model with all its series and images; returns points + images."""
        try:
            gone, shas = self._transaction(self._delete_model, model)
        finally:
            self._agg_cache.clear()
        self._drop_unused_blobs(shas)
        return gone

    def _delete_model(self, conn, model):
        row = conn.execute("SELECT id FROM models WHERE name=?", (model,)).fetchone()
        if row is None:
            return 0, set()
        mid = row[0]
        shas = {r[0] for r in conn.execute("SELECT DISTINCT sha FROM images WHERE model_id=?",
                                           (mid,))}
        gone = 0
        for (name,) in conn.execute("SELECT name FROM series WHERE model_id=?",
                                    (mid,)).fetchall():
            gone += self._delete_series(conn, model, name)
        gone += conn.execute("DELETE FROM images WHERE model_id=?", (mid,)).rowcount
        had_run = conn.execute("DELETE FROM runs WHERE model_id=?", (mid,)).rowcount
        gone += self._delete_model_histograms(conn, mid)
        conn.execute("DELETE FROM models WHERE id=?", (mid,))
        gone += had_run
        return gone or 1, shas

    def gc(self):
        """Remove image files no row refers to, and temporary files of killed uploads.

        Returns
        -------
        dict
            ``{"blobs": n, "tmp": n, "bytes": n}`` removed.
        """
        used = {r[0] for r in self._w.execute("SELECT DISTINCT sha FROM images")}
        removed = {"blobs": 0, "tmp": 0, "bytes": 0}
        for folder, _, files in os.walk(self.image_dir):
            for fname in files:
                path = os.path.join(folder, fname)
                sha = os.path.basename(folder) + fname[:-4]
                if fname.endswith(".tmp"):
                    kind = "tmp"
                elif fname.endswith(".png") and sha not in used:
                    kind = "blobs"
                else:
                    continue
                try:
                    size = os.path.getsize(path)
                    os.unlink(path)
                except OSError as exc:
                    log.warning("gc: could not remove %s: %s", path, exc)
                    continue
                removed[kind] += 1
                removed["bytes"] += size
        return removed

    def forget_batches(self, older_than=BATCH_MEMORY):
        """Drop batch ids older than ``older_than`` seconds."""
        cutoff = time.time() - older_than
        return self._transaction(lambda c: sum(c.execute(
            f"DELETE FROM {table} WHERE time < ?", (cutoff,)).rowcount
            for table in ("batch_keys", "batches")))

    # -- runs --------------------------------------------------------------------

    def write_runs(self, records):
        """Merge run records (checked by the route) into their runs; see ``Store``."""
        return self._transaction(self._write_runs, records)

    def _write_runs(self, conn, records):
        now = time.time()
        return [(r["model"], run_rows.apply_record(conn, "?", self._model_id(conn, r["model"], now),
                                               r, now)) for r in records]

    def patch_run(self, model, tags=None, notes=None):
        """Replace a run's tags and/or notes; its fields, or ``None`` for no such model."""
        return self._transaction(self._patch_run, model, tags, notes)

    @staticmethod
    def _patch_run(conn, model, tags, notes):
        row = conn.execute("SELECT id FROM models WHERE name=?", (model,)).fetchone()
        if row is None:
            return None
        return run_rows.patch_run(conn, "?", row[0], tags, notes, time.time())

    def runs(self, *, limit=None, after=None, contains=None, stale=run_rows.RUN_STALE_SECONDS):
        """A page of runs sorted by name (see ``Store.runs``)."""
        return self._read(lambda conn: run_rows.describe_runs(
            conn, "?", _in_ids, limit=limit, after=after, contains=contains, stale=stale))

    def run(self, name, *, stale=run_rows.RUN_STALE_SECONDS):
        """One run as :meth:`runs` lists it, or ``None``."""
        found = self._read(lambda conn: run_rows.describe_runs(conn, "?", _in_ids, name=name,
                                                           stale=stale))
        return found[0] if found else None

    # -- reading -----------------------------------------------------------------

    def models(self, *, limit=None, after=None, contains=None, series_limit=SERIES_PAGE):
        """Models with their series and image names, sorted by name (see ``Store``)."""
        sql, args = models_sql("?", "LIKE", after, contains, limit)
        return self._read(self._describe, sql, args, series_limit, None)

    def model(self, name, *, series_limit=SERIES_PAGE, series_after=None):
        """One model as :meth:`models` lists it (series after ``series_after``), or ``None``."""
        found = self._read(self._describe, "SELECT id, name, created FROM models WHERE name=?",
                           [name], series_limit, series_after)
        return found[0] if found else None

    def _describe(self, conn, sql, args, series_limit, series_after):
        """The models ``sql`` selects, with their series and images: work for those only."""
        out = {mid: {"name": name, "last_time": created, "series": [], "images": []}
               for mid, name, created in conn.execute(sql, args)}
        ids = list(out)
        for lo in range(0, len(ids), 500):
            part = ids[lo:lo + 500]
            marks = ",".join("?" * len(part))
            page, totals = series_page_sql(f"IN ({marks})", "?", series_after)
            after = [] if series_after is None else [series_after]
            attach_series(out, conn.execute(page, [*part, *after, series_limit + 1]).fetchall(),
                          conn.execute(totals, part).fetchall(), series_limit)
            for mid, name, count, first, last, when, sha in conn.execute(
                    "SELECT model_id, name, count(*), min(step), max(step), max(time), "
                    "(SELECT sha FROM images j WHERE j.model_id=i.model_id AND j.name=i.name "
                    " ORDER BY step DESC, id DESC LIMIT 1) "
                    f"FROM images i WHERE model_id IN ({marks}) GROUP BY model_id, name "
                    "ORDER BY name", part):
                out[mid]["images"].append({"name": name, "count": count, "first_step": first,
                                           "last_step": last, "last_time": when,
                                           "last_sha": sha})
            self._attach_histograms(conn, out, part)
        return describe_times(out)

    @staticmethod
    def _series_range(conn, model, name, x0, x1):
        """``(id, count, agg_level, x0, x1)`` with the range defaulting to the series'."""
        row = conn.execute(
            "SELECT s.id, s.count, s.min_step, s.max_step, s.agg_level FROM series s "
            "JOIN models m ON m.id=s.model_id WHERE m.name=? AND s.name=?",
            (model, name)).fetchone()
        if row is None:
            return None
        sid, count, smin, smax, base = row
        return (sid, count, base, smin if x0 is None else x0, smax if x1 is None else x1)

    def _points_in(self, conn, sid, x0, x1):
        """Decoded points of a series with ``x0 <= step <= x1``, in arrival order."""
        steps, values, times = self._decode_rows(conn.execute(
            "SELECT steps, vals, times FROM chunks WHERE series_id=? AND step_min<=? "
            "AND step_max>=? ORDER BY id", (sid, x1, x0)).fetchall())
        keep = (steps >= x0) & (steps <= x1)
        if keep.all():
            return steps, values, times
        return steps[keep], values[keep], times[keep]

    def read_series(self, model, name, x0=None, x1=None, *, limit=RAW_LIMIT, after=None):
        """Raw points in step order (ties in arrival order), a page at a time, or ``None``.

        Returns
        -------
        dict or None
            ``{"steps": int64 array, "values": float64 array, "times": float64 array,
            "seq": int, "next": cursor or None}``: at most ``limit`` points; pass
            ``next`` as ``after`` for the following page.
        """
        if limit < 1:
            raise BadRequest(f"limit must be at least 1, got {limit}")
        start, skip = _parse_cursor(after)
        return self._read(self._read_series, model, name, x0, x1, limit, start, skip)

    def _read_series(self, conn, model, name, x0, x1, limit, start, skip):
        meta = self._series_range(conn, model, name, x0, x1)
        if meta is None:
            return None
        sid, count, _, x0, x1 = meta
        if start is not None and start > x0:
            x0 = start
        elif start is not None and start < x0:
            skip = 0
        rows = conn.execute(
            "SELECT id, step_min, steps, vals, times FROM chunks WHERE series_id=? "
            "AND step_min<=? AND step_max>=? ORDER BY step_min, id", (sid, x1, x0))
        return raw_page(rows, x0, x1, limit, skip, count)

    def read_buckets(self, model, name, buckets, x0=None, x1=None):
        """Aggregates for a chart of ``buckets`` buckets over ``[x0, x1]``, or ``None``.

        Returns
        -------
        dict or None
            ``{"level": L, "count_total": n, "seq": n, "agg": {field: array}}``, exact
            as a scan of the raw points would give, with NaN where SQL has NULL.
        """
        if buckets < 1:
            raise BadRequest(f"buckets must be at least 1, got {buckets}")
        return self._read(self._read_buckets, model, name, buckets, x0, x1,
                          self._agg_cache.generation())

    def _read_buckets(self, conn, model, name, buckets, x0, x1, generation):
        meta = self._series_range(conn, model, name, x0, x1)
        if meta is None:
            return None
        sid, count, base, x0, x1 = meta
        if x1 < x0:
            raise BadRequest(f"x1 ({x1}) must not be below x0 ({x0})")
        level = bucket_level(x0, x1, buckets)
        lo, hi = (x0 >> level) << level, (((x1 >> level) + 1) << level) - 1
        if base is None or level < base:
            # from the raw points, remembered: the next load asks the same (aggcache.py)
            agg = self._agg_cache.remember(
                (sid, count, level, lo, hi), generation,
                lambda: aggregate(*self._points_in(conn, sid, lo, hi), level))
        else:
            stored = min(base + LEVELS_ABOVE, level)
            rows = conn.execute(
                "SELECT cell, count, nans, vmin, vmax, first, last, fstep, lstep, vsum, t0, t1 "
                "FROM agg WHERE series_id=? AND level=? AND cell BETWEEN ? AND ? ORDER BY cell",
                (sid, stored, lo >> stored, hi >> stored)).fetchall()
            agg = merge_levels(_columns(rows), level - stored)
        return {"level": level, "count_total": count, "seq": count, "agg": agg}

    def images(self, model, name):
        """Every image of one name in step order: list of dicts."""
        rows = self._r.execute(
            "SELECT i.step, i.time, i.sha, i.width, i.height FROM images i "
            "JOIN models m ON m.id=i.model_id WHERE m.name=? AND i.name=? "
            "ORDER BY i.step, i.id", (model, name)).fetchall()
        return [dict(zip(("step", "time", "sha", "width", "height"), r)) for r in rows]

    def total_points(self):
        """How many points the store holds (a count the writer keeps: no scan)."""
        return self._total

    def iter_series(self):
        """Yield ``(model, name)`` for every series, for export."""
        yield from self._r.execute(
            "SELECT m.name, s.name FROM series s JOIN models m ON m.id=s.model_id "
            "ORDER BY m.name, s.name").fetchall()

    def iter_images(self):
        """Yield ``(model, name, step, time, sha)`` for every image, for export."""
        yield from self._r.execute(
            "SELECT m.name, i.name, i.step, i.time, i.sha FROM images i "
            "JOIN models m ON m.id=i.model_id ORDER BY m.name, i.name, i.step, i.id").fetchall()

    def check(self):
        """Run SQLite's integrity check; returns ``"ok"`` or the problems found."""
        return "; ".join(r[0] for r in self._r.execute("PRAGMA integrity_check").fetchall())
