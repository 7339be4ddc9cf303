"""A write's rows as one array per column: few statements, all of them cached.

The PostgreSQL store writes the rows of a batch (chunks, pyramid cells, series rows)
with one statement per table, ``INSERT ... SELECT * FROM unnest(%b, %b, ...)``, a
parameter per column. The arrays go in PostgreSQL's binary array format, built by
numpy from the columns (no Python object per value), through a dumper that hands the
bytes over as they are.

Why (measured on the 4-client ingest of ``benchmarks/pg_bench.py``, cProfile of a
server): a multi-row ``VALUES`` statement has a placeholder per value, and psycopg
caches its parse of a statement only up to 50 parameters; its 40-row, 560-parameter
INSERTs were parsed again on every call, which took 40 % of a server's time.

NaN in a float column is sent as SQL NULL, which the store's aggregate columns use for
"no value".
"""
import functools
import struct

import numpy as np

__all__ = ["array", "register", "unnest_sql"]

#: kind -> (element type oid, array type oid, element width, numpy big-endian dtype)
_KINDS = {
    "int8": (20, 1016, 8, ">i8"),
    "int4": (23, 1007, 4, ">i4"),
    "float8": (701, 1022, 8, ">f8"),
    "bytea": (17, 1001, None, None),
}


class PgArray(bytes):
    """One-dimensional array in PostgreSQL's binary format (``kind`` says its type)."""

    __slots__ = ()
    oid = 0


_CLASSES = {kind: type(f"PgArray_{kind}", (PgArray,), {"__slots__": (), "oid": oids[1]})
            for kind, oids in _KINDS.items()}


def array(kind, values):
    """``values`` as a binary array parameter of ``kind`` (int8, int4, float8, bytea).

    Examples
    --------
    >>> a = array("float8", [1.5, float("nan")])
    >>> struct.unpack(">iiiii", a[:20])    # ndim, has nulls, element oid, length, start
    (1, 1, 701, 2, 1)
    >>> struct.unpack(">id", a[20:32]), struct.unpack(">i", a[32:])   # 1.5, then NULL
    ((8, 1.5), (-1,))
    >>> array("bytea", [b"ab"])[20:]
    b'\\x00\\x00\\x00\\x02ab'
    """
    elem, _, width, dtype = _KINDS[kind]
    n = len(values)
    nulls = 0
    if kind == "bytea":
        body = b"".join(struct.pack(">i", len(b)) + bytes(b) for b in values)
    else:
        rec = np.empty(n, [("len", ">i4"), ("v", dtype)])
        rec["len"] = width
        rec["v"] = values
        if kind == "float8" and n and np.isnan(rec["v"]).any():
            nan = np.isnan(rec["v"])
            nulls = 1
            rec["len"][nan] = -1
            keep = np.ones((n, 4 + width), bool)
            keep[nan, 4:] = False        # a NULL is its length (-1) alone
            body = rec.view(np.uint8).reshape(n, 4 + width)[keep].tobytes()
        else:
            body = rec.tobytes()
    return _CLASSES[kind](struct.pack(">iiiii", 1, nulls, elem, n, 1) + body)


def unnest_sql(columns):
    """``SELECT * FROM unnest(%b, ...)``: rows from one array parameter per column.

    Examples
    --------
    >>> unnest_sql(("a", "b"))
    'SELECT * FROM unnest(%b, %b) AS u(a, b)'
    """
    return (f"SELECT * FROM unnest({', '.join(['%b'] * len(columns))}) "
            f"AS u({', '.join(columns)})")


@functools.lru_cache(maxsize=None)
def _dumpers():
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    return [(cls, type(f"{cls.__name__}Dumper", (Dumper,),
                       {"format": Format.BINARY, "oid": cls.oid,
                        "dump": lambda self, obj: obj}))
            for cls in _CLASSES.values()]


def register(conn):
    """Let ``conn`` send :func:`array` parameters (a pool's ``configure`` callback)."""
    for cls, dumper in _dumpers():
        conn.adapters.register_dumper(cls, dumper)
