"""PostgresStore: every point and image in one PostgreSQL database, shared by servers.

Any number of stateless ``pastalog run --store postgresql://...`` servers share one
database. The layout follows the SQLite store's (the chunk codec and the pyramid
rules are the same shared code), with these differences:

- Images live in the database, content-addressed: ``blobs(sha, data)``, shared by
  every image row with that sha (a foreign key), removed when the last goes.
- ``stats(shard, series, points)``: the counts /healthz and ``--max-series`` read, in
  16 rows so that writers on different connections do not queue on one row; a
  write adds its changes to its connection's shard just before it commits.
- Concurrency: several servers write at once. A write locks, in this order, its batch
  id (a primary key), its models (``FOR KEY SHARE``, sorted by name) and its series
  (``FOR UPDATE`` on the series row, sorted by model and name), so two writers of one
  series take turns and writers never wait for each other in a cycle. A deadlock
  or serialization failure all the same is retried.
- A batch of points is one transaction in pipeline mode with a statement per table
  (chunks, series rows, new and merged pyramid cells), each from one binary array per
  column (``pg_arrays``): about five round trips whatever the batch holds.
- Failures of the database (restart, network cut) raise ``StorageError`` (503 for
  the app); the pool checks a connection before lending it, so the server recovers
  by itself once the database is back.

Schema versions live in ``meta``; a migration runs under an advisory lock so that
servers starting together upgrade once. A database whose schema is newer than this
code is refused in one line.
"""
import contextlib
import hashlib
import logging
import select
import time
import uuid

import numpy as np

from ...errors import BadRequest, StorageError
from . import codec, pg_arrays, pg_events
from .aggcache import AggCache
from . import runs as run_rows
from .base import (BATCH_MEMORY, DEFAULT_MAX_SERIES, RAW_LIMIT, Store, batch_key, png_size,
                   series_cap_error)
from .histograms import PG_SCHEMA as _HIST_SCHEMA
from .histograms import HistogramStore
from .pyramid import (AGG_COLUMNS, LEVELS_ABOVE, PYRAMID_AFTER, agg_insert_sql,
                      aggregate, bucket_level, merge_levels, overlapping, pyramid_columns,
                      pyramid_level)
from .rows import (SERIES_PAGE, attach_series, columns, decode_rows, describe_times,
                   models_sql, parse_cursor, raw_page, series_page_sql)

__all__ = ["SCHEMA_VERSION", "PostgresStore"]

log = logging.getLogger("pastalog.store")

