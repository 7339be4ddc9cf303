"""Bulk writes into PostgreSQL: which way of writing aggregate rows is fastest.

The PostgreSQL store writes its pyramid cells (about 3,200 rows for a 100,000-point
batch) in one of these ways; this measures each on the same rows, into an unlogged-free
(ordinary) table inside a transaction that is rolled back, median of ``--repeat`` runs:

- ``values``: multi-row ``INSERT ... VALUES (...), (...)``, 1,000 rows a statement;
- ``unnest``: one ``INSERT ... SELECT FROM unnest(array, array, ...)``, a column per array;
- ``copy``: ``COPY agg FROM STDIN`` (binary), one ``write_row`` a row;
- ``executemany``: psycopg's ``executemany`` (pipelined);
- ``values40_pipeline``: the store's merging UPSERT as it was before, 40 rows a
  statement, in pipeline mode (no round trip per statement; psycopg parses each again:
  it caches statements of at most 50 parameters);
- ``unnest_binary``: what the store does now (``postgres.insert_rows``): one ``INSERT
  ... SELECT * FROM unnest(%b, ...)`` whose arrays are built by numpy in PostgreSQL's
  binary array format (``pg_arrays``), a plain INSERT as the others but
  ``values40_pipeline``.

Usage: ``python benchmarks/pg_bulk.py postgresql://user@host:port/db``
"""
import statistics
import sys
import time

import numpy as np
import psycopg

sys.path.insert(0, __file__.rsplit("/benchmarks/", 1)[0])

from pastalog.server.store import pg_arrays  # noqa: E402
from pastalog.server.store.postgres import PostgresStore  # noqa: E402
from pastalog.server.store.pyramid import AGG_COLUMNS, pyramid_cells  # noqa: E402

TYPES = ("bigint", "integer", "bigint", "bigint", "bigint", "float8", "float8", "float8",
         "float8", "bigint", "bigint", "float8", "float8", "float8")


def rows_for(n, sid=1):
    steps = np.arange(n)
    values = np.random.default_rng(0).normal(size=n)
    return [(sid, lv, cell, *(None if x != x else x for x in rest))
            for lv, cell, rest in pyramid_cells(steps, values, np.full(n, 1.7e9), 6)]


def way_values(conn, rows):
    from pastalog.server.store.pyramid import agg_insert_sql

    for lo in range(0, len(rows), 1000):
        part = rows[lo:lo + 1000]
        conn.execute(agg_insert_sql("%s", rows=len(part)), [x for r in part for x in r])


def way_unnest(conn, rows):
    cols = list(zip(*rows))
    arrays = ", ".join(f"%s::{t}[]" for t in TYPES)
    conn.execute(f"INSERT INTO agg({', '.join(AGG_COLUMNS)}) SELECT * FROM unnest({arrays})",
                 [list(c) for c in cols])


def way_copy(conn, rows):
    with conn.cursor() as cur:
        with cur.copy(f"COPY agg({', '.join(AGG_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(list(TYPES))
            for r in rows:
                cp.write_row(r)


def way_executemany(conn, rows):
    marks = ", ".join(["%s"] * len(AGG_COLUMNS))
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO agg({', '.join(AGG_COLUMNS)}) VALUES ({marks})", rows)


def way_values40_pipeline(conn, rows):
    from pastalog.server.store.pyramid import agg_insert_sql

    with conn.pipeline():
        for lo in range(0, len(rows), 40):
            part = rows[lo:lo + 40]
            conn.execute(agg_insert_sql("%s", rows=len(part), merge=True),
                         [x for r in part for x in r])


def way_unnest_binary(conn, rows):
    from pastalog.server.store.postgres import insert_rows

    cols = {name: np.array([np.nan if x is None else x for x in col],
                           dtype=np.float64 if kind == "float8" else np.int64)
            for name, kind, col in zip(AGG_COLUMNS, TYPES_KIND, zip(*rows))}
    insert_rows(conn, cols, merge=False)


TYPES_KIND = tuple("float8" if t == "float8" else "int" for t in TYPES)

WAYS = {"unnest_binary": way_unnest_binary, "values40_pipeline": way_values40_pipeline,
        "values": way_values, "unnest": way_unnest, "copy": way_copy,
        "executemany": way_executemany}


def main(url, repeat=7, points=100_000):
    PostgresStore(url).close()   # the schema
    rows = rows_for(points)
    results = {}
    with psycopg.connect(url) as conn:
        pg_arrays.register(conn)
        for name, way in WAYS.items():
            times = []
            for _ in range(repeat):
                with conn.transaction(force_rollback=True):
                    t = time.perf_counter()
                    way(conn, rows)
                    times.append(time.perf_counter() - t)
            results[name] = statistics.median(times)
    print(f"{len(rows):,} aggregate rows ({points:,} points), median of {repeat}:")
    for name, sec in sorted(results.items(), key=lambda kv: kv[1]):
        print(f"  {name:12s} {sec * 1e3:8.1f} ms  {len(rows) / sec:>10,.0f} rows/s")
    return results


if __name__ == "__main__":
    main(sys.argv[1])