SCHEMA_VERSION = 3
CHUNK_POINTS = 4096
MERGE_AFTER = 16
#: A chunk of fewer points is small: a run of ``MERGE_AFTER`` of them at a series' end
#: is merged into full chunks. Bigger ones stay as written: a chunk's row costs about
#: 150 bytes (under 0.3 a point from here up), and rewriting it would leave its old
#: version as dead bytes until vacuum and cost the writer a decode and an encode.
SMALL_CHUNK = CHUNK_POINTS // 8
#: Room left free in each page of ``agg`` for the new versions of the cells a write
#: merges into: with it, they are HOT updates on the same page, whose dead versions
#: any later visit of the page prunes, without vacuum and without a new index entry.
#: Measured (2M points, 10 series written 1,000 points at a time, one writer): 86 %
#: of cell updates HOT (2 % at 100), ``agg`` 7.64 bytes a point as written (9.46 at
#: 100), 6.22 after VACUUM FULL (5.71). Chunks' columns are stored EXTERNAL: the codec
#: compresses them already, so PostgreSQL need not try (sizes unchanged).
AGG_FILLFACTOR = 90
#: Rows of the ``stats`` table (see the module docstring).
STATS_SHARDS = 16
#: Key of the advisory lock held while the schema is created or migrated.
_MIGRATION_LOCK = 0x7061_7374_616c_6f67 >> 1   # "pastalog", as a bigint

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models(
    id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, created DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS series(
    id BIGSERIAL PRIMARY KEY, model_id BIGINT NOT NULL REFERENCES models(id),
    name TEXT NOT NULL, count BIGINT NOT NULL DEFAULT 0, min_step BIGINT, max_step BIGINT,
    last_step BIGINT, last_value DOUBLE PRECISION, last_time DOUBLE PRECISION,
    agg_level INTEGER, small_tail INTEGER NOT NULL DEFAULT 0, UNIQUE(model_id, name));
CREATE TABLE IF NOT EXISTS chunks(
    id BIGSERIAL PRIMARY KEY, series_id BIGINT NOT NULL, n INTEGER NOT NULL,
    step_min BIGINT NOT NULL, step_max BIGINT NOT NULL,
    steps BYTEA NOT NULL, vals BYTEA NOT NULL, times BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_series ON chunks(series_id, step_min);
ALTER TABLE chunks ALTER COLUMN steps SET STORAGE EXTERNAL,
    ALTER COLUMN vals SET STORAGE EXTERNAL, ALTER COLUMN times SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS agg(
    series_id BIGINT NOT NULL, level INTEGER NOT NULL, cell BIGINT NOT NULL,
    count BIGINT NOT NULL, nans BIGINT NOT NULL, vmin DOUBLE PRECISION,
    vmax DOUBLE PRECISION, first DOUBLE PRECISION, last DOUBLE PRECISION,
    fstep BIGINT NOT NULL, lstep BIGINT NOT NULL, vsum DOUBLE PRECISION,
    t0 DOUBLE PRECISION NOT NULL, t1 DOUBLE PRECISION NOT NULL,
    PRIMARY KEY(series_id, level, cell)) WITH (fillfactor = {AGG_FILLFACTOR});
CREATE TABLE IF NOT EXISTS blobs(sha TEXT PRIMARY KEY, data BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS images(
    id BIGSERIAL PRIMARY KEY, model_id BIGINT NOT NULL REFERENCES models(id),
    name TEXT NOT NULL, step BIGINT NOT NULL, time DOUBLE PRECISION NOT NULL,
    sha TEXT NOT NULL REFERENCES blobs(sha), width INTEGER NOT NULL,
    height INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS images_by_name ON images(model_id, name, step);
CREATE INDEX IF NOT EXISTS images_by_sha ON images(sha);
CREATE TABLE IF NOT EXISTS batch_keys(
    key BIGINT PRIMARY KEY, tag BIGINT NOT NULL, time BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS batches(id TEXT PRIMARY KEY, time DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS stats(
    shard INTEGER PRIMARY KEY, series BIGINT NOT NULL, points BIGINT NOT NULL);
INSERT INTO stats SELECT g, 0, 0 FROM generate_series(0, {STATS_SHARDS - 1}) g
    ON CONFLICT DO NOTHING;
"""

#: Schema changes by the version they bring; each runs once, in order, in the
#: transaction that bumps the version (a callable gets the connection).
_MIGRATIONS = {
    # runs: their table, implicit-step offsets, each series' min and max (from its points)
    2: lambda conn: ([conn.execute(sql) for sql in run_rows.schema_sql("postgresql")],
                     run_rows.backfill_minmax(conn, "%s", decode_rows)),
    3: _HIST_SCHEMA,   # histograms (store/histograms.py)
}

_SERIES_COLS = "id, count, min_step, max_step, last_step, agg_level, small_tail, vmin, vmax"
_SERIES_KEYS = ("id", "count", "min_step", "max_step", "last_step", "agg_level",
                "small_tail", "vmin", "vmax")
#: Columns of a chunk row as a write sends them, with their array kinds.
_CHUNK_COLS = (("series_id", "int8"), ("n", "int4"), ("step_min", "int8"),
               ("step_max", "int8"), ("steps", "bytea"), ("vals", "bytea"),
               ("times", "bytea"))
#: Columns of an aggregate row (``AGG_COLUMNS``) with their array kinds.
_AGG_KINDS = dict(zip(AGG_COLUMNS, ("int8", "int4", "int8", "int8", "int8", "float8",
                                    "float8", "float8", "float8", "int8", "int8",
                                    "float8", "float8", "float8")))
#: What a write sets in a series row, with array kinds (``id`` picks the row).
_SERIES_SET = (("id", "int8"), ("count", "int8"), ("min_step", "int8"),
               ("max_step", "int8"), ("last_step", "int8"), ("last_value", "float8"),
               ("last_time", "float8"), ("small_tail", "int4"), ("vmin", "float8"),
               ("vmax", "float8"))


def _in_ids(ids):
    return "= ANY(%s)", (ids,)


def _lock_key(model_id, name):
    """The advisory lock key of a series: 64 bits of a hash of its identity."""
    digest = hashlib.blake2b(f"{model_id}\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _check_connection(conn):
    """The pool's check before it lends a connection: psycopg_pool's (a round trip)
    only when the idle connection has something to read, which is how a server that
    ended it (restart, ``pg_terminate_backend``, shutdown) shows; else none."""
    from psycopg_pool import ConnectionPool

    if conn.closed or select.select([conn.fileno()], [], [], 0)[0]:
        ConnectionPool.check_connection(conn)


def normalise_url(url):
    """``postgres://`` as ``postgresql://`` (both name the same thing).

    Examples
    --------
    >>> normalise_url("postgres://u@h:5/db")
    'postgresql://u@h:5/db'
    """
    if url.lower().startswith("postgres://"):
        return "postgresql://" + url[len("postgres://"):]
    return url


def _shown(url):
    """The URL without its password, for messages."""
    if "@" in url and ":" in url.split("://", 1)[1].split("@", 1)[0]:
        scheme, rest = url.split("://", 1)
        user = rest.split("@", 1)[0].split(":", 1)[0]
        return f"{scheme}://{user}:***@{rest.split('@', 1)[1]}"
    return url


class PostgresStore(HistogramStore, Store):
    """The store shared by several servers: one PostgreSQL database.

    Parameters
    ----------
    url : str
        ``postgresql://user[:password]@host:port/db`` (``postgres://`` too).
    max_series : int
        Series the database accepts (``--max-series``); checked against the stats
        row when a write creates a series, so servers writing at once may pass it by
        a few.
    pool_size : int
        Connections at most, per process.
    timeout : float
        Seconds to wait for a connection before a call fails with ``StorageError``.
    lock : {"row", "advisory"}
        How a write holds its series: ``SELECT ... FOR UPDATE`` on the series row (the
        default) or ``pg_advisory_xact_lock`` on a hash of it. Every server on one
        database must use the same. Measured (benchmarks/pg_locks.py, 8 writers, two
        runs on this shared 2-core machine), points/s row vs advisory: on 4 shared
        series 55k/46k and 72k/82k, on series of their own 113k/129k and 128k/116k:
        equal within the noise; row locks need no hash (whose collisions would
        serialise unrelated series) and cover a series' creation as well.
    synchronous : ignored
        Durability is the database's (``synchronous_commit``); accepted so that the
        server opens every store alike.

    Examples
    --------
    ``Store("postgresql://pastalog@db:5432/pastalog")`` opens one (the tests run every
    store test on it, against a cluster of their own). Without a database at hand:

    >>> from pastalog.server.store.base import backend_for
    >>> backend_for("postgres://pastalog@db:5432/pastalog") is PostgresStore
    True
    >>> PostgresStore.concurrent   # the server runs its calls in request greenlets
    True
    """

    #: Its calls wait on sockets (cooperatively under gevent), so a server may run them
    #: in its request greenlets, concurrently, instead of on one writer thread.
    concurrent = True

    # for HistogramStore (store/histograms.py)
    _HMARK, _HLOCK, _HCOLLATE = "%s", " FOR UPDATE", ' COLLATE "C"'

    def _hist_tx(self, fn, *args):
        return self._run(fn, *args)

    @staticmethod
    def _hist_in(column, ids):
        return f"{column} = ANY(%s)", [list(ids)]

    def _hist_notify(self, conn, written):
        self._notify(conn, pg_events.histogram_payloads(self.origin, [r["id"] for r in written]))

    def __init__(self, url, *, max_series=DEFAULT_MAX_SERIES, pool_size=8, timeout=10.0,
                 synchronous=None, lock="row"):
        try:
            import psycopg
            import psycopg_pool
        except ImportError:
            raise ImportError("the PostgreSQL store needs psycopg: "
                              "pip install 'pastalog[postgresql]'") from None
        self._pg = psycopg
        #: Names this store object in its change notifications (see ``pg_events``).
        self.origin = uuid.uuid4().hex[:12]
        self.url = normalise_url(url)
        self.location = _shown(self.url)
        self.max_series = max_series
        # (ids are never reused here: the cache needs no clearing on deletes, even those
        # of another server, but clearing keeps it small)
        self._agg_cache = AggCache()
        if lock not in ("row", "advisory"):
            raise ValueError(f"lock must be 'row' or 'advisory', got {lock!r}")
        self.lock = lock
        self._timeout = timeout
        self._pool = psycopg_pool.ConnectionPool(
            self.url, min_size=1, max_size=pool_size, open=False, timeout=timeout,
            check=_check_connection, reconnect_timeout=3600,
            configure=pg_arrays.register, name="pastalog")
        self._pool_timeout = psycopg_pool.PoolTimeout
        try:
            self._pool.open(wait=True, timeout=timeout)
        except psycopg_pool.PoolTimeout as exc:
            self._pool.close()
            raise StorageError(f"cannot connect to {self.location} within {timeout:g} s")\
                from exc
        try:
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

    # -- connections and transactions --------------------------------------------

    def close(self):
        """Close the pool's connections."""
        self._pool.close()

    def _error(self, exc):
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StorageError(f"the database at {self.location} failed: {text}")

    def _run(self, fn, *args, snapshot=False, pipelined=False, retries=5):
        """Run ``fn(conn, *args)`` in one transaction; retried after a deadlock or a
        serialization failure; database errors become ``StorageError``.

        ``pipelined``: the whole transaction in pipeline mode, so that statements whose
        answers ``fn`` does not read wait for the next one it reads: BEGIN goes with
        the first statement, the stats row and the notifications with COMMIT (``fn``
        must read results by fetching them, not by ``rowcount``)."""
        pg = self._pg
        for attempt in range(retries):
            try:
                with self._pool.connection() as conn:
                    with conn.pipeline() if pipelined else contextlib.nullcontext():
                        with conn.transaction():
                            if snapshot:
                                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE "
                                             "READ, READ ONLY")
                            conn.pastalog_stats = delta = [0, 0]  # series, points added
                            conn.pastalog_notify = notes = []
                            result = fn(conn, *args)
                            if delta != [0, 0] or notes:
                                with contextlib.nullcontext() if pipelined else \
                                        conn.pipeline():   # one round trip for both
                                    self._finish_transaction(conn, delta, notes)
                    return result
            except (pg.errors.DeadlockDetected, pg.errors.SerializationFailure,
                    pg.errors.ForeignKeyViolation, pg.errors.UniqueViolation) as exc:
                # another server won a race (a blob removed under us, a series created
                # at the same moment): the whole transaction again sees its result
                if attempt == retries - 1:
                    raise self._error(exc) from exc
                time.sleep(0.002 * (attempt + 1))
            except pg.Error as exc:
                raise self._error(exc) from exc
            except self._pool_timeout as exc:
                raise StorageError(f"no connection to the database at {self.location} "
                                   f"within {self._timeout:g} s") from exc

    @staticmethod
    def _finish_transaction(conn, delta, notes):
        if delta != [0, 0]:   # last: the shard's row held briefly
            conn.execute("UPDATE stats SET series = series + %s, points = points + %s "
                         "WHERE shard = %s", (*delta, conn.info.backend_pid % STATS_SHARDS))
        for payload in notes:
            conn.execute("SELECT pg_notify(%s, %s)", (pg_events.CHANNEL, payload.decode()))

    def _migrate(self):
        self._run(self._do_migrate)

    def _do_migrate(self, conn):
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        exists = conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]
        if exists:
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"{self.location} has schema version {version}, newer than this "
                    f"pastalog understands ({SCHEMA_VERSION}); upgrade pastalog")
            if version == SCHEMA_VERSION:
                return
        conn.execute(_SCHEMA)
        conn.execute("INSERT INTO meta VALUES('schema_version', '1') ON CONFLICT DO NOTHING")
        version = int(conn.execute(
            "SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
        for target in range(version + 1, SCHEMA_VERSION + 1):
            step = _MIGRATIONS[target]
            if callable(step):
                step(conn)
            else:
                conn.execute(step)
            conn.execute("UPDATE meta SET value=%s WHERE key='schema_version'", (str(target),))

    def schema_version(self):
        """The schema version the database holds."""
        return int(self._run(lambda c: c.execute(
            "SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]))

    # -- writing points ----------------------------------------------------------

    def write_points(self, series, batch_id=None, session=None):
        """Store a batch of points atomically (see ``Store.write_points``)."""
        return self._run(self._write_points, series, batch_id, session, pipelined=True)

    @staticmethod
    def _seen_batch(conn, batch_id, now):
        """Whether ``batch_id`` was stored before (by any server); remembers it if not.

        The key is a primary key: a second server storing the same batch at once
        waits for the first to commit, then sees it.
        """
        if batch_id is None:
            return False
        key, tag = batch_key(batch_id)
        if conn.execute("INSERT INTO batch_keys VALUES(%s, %s, %s) ON CONFLICT DO NOTHING "
                        "RETURNING 1", (key, tag, int(now))).fetchone():
            return False
        row = conn.execute("SELECT tag FROM batch_keys WHERE key=%s", (key,)).fetchone()
        if row is not None and row[0] == tag:
            return True
        # another id with the same 64-bit key: keep this one in full
        return not conn.execute("INSERT INTO batches VALUES(%s, %s) ON CONFLICT DO NOTHING "
                                "RETURNING 1", (batch_id, now)).fetchone()

    def _write_points(self, conn, series, batch_id, session=None):
        now = time.time()
        if self._seen_batch(conn, batch_id, now):
            return {"points": 0, "duplicate": True, "series": []}
        prepared = []
        for model, name, steps, values, times, *relative in series:
            values = np.asarray(values, dtype=np.float64).reshape(-1)
            if len(values):
                prepared.append((model, name, steps, values, times,
                                 bool(relative and relative[0] and session is not None)))
        # locks in one order everywhere: models by name, then series by (model, name)
        model_ids = {m: self._model_id(conn, m, now)
                     for m in sorted({p[0] for p in prepared})}
        order = sorted(range(len(prepared)), key=lambda i: (prepared[i][0], prepared[i][1]))
        locked = self._lock_series(conn, [(model_ids[prepared[i][0]], prepared[i][1])
                                          for i in order])
        written = [None] * len(prepared)
        changes, plans = [], []
        total = 0
        for i in order:
            model, name, steps, values, times, relative = prepared[i]
            n = len(values)
            stats = locked[model_ids[model], name]
            if steps is None:
                start = 0 if stats["last_step"] is None else stats["last_step"] + 1
                steps = np.arange(start, start + n, dtype=np.int64)
            else:
                steps = np.asarray(steps, dtype=np.int64).reshape(-1)
                if relative and len(steps) == n:
                    steps = run_rows.apply_offset(conn, "%s", stats["id"], stats, session,
                                                  steps, now)
            times = (np.full(n, now) if times is None
                     else np.asarray(times, dtype=np.float64).reshape(-1))
            if len(steps) != n or len(times) != n:
                raise BadRequest(f"series {name!r}: steps, values and times differ in length")
            plan, after = self._plan(stats, steps, values, times)
            plans.append(plan)
            # a series twice in one batch: the second append starts where the first ends
            stats.update(count=after["count"], min_step=after["first_step"],
                         max_step=after["last_step"], last_step=int(steps[-1]),
                         small_tail=plan["tail"], vmin=plan["row"][-2], vmax=plan["row"][-1])
            total += n
            written[i] = (model, name, steps, values, times, {"name": name, **after})
            changes.append((model, name, after["seq"] - n, after["seq"]))
        self._apply(conn, plans)
        built = set()
        for plan in plans:
            self._finish(conn, plan, built)
        self._notify(conn, pg_events.point_payloads(self.origin, changes))
        return {"points": total, "duplicate": False, "series": written}

    @staticmethod
    def _notify(conn, payloads):
        """Tell the other servers (sent last; delivered when the transaction commits)."""
        conn.pastalog_notify.extend(payloads)

    @staticmethod
    def _model_id(conn, model, now):
        """The model's id, creating it; held ``FOR KEY SHARE`` so that it is not
        deleted under this write."""
        row = conn.execute("SELECT id FROM models WHERE name=%s FOR KEY SHARE",
                           (model,)).fetchone()
        if row:
            return row[0]
        row = conn.execute("INSERT INTO models(name, created) VALUES(%s, %s) "
                           "ON CONFLICT (name) DO NOTHING RETURNING id", (model, now)).fetchone()
        if row:
            return row[0]
        # created by another server meanwhile (its insert committed)
        return conn.execute("SELECT id FROM models WHERE name=%s FOR KEY SHARE",
                            (model,)).fetchone()[0]

    def _lock_series(self, conn, keys):
        """The rows of the series ``keys`` ((model id, name), in lock order), locked:
        ``{key: row dict}``. With row locks and every series there, one statement
        locks them all, in the order given (its sort sits under the locking); else one
        series at a time, creating those missing."""
        unique = list(dict.fromkeys(keys))
        if self.lock == "row" and unique:
            rows = conn.execute(
                f"SELECT k.ord, {', '.join('s.' + c for c in _SERIES_KEYS)} FROM "
                "unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS k(mid, name, ord) "
                "JOIN series s ON s.model_id=k.mid AND s.name=k.name ORDER BY k.ord "
                "FOR UPDATE OF s", ([k[0] for k in unique], [k[1] for k in unique])
            ).fetchall()
            if len(rows) == len(unique):
                return {unique[r[0] - 1]: dict(zip(_SERIES_KEYS, r[1:])) for r in rows}
        return {key: self._series_row(conn, *key) for key in unique}

    def _series_row(self, conn, model_id, name):
        """The series' row, locked (created if missing): ``FOR UPDATE``, or with
        ``lock="advisory"`` a transaction-level advisory lock on the series' key."""
        sql = f"SELECT {_SERIES_COLS} FROM series WHERE model_id=%s AND name=%s"
        if self.lock == "advisory":
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(model_id, name),))
        else:
            sql += " FOR UPDATE"
        row = conn.execute(sql, (model_id, name)).fetchone()
        if row is None:
            if self._count_series(conn) + conn.pastalog_stats[0] >= self.max_series:
                raise series_cap_error(self.max_series)
            row = conn.execute(
                "INSERT INTO series(model_id, name) VALUES(%s, %s) ON CONFLICT DO NOTHING "
                f"RETURNING {_SERIES_COLS}", (model_id, name)).fetchone()
            if row is None:   # another server created it meanwhile
                row = conn.execute(sql, (model_id, name)).fetchone()
            else:
                conn.pastalog_stats[0] += 1
        return dict(zip(_SERIES_KEYS, row))

    @staticmethod
    def _count_series(conn):
        return int(conn.execute("SELECT coalesce(sum(series), 0) FROM stats").fetchone()[0])

    def _plan(self, stats, steps, values, times):
        """What appending points to a locked series writes: ``(plan, stats after)``."""
        sid, n = stats["id"], len(steps)
        count = stats["count"] + n
        smin, smax = int(steps.min()), int(steps.max())
        if stats["min_step"] is not None:
            smin, smax = min(smin, stats["min_step"]), max(smax, stats["max_step"])
        last_value = float(values[-1])
        # the trailing run of small chunks, merged once it is MERGE_AFTER long
        last_chunk = n - (n - 1) // CHUNK_POINTS * CHUNK_POINTS
        tail = (0 if last_chunk >= SMALL_CHUNK else
                stats["small_tail"] + 1 if n <= CHUNK_POINTS else 1)
        level = stats["agg_level"]
        cells = None if level is None else self._cells(
            sid, level, steps, values, times, (stats["min_step"], stats["max_step"]))
        vmin, vmax = run_rows.merge_minmax(stats["vmin"], stats["vmax"], values)
        plan = {"sid": sid, "n": n, "count": count, "tail": tail, "cells": cells,
                "level": level, "span": smax - smin + 1,
                "chunks": _chunk_rows(sid, steps, values, times),
                "row": (sid, count, smin, smax, int(steps[-1]), last_value,
                        float(times[-1]), tail, vmin, vmax)}
        return plan, {"count": count, "seq": count, "first_step": smin, "last_step": smax,
                      "last_value": last_value, "last_time": float(times[-1])}

    def _apply(self, conn, plans):
        """Every plan's rows, a statement per table, queued (``_run`` runs a write in
        pipeline mode): chunks, series rows, new pyramid cells, merged ones. They go
        with the next statement whose answer is read, or with COMMIT. A series twice
        in a batch has its cells written in a second round (one statement may not
        merge into a row twice); its row is set once, to what its last plan leaves."""
        if not plans:
            return
        conn.pastalog_stats[1] += sum(p["n"] for p in plans)
        rows = {p["sid"]: p["row"] for p in plans}   # the last plan of a series wins
        rounds = []
        for plan in plans:
            if plan["cells"] is not None:
                free = next((r for r in rounds if plan["sid"] not in r), None)
                if free is None:
                    rounds.append(free := {})
                free[plan["sid"]] = plan["cells"]
        _insert_chunks(conn, [r for p in plans for r in p["chunks"]])
        conn.execute(
            f"UPDATE series s SET {', '.join(f'{c}=u.{c}' for c, _ in _SERIES_SET[1:])} "
            f"FROM ({pg_arrays.unnest_sql([c for c, _ in _SERIES_SET])}) u WHERE s.id=u.id",
            [pg_arrays.array(kind, col) for (_, kind), col
             in zip(_SERIES_SET, zip(*rows.values()))])
        for part in rounds:
            insert_rows(conn, _concat(part.values(), "fresh"), merge=False)
            insert_rows(conn, _concat(part.values(), "overlap"), merge=True)

    def _finish(self, conn, plan, built):
        """The rest of a plan: a merge of small chunks, the pyramid of a series that
        just grew past ``PYRAMID_AFTER``."""
        if plan["n"] < SMALL_CHUNK and plan["tail"] >= MERGE_AFTER:
            self._merge_small_chunks(conn, plan["sid"])
        if plan["level"] is None and plan["count"] > PYRAMID_AFTER \
                and plan["sid"] not in built:   # from every chunk: once per series
            built.add(plan["sid"])
            self._build_pyramid(conn, plan["sid"], plan["span"], plan["count"])

    def _merge_small_chunks(self, conn, sid):
        """Merge the trailing run of small chunks once it is long enough."""
        rows = conn.execute("SELECT id, n FROM chunks WHERE series_id=%s ORDER BY id DESC "
                            "LIMIT %s", (sid, MERGE_AFTER + 1)).fetchall()
        small = []
        for cid, n in rows:
            if n >= SMALL_CHUNK:
                break
            small.append(cid)
        if len(small) < MERGE_AFTER:
            return
        small.reverse()
        steps, values, times = decode_rows(conn.execute(
            "SELECT steps, vals, times FROM chunks WHERE id = ANY(%s) ORDER BY id",
            (small,)).fetchall())
        conn.execute("DELETE FROM chunks WHERE id = ANY(%s)", (small,))
        _insert_chunks(conn, _chunk_rows(sid, steps, values, times))
        conn.execute("UPDATE series SET small_tail=%s WHERE id=%s",
                      (int(0 < len(steps) % CHUNK_POINTS < SMALL_CHUNK), sid))

    def _build_pyramid(self, conn, sid, span, count):
        level = pyramid_level(span, count)
        steps, values, times = decode_rows(conn.execute(
            "SELECT steps, vals, times FROM chunks WHERE series_id=%s ORDER BY id",
            (sid,)).fetchall())
        conn.execute("UPDATE series SET agg_level=%s WHERE id=%s", (level, sid))
        self._add_to_pyramid(conn, sid, level, steps, values, times)

    def _add_to_pyramid(self, conn, sid, base, steps, values, times, old=None):
        """Add points to every stored level; ``old`` is the (min, max) step before them."""
        cells = self._cells(sid, base, steps, values, times, old)
        insert_rows(conn, cells["fresh"], merge=False)
        insert_rows(conn, cells["overlap"], merge=True)

    @staticmethod
    def _cells(sid, base, steps, values, times, old=None):
        """The pyramid rows a write adds, as columns (``AGG_COLUMNS``): ``{"fresh":
        ..., "overlap": ...}``. Cells outside ``old`` (the series' step range before
        it) cannot exist yet and take a plain INSERT; the few that may take the merging
        UPSERT (the shared ``agg_insert_sql``)."""
        cols = pyramid_columns(steps, values, times, base)
        cols["series_id"] = np.full(len(cols["cell"]), sid, np.int64)
        if old is None:
            return {"fresh": cols, "overlap": {k: v[:0] for k, v in cols.items()}}
        level, cell = cols["level"], cols["cell"]
        overlap = overlapping(level, cell, np.int64(old[0]), np.int64(old[1]))
        return {"fresh": {k: v[~overlap] for k, v in cols.items()},
                "overlap": {k: v[overlap] for k, v in cols.items()}}

    # -- images ------------------------------------------------------------------

    def write_image(self, model, name, png, step=None, when=None, batch_id=None):
        """Store a PNG image; returns its record (or ``None`` for a seen batch)."""
        width, height = png_size(png)
        sha = hashlib.sha256(png).hexdigest()
        return self._run(self._write_image, model, name, png, step, when, sha, width,
                         height, batch_id)

    def _write_image(self, conn, model, name, png, step, when, sha, width, height, batch_id):
        now = time.time()
        if self._seen_batch(conn, batch_id, now):
            return None
        mid = self._model_id(conn, model, now)
        # lock the blob row (made if missing): a delete elsewhere cannot remove it now
        if conn.execute("SELECT 1 FROM blobs WHERE sha=%s FOR KEY SHARE", (sha,)).fetchone() \
                is None:
            conn.execute("INSERT INTO blobs VALUES(%s, %s) ON CONFLICT DO NOTHING", (sha, png))
        if step is None:
            row = conn.execute("SELECT max(step) FROM images WHERE model_id=%s AND name=%s",
                               (mid, name)).fetchone()
            step = 0 if row[0] is None else row[0] + 1
        when = now if when is None else when
        conn.execute("INSERT INTO images(model_id, name, step, time, sha, width, height) "
                     "VALUES(%s, %s, %s, %s, %s, %s, %s)",
                     (mid, name, step, when, sha, width, height))
        record = {"model": model, "name": name, "step": step, "time": when, "sha": sha,
                  "width": width, "height": height}
        self._notify(conn, [pg_events.image_payload(self.origin, record)])
        return record

    def read_blob(self, sha):
        """The PNG bytes stored under ``sha``, or ``None``."""
        row = self._run(lambda c: c.execute("SELECT data FROM blobs WHERE sha=%s",
                                            (sha,)).fetchone())
        return None if row is None else bytes(row[0])

    # -- deleting ----------------------------------------------------------------

    def delete_series(self, model, name):
        """Delete one series; returns how many points went."""
        try:
            return self._run(self._delete_series, model, name)
        finally:
            self._agg_cache.clear()

    def _delete_series(self, conn, model, name):
        row = conn.execute(
            "SELECT s.id, s.count FROM series s JOIN models m ON m.id=s.model_id "
            "WHERE m.name=%s AND s.name=%s FOR UPDATE OF s", (model, name)).fetchone()
        if row is None:
            return 0
        for table, key in (("chunks", "series_id"), ("agg", "series_id"),
                           ("run_offsets", "series_id"), ("series", "id")):
            conn.execute(f"DELETE FROM {table} WHERE {key}=%s", (row[0],))
        conn.pastalog_stats[0] -= 1
        conn.pastalog_stats[1] -= row[1]
        return row[1]

    def delete_images(self, model, name):
        """Delete every image of one name, and the blobs nothing else uses."""
        return self._run(self._delete_images, model, name)

    def _delete_images(self, conn, model, name):
        shas = [r[0] for r in conn.execute(
            "DELETE FROM images WHERE name=%s AND model_id=(SELECT id FROM models "
            "WHERE name=%s) RETURNING sha", (name, model))]
        self._drop_unused_blobs(conn, shas)
        return len(shas)

    @staticmethod
    def _drop_unused_blobs(conn, shas):
        if shas:
            conn.execute("DELETE FROM blobs b WHERE sha = ANY(%s) AND NOT EXISTS "
                         "(SELECT 1 FROM images i WHERE i.sha=b.sha)", (sorted(set(shas)),))

    def delete_model(self, model):
        """Delete a model with all its series and images; returns points + images."""
        try:
            return self._run(self._delete_model, model)
        finally:
            self._agg_cache.clear()

    def _delete_model(self, conn, model):
        row = conn.execute("SELECT id FROM models WHERE name=%s FOR UPDATE",
                           (model,)).fetchone()
        if row is None:
            return 0
        mid = row[0]
        gone = 0
        for (name,) in conn.execute("SELECT name FROM series WHERE model_id=%s ORDER BY name",
                                    (mid,)).fetchall():
            gone += self._delete_series(conn, model, name)
        shas = [r[0] for r in conn.execute("DELETE FROM images WHERE model_id=%s RETURNING sha",
                                           (mid,))]
        self._drop_unused_blobs(conn, shas)
        gone += conn.execute("DELETE FROM runs WHERE model_id=%s", (mid,)).rowcount
        gone += self._delete_model_histograms(conn, mid)
        conn.execute("DELETE FROM models WHERE id=%s", (mid,))
        return gone + len(shas) or 1

    def gc(self):
        """Remove blobs no image refers to (none should exist: deletes remove them)."""
        gone = self._run(lambda c: c.execute(
            "DELETE FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM images i WHERE i.sha=b.sha) "
            "RETURNING length(data)").fetchall())
        return {"blobs": len(gone), "tmp": 0, "bytes": sum(r[0] for r in gone)}

    def forget_batches(self, older_than=BATCH_MEMORY):
        """Drop batch ids older than ``older_than`` seconds."""
        cutoff = time.time() - older_than
        return self._run(lambda c: sum(c.execute(
            f"DELETE FROM {table} WHERE time < %s", (cutoff,)).rowcount
            for table in ("batch_keys", "batches")))

    # -- runs --------------------------------------------------------------------

    def write_runs(self, records):
        """Merge run records (checked by the route) into their runs; see ``Store``."""
        return self._run(self._write_runs, records)

    def _write_runs(self, conn, records):
        now = time.time()
        ids = {m: self._model_id(conn, m, now) for m in sorted({r["model"] for r in records})}
        out = [(r["model"], run_rows.apply_record(conn, "%s", ids[r["model"]], r, now,
                                                  lock=" FOR UPDATE")) for r in records]
        self._notify(conn, [pg_events.run_payload(self.origin, sorted(ids))])
        return out

    def patch_run(self, model, tags=None, notes=None):
        """Replace a run's tags and/or notes; its fields, or ``None`` for no such model."""
        return self._run(self._patch_run, model, tags, notes)

    def _patch_run(self, conn, model, tags, notes):
        row = conn.execute("SELECT id FROM models WHERE name=%s FOR KEY SHARE",
                           (model,)).fetchone()
        if row is None:
            return None
        self._notify(conn, [pg_events.run_payload(self.origin, [model])])
        return run_rows.patch_run(conn, "%s", row[0], tags, notes, time.time(),
                                  lock=" FOR UPDATE")

    def runs(self, *, limit=None, after=None, contains=None,
             stale=run_rows.RUN_STALE_SECONDS):
        """A page of runs sorted by name (see ``Store.runs``)."""
        return self._read(lambda conn: run_rows.describe_runs(
            conn, "%s", _in_ids, limit=limit, after=after, contains=contains, like="ILIKE",
            collate=' COLLATE "C"', stale=stale, batch=10**9))

    def run(self, name, *, stale=run_rows.RUN_STALE_SECONDS):
        """One run as :meth:`runs` lists it, or ``None``."""
        found = self._read(lambda conn: run_rows.describe_runs(
            conn, "%s", _in_ids, name=name, collate=' COLLATE "C"', stale=stale))
        return found[0] if found else None

    # -- reading -----------------------------------------------------------------

    def _read(self, fn, *args):
        return self._run(fn, *args, snapshot=True)

    def models(self, *, limit=None, after=None, contains=None, series_limit=SERIES_PAGE):
        """Models with their series and image names, sorted by name (see ``Store``)."""
        sql, args = models_sql("%s", "ILIKE", after, contains, limit, ' COLLATE "C"')
        return self._read(self._describe, sql, args, series_limit, None)

    def model(self, name, *, series_limit=SERIES_PAGE, series_after=None):
        """One model as :meth:`models` lists it (series after ``series_after``), or ``None``."""
        found = self._read(self._describe, "SELECT id, name, created FROM models "
                           "WHERE name=%s", [name], series_limit, series_after)
        return found[0] if found else None

    def _describe(self, conn, sql, args, series_limit, series_after):
        out = {mid: {"name": name, "last_time": created, "series": [], "images": []}
               for mid, name, created in conn.execute(sql, args)}
        ids = list(out)
        if ids:
            page, totals = series_page_sql("= ANY(%s)", "%s", series_after, ' COLLATE "C"')
            after = [] if series_after is None else [series_after]
            attach_series(out, conn.execute(page, (ids, *after, series_limit + 1)).fetchall(),
                          conn.execute(totals, (ids,)).fetchall(), series_limit)
            for mid, name, count, first, last, when, sha in conn.execute(
                    "SELECT model_id, name, count(*), min(step), max(step), max(time), "
                    "(SELECT sha FROM images j WHERE j.model_id=i.model_id AND j.name=i.name "
                    " ORDER BY step DESC, id DESC LIMIT 1) "
                    "FROM images i WHERE model_id = ANY(%s) GROUP BY model_id, name "
                    'ORDER BY name COLLATE "C"', (ids,)):
                out[mid]["images"].append({"name": name, "count": count, "first_step": first,
                                           "last_step": last, "last_time": when,
                                           "last_sha": sha})
        self._attach_histograms(conn, out, ids)
        return describe_times(out)

    @staticmethod
    def _series_range(conn, model, name, x0, x1):
        row = conn.execute(
            "SELECT s.id, s.count, s.min_step, s.max_step, s.agg_level FROM series s "
            "JOIN models m ON m.id=s.model_id WHERE m.name=%s AND s.name=%s",
            (model, name)).fetchone()
        if row is None:
            return None
        sid, count, smin, smax, base = row
        return (sid, count, base, smin if x0 is None else x0, smax if x1 is None else x1)

    def read_series(self, model, name, x0=None, x1=None, *, limit=RAW_LIMIT, after=None):
        """Raw points in step order, a page at a time, or ``None`` (see ``Store``)."""
        if limit < 1:
            raise BadRequest(f"limit must be at least 1, got {limit}")
        start, skip = parse_cursor(after)
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
        with conn.cursor(name="chunks") as cur:   # server-side: read only what the page needs
            cur.itersize = 16
            cur.execute("SELECT id, step_min, steps, vals, times FROM chunks "
                        "WHERE series_id=%s AND step_min<=%s AND step_max>=%s "
                        "ORDER BY step_min, id", (sid, x1, x0))
            return raw_page(cur, x0, x1, limit, skip, count)

    def read_buckets(self, model, name, buckets, x0=None, x1=None):
        """Aggregates for a chart of ``buckets`` buckets over ``[x0, x1]`` (see ``Store``)."""
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
            def raw():
                steps, values, times = decode_rows(conn.execute(
                    "SELECT steps, vals, times FROM chunks WHERE series_id=%s AND step_min<=%s "
                    "AND step_max>=%s ORDER BY id", (sid, hi, lo)).fetchall())
                keep = (steps >= lo) & (steps <= hi)
                return aggregate(steps[keep], values[keep], times[keep], level)

            agg = self._agg_cache.remember((sid, count, level, lo, hi), generation, raw)
        else:
            stored = min(base + LEVELS_ABOVE, level)
            rows = conn.execute(
                "SELECT cell, count, nans, vmin, vmax, first, last, fstep, lstep, vsum, t0, t1 "
                "FROM agg WHERE series_id=%s AND level=%s AND cell BETWEEN %s AND %s "
                "ORDER BY cell", (sid, stored, lo >> stored, hi >> stored)).fetchall()
            agg = merge_levels(columns(rows), level - stored)
        return {"level": level, "count_total": count, "seq": count, "agg": agg}

    def read_arrivals(self, model, name, before, after):
        """The points with sequence numbers in ``(before, after]``, in arrival order.

        Returns ``(steps, values, times)``, or ``None`` when the series no longer holds
        them (deleted, or deleted and written again). Reads the newest chunks only:
        chunk ids grow in arrival order (a merge rewrites the newest ones, in order).
        """
        return self._read(self._read_arrivals, model, name, before, after)

    @staticmethod
    def _read_arrivals(conn, model, name, before, after):
        row = conn.execute(
            "SELECT s.id, s.count FROM series s JOIN models m ON m.id=s.model_id "
            "WHERE m.name=%s AND s.name=%s", (model, name)).fetchone()
        if row is None or row[1] < after:
            return None
        sid, count = row
        blobs, got = [], 0
        with conn.cursor(name="tail") as cur:
            cur.itersize = 8
            cur.execute("SELECT n, steps, vals, times FROM chunks WHERE series_id=%s "
                        "ORDER BY id DESC", (sid,))
            for n, *chunk in cur:
                blobs.append(chunk)
                got += n
                if got >= count - before:
                    break
        steps, values, times = decode_rows(blobs[::-1])
        lo, hi = before - (count - got), after - (count - got)
        return steps[lo:hi], values[lo:hi], times[lo:hi]

    def series_stats(self, model, name):
        """The series' row as ``write_points`` reports it after a write, or ``None``."""
        row = self._read(lambda c: c.execute(
            "SELECT s.count, s.min_step, s.max_step, s.last_value, s.last_time FROM series s "
            "JOIN models m ON m.id=s.model_id WHERE m.name=%s AND s.name=%s",
            (model, name)).fetchone())
        if row is None:
            return None
        count, smin, smax, last_value, last_time = row
        return {"name": name, "count": count, "seq": count, "first_step": smin,
                "last_step": smax, "last_time": last_time,
                "last_value": float("nan") if last_value is None else last_value}

    def images(self, model, name):
        """Every image of one name in step order: list of dicts."""
        rows = self._read(lambda c: c.execute(
            "SELECT i.step, i.time, i.sha, i.width, i.height FROM images i "
            "JOIN models m ON m.id=i.model_id WHERE m.name=%s AND i.name=%s "
            "ORDER BY i.step, i.id", (model, name)).fetchall())
        return [dict(zip(("step", "time", "sha", "width", "height"), r)) for r in rows]

    def total_points(self):
        """How many points the database holds: the 16 stats rows, no scan."""
        return int(self._read(lambda c: c.execute(
            "SELECT coalesce(sum(points), 0) FROM stats").fetchone()[0]))

    def series_count(self):
        """How many series the database holds (the stats rows)."""
        return self._read(self._count_series)

    def iter_series(self):
        """Yield ``(model, name)`` for every series, for export."""
        yield from self._read(lambda c: c.execute(
            "SELECT m.name, s.name FROM series s JOIN models m ON m.id=s.model_id "
            'ORDER BY m.name COLLATE "C", s.name COLLATE "C"').fetchall())

    def iter_images(self):
        """Yield ``(model, name, step, time, sha)`` for every image, for export."""
        yield from self._read(lambda c: c.execute(
            "SELECT m.name, i.name, i.step, i.time, i.sha FROM images i "
            'JOIN models m ON m.id=i.model_id ORDER BY m.name COLLATE "C", '
            'i.name COLLATE "C", i.step, i.id').fetchall())

    def check(self):
        """Cross-check the counts the stats rows keep against the tables."""
        def run(conn):
            kept = conn.execute("SELECT coalesce(sum(series), 0), coalesce(sum(points), 0) "
                                "FROM stats").fetchone()
            real = conn.execute("SELECT count(*), coalesce(sum(count), 0) FROM series"
                                ).fetchone()
            orphans = conn.execute("SELECT count(*) FROM chunks c WHERE NOT EXISTS "
                                   "(SELECT 1 FROM series s WHERE s.id=c.series_id)"
                                   ).fetchone()[0]
            problems = []
            if tuple(map(int, kept)) != tuple(map(int, real)):
                problems.append(f"stats say {kept[0]} series and {kept[1]} points, the "
                                f"tables hold {real[0]} and {real[1]}")
            if orphans:
                problems.append(f"{orphans} chunks belong to no series")
            return "; ".join(problems) or "ok"
        return self._read(run)


def _concat(parts, which):
    """The ``which`` ("fresh" or "overlap") columns of several ``_cells`` results."""
    parts = [p[which] for p in parts]
    return {k: np.concatenate([p[k] for p in parts]) for k in AGG_COLUMNS}


def _chunk_rows(sid, steps, values, times):
    """A series' new points as chunk rows (``_CHUNK_COLS``), packed by ``codec``."""
    rows = []
    for lo in range(0, len(steps), CHUNK_POINTS):
        s, v, t = (a[lo:lo + CHUNK_POINTS] for a in (steps, values, times))
        rows.append((sid, len(s), int(s.min()), int(s.max()), codec.encode_steps(s),
                     codec.encode_floats(v), codec.encode_times(t)))
    return rows


def _insert_chunks(conn, rows):
    """Insert chunk rows in one statement; their ids grow in the order given."""
    if rows:
        names = [c for c, _ in _CHUNK_COLS]
        conn.execute(f"INSERT INTO chunks({', '.join(names)}) {pg_arrays.unnest_sql(names)}",
                     [pg_arrays.array(kind, col) for (_, kind), col
                      in zip(_CHUNK_COLS, zip(*rows))])


def _agg_sql(merge):
    """``agg_insert_sql``'s statement (and merge rules) with its rows from arrays."""
    one = agg_insert_sql("%b")
    head = one.partition(" VALUES ")[0]
    rules = agg_insert_sql("%b", merge=merge)[len(one):]
    return f"{head} {pg_arrays.unnest_sql(AGG_COLUMNS)}{rules}"


_AGG_SQL = {merge: _agg_sql(merge) for merge in (False, True)}


def insert_rows(conn, cols, merge):
    """Write aggregate rows given as columns (``AGG_COLUMNS``) in one statement: a
    plain INSERT of new cells, or (``merge``) the shared merging UPSERT.

    Measured (benchmarks/pg_bulk.py, the 3,140 cells of a 100,000-point batch, median
    of 7, two runs on this shared 2-core machine at load 10 or more): binary COPY 66
    and 40 ms; ``unnest`` of binary arrays 96 and 78 ms (with the benchmark's own
    conversion of row tuples to numpy columns, which the store does not need);
    executemany 303 and 172 ms; ``unnest`` of psycopg-dumped lists 272 and 286 ms; the
    40-row merging VALUES statements of before in pipeline mode 805 and 1,527 ms
    (psycopg parses a statement of more than 50 parameters in Python each time).
    Arrays go in pipeline mode with a write's other statements; COPY cannot.
    """
    if len(cols["cell"]):
        conn.execute(_AGG_SQL[merge], [pg_arrays.array(_AGG_KINDS[k], cols[k])
                                       for k in AGG_COLUMNS])
