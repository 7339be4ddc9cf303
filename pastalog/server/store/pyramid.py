"""The aggregate (pyramid) rules every store shares: what a bucket holds, which level a
chart query reads, and which cells a write adds.

A bucket at level ``L`` holds the steps ``[k * 2**L, (k + 1) * 2**L - 1]``; its
aggregate is (count, nans, min, max, first, last, first step, last step, sum, t0,
t1). ``min``/``max``/``sum`` ignore NaN; ``first``/``last`` are the values at the
lowest/highest step, ties going to the first/last point to arrive.
"""
import numpy as np

__all__ = ["AGG_COLUMNS", "FIELDS", "LEVELS_ABOVE", "PYRAMID_AFTER", "aggregate",
           "agg_insert_sql", "bucket_level", "merge_levels", "overlapping", "pyramid_cells",
           "pyramid_columns", "pyramid_columns_many", "pyramid_level"]

#: A series gets a pyramid once it holds more than this many points.
PYRAMID_AFTER = 16384
#: Stored levels: the series' base level and this many above it (higher ones merge on
#: read).
LEVELS_ABOVE = 20

FIELDS = ("cell", "count", "nans", "vmin", "vmax", "first", "last",
          "fstep", "lstep", "vsum", "t0", "t1")
#: The columns of a store's ``agg`` table, in the order its rows are written.
AGG_COLUMNS = ("series_id", "level") + FIELDS

#: Merging an aggregate into the cell a store already holds: the rules of the module
#: docstring as SQL. CASE expressions only (no min()/max()/LEAST()/GREATEST()), so that
#: SQLite and PostgreSQL run the same text. SQL NULL stands for "no value" (NaN).
_MERGE = """
ON CONFLICT(series_id, level, cell) DO UPDATE SET
    count = agg.count + excluded.count,
    nans = agg.nans + excluded.nans,
    vmin = CASE WHEN agg.vmin IS NULL OR excluded.vmin < agg.vmin
                THEN excluded.vmin ELSE agg.vmin END,
    vmax = CASE WHEN agg.vmax IS NULL OR excluded.vmax > agg.vmax
                THEN excluded.vmax ELSE agg.vmax END,
    first = CASE WHEN excluded.fstep < agg.fstep THEN excluded.first ELSE agg.first END,
    fstep = CASE WHEN excluded.fstep < agg.fstep THEN excluded.fstep ELSE agg.fstep END,
    last = CASE WHEN excluded.lstep >= agg.lstep THEN excluded.last ELSE agg.last END,
    lstep = CASE WHEN excluded.lstep >= agg.lstep THEN excluded.lstep ELSE agg.lstep END,
    vsum = agg.vsum + excluded.vsum,
    t0 = CASE WHEN excluded.t0 < agg.t0 THEN excluded.t0 ELSE agg.t0 END,
    t1 = CASE WHEN excluded.t1 > agg.t1 THEN excluded.t1 ELSE agg.t1 END
"""


def agg_insert_sql(marker="?", rows=1, merge=False):
    """The statement that writes ``rows`` aggregate rows into a store's ``agg`` table.

    Parameters
    ----------
    marker : str
        The driver's placeholder: ``"?"`` (sqlite3) or ``"%s"`` (psycopg).
    rows : int
        Rows in one statement (a multi-row ``VALUES``).
    merge : bool
        Merge each row into a cell that exists already (the rules above); without it,
        a plain ``INSERT`` for cells that cannot exist yet.

    Examples
    --------
    >>> agg_insert_sql("%s", rows=2).count("%s")
    28
    >>> "ON CONFLICT" in agg_insert_sql(merge=True)
    True
    """
    one = "(" + ", ".join([marker] * len(AGG_COLUMNS)) + ")"
    sql = (f"INSERT INTO agg({', '.join(AGG_COLUMNS)}) VALUES "
           + ", ".join([one] * rows))
    return sql + _MERGE if merge else sql


def aggregate(steps, values, times, level):
    """Aggregate points (in arrival order) into the buckets of ``level``.

    Parameters
    ----------
    steps : ndarray of int64
    values, times : ndarray of float64
    level : int
        Bucket width is ``2**level`` steps.

    Returns
    -------
    dict of ndarray
        One array per name in ``FIELDS``, one entry per non-empty bucket, by cell.

    Examples
    --------
    >>> a = aggregate(np.array([0, 1, 2, 3]), np.array([1., np.nan, 5., 2.]),
    ...               np.zeros(4), level=1)
    >>> a["cell"].tolist(), a["vmax"].tolist(), a["nans"].tolist()
    ([0, 1], [1.0, 5.0], [1, 0])
    """
    steps = np.asarray(steps, dtype=np.int64)
    values, times = np.asarray(values, np.float64), np.asarray(times, np.float64)
    if (steps[1:] < steps[:-1]).any():   # (in order already, as most series are: no sort)
        order = np.argsort(steps, kind="stable")
        steps, values, times = steps[order], values[order], times[order]
    return _reduce(steps, values, times, level)


def _starts(cells, key):
    """Where each bucket starts: ``cells`` sorted, within runs of one ``key`` if given."""
    new = cells[1:] != cells[:-1]
    if key is not None:
        new |= key[1:] != key[:-1]
    return np.flatnonzero(np.concatenate(([True], new)))


def _reduce(s, v, t, level, key=None):
    """Buckets of sorted points; ``level`` may be an array (one per point), and ``key``
    (sorted, one per point) keeps the points of different series apart."""
    if len(s) == 0:
        return {name: np.empty(0, np.int64 if name == "key" else np.float64)
                for name in FIELDS + (() if key is None else ("key",))}
    cells = s >> level
    starts = _starts(cells, key)
    ends = np.concatenate((starts[1:], [len(s)])) - 1
    isnan = np.isnan(v)
    with np.errstate(invalid="ignore"):
        vsum = np.add.reduceat(np.where(isnan, 0.0, v), starts)
    return {
        "cell": cells[starts],
        "count": ends - starts + 1,
        "nans": np.add.reduceat(isnan.astype(np.int64), starts),
        "vmin": np.fmin.reduceat(v, starts),
        "vmax": np.fmax.reduceat(v, starts),
        "first": v[starts],
        "last": v[ends],
        "fstep": s[starts],
        "lstep": s[ends],
        "vsum": vsum,
        "t0": np.minimum.reduceat(t, starts),
        "t1": np.maximum.reduceat(t, starts),
        **({} if key is None else {"key": key[starts]}),
    }


def merge_levels(agg, shift):
    """Merge buckets of a stored level into buckets ``2**shift`` times as wide.

    ``agg`` is a dict as :func:`aggregate` returns, sorted by cell, with NaN
    standing for SQL NULL in ``vmin``/``vmax``/``first``/``last``/``vsum``; with a
    ``key`` array (several series, sorted by key, then cell), per key.
    """
    if shift == 0 or len(agg["cell"]) == 0:
        return agg
    cells = agg["cell"] >> shift
    key = agg.get("key")
    starts = _starts(cells, key)
    ends = np.concatenate((starts[1:], [len(cells)])) - 1
    with np.errstate(invalid="ignore"):
        return {
            **({} if key is None else {"key": key[starts]}),
            "cell": cells[starts],
            "count": np.add.reduceat(agg["count"], starts),
            "nans": np.add.reduceat(agg["nans"], starts),
            "vmin": np.fmin.reduceat(agg["vmin"], starts),
            "vmax": np.fmax.reduceat(agg["vmax"], starts),
            "first": agg["first"][starts],
            "last": agg["last"][ends],
            "fstep": agg["fstep"][starts],
            "lstep": agg["lstep"][ends],
            "vsum": np.add.reduceat(agg["vsum"], starts),
            "t0": np.minimum.reduceat(agg["t0"], starts),
            "t1": np.maximum.reduceat(agg["t1"], starts),
        }


def pyramid_level(span, count):
    """The lowest stored level for a series: buckets of about 64 points or more.

    Examples
    --------
    >>> pyramid_level(span=100_000, count=100_000)
    6
    """
    spacing = max(1.0, span / max(count, 1))
    return max(0, int(np.ceil(np.log2(64 * spacing))))


def bucket_level(x0, x1, buckets):
    """The smallest level at which ``[x0, x1]`` spans at most ``buckets`` buckets.

    Cells -1 and 0 never merge: a range across step 0 takes at least two buckets.

    Examples
    --------
    >>> bucket_level(0, 999, 1000), bucket_level(0, 1000, 1000), bucket_level(-1, 0, 1)
    (0, 1, 0)
    """
    level = 0
    while ((x1 >> level) - (x0 >> level) + 1 > buckets
           and not (x0 >> level == -1 and x1 >> level == 0)):
        level += 1
    return level


def pyramid_columns(steps, values, times, base, levels_above=LEVELS_ABOVE):
    """The cells a write touches at every stored level, as columns: ``level`` and
    ``FIELDS`` (numpy arrays); a store merges each row into the cell it may already
    hold with the rules in the module docstring.

    Examples
    --------
    >>> cols = pyramid_columns(np.array([0, 1]), np.array([1., 2.]), np.zeros(2), 0, 2)
    >>> cols["level"].tolist(), cols["cell"].tolist(), cols["count"].tolist()
    ([0, 0, 1, 2], [0, 1, 0, 0], [1, 1, 2, 2])
    """
    cols = pyramid_columns_many([(base, steps, values, times)], levels_above)
    del cols["key"]
    return cols


def pyramid_columns_many(parts, levels_above=LEVELS_ABOVE):
    """:func:`pyramid_columns` of several series at once (a group of writes): a few
    numpy calls a level for all of them instead of for each.

    Parameters
    ----------
    parts : list of (base, steps, values, times)
        One series' new points and its base level each (each part its own series).

    Returns
    -------
    dict of ndarray
        ``key`` (the part's index), ``level`` and ``FIELDS``, by key, level, cell.

    Examples
    --------
    >>> cols = pyramid_columns_many([(0, np.array([0, 1]), np.array([1., 2.]), np.zeros(2)),
    ...                              (1, np.array([5]), np.array([3.]), np.zeros(1))], 1)
    >>> cols["key"].tolist(), cols["level"].tolist(), cols["cell"].tolist()
    ([0, 0, 0, 1, 1], [0, 0, 1, 1, 2], [0, 1, 0, 2, 1])
    """
    bases = np.array([p[0] for p in parts], dtype=np.int64)
    sizes = [len(p[1]) for p in parts]
    series = np.count_nonzero(sizes)
    if not series:
        return {k: np.empty(0, np.int64 if k in ("key", "level", "cell") else np.float64)
                for k in ("key", "level") + FIELDS}
    key = np.repeat(np.arange(len(parts)), sizes)
    steps, values, times = (np.concatenate([np.asarray(p[i], dtype) for p in parts])
                            for i, dtype in ((1, np.int64), (2, np.float64), (3, np.float64)))
    order = np.lexsort((steps, key))   # by series, then step; ties in arrival order
    key = key[order]
    agg = _reduce(steps[order], values[order], times[order], bases[key], key)
    out = []
    for above in range(levels_above + 1):
        if len(agg["cell"]) == series:
            # one cell a series: every level above holds the same aggregate
            rest = np.arange(above, levels_above + 1, dtype=np.int64)
            part = {name: np.tile(agg[name], len(rest)) for name in ("key",) + FIELDS}
            part["level"] = bases[part["key"]] + np.repeat(rest, series)
            part["cell"] = part["cell"] >> np.repeat(rest - above, series)
            out.append(part)
            break
        out.append({"level": bases[agg["key"]] + above, **agg})
        agg = merge_levels(agg, 1)
    cols = {k: np.concatenate([p[k] for p in out]) for k in ("key", "level") + FIELDS}
    order = np.lexsort((cols["cell"], cols["level"], cols["key"]))
    return {k: v[order] for k, v in cols.items()}


def overlapping(level, cell, lo, hi):
    """Whether each cell may exist already: it meets the step range ``[lo, hi]`` its
    series held before a write (numpy arrays, or numbers; ``(0, -1)``: none can).

    Examples
    --------
    >>> overlapping(np.array([0, 0, 1]), np.array([3, 10, 5]), 0, 9).tolist()
    [True, False, False]
    """
    return ((lo >> level) <= cell) & (cell <= (hi >> level))


def pyramid_cells(steps, values, times, base, levels_above=LEVELS_ABOVE):
    """:func:`pyramid_columns` as rows: ``(level, cell, aggregate_tuple)``, the tuple
    holding the ``FIELDS`` after ``cell`` as Python numbers.

    Examples
    --------
    >>> rows = list(pyramid_cells(np.array([0, 1]), np.array([1., 2.]), np.zeros(2), 0, 2))
    >>> [(level, cell, agg[0]) for level, cell, agg in rows]     # (level, cell, count)
    [(0, 0, 1), (0, 1, 1), (1, 0, 2), (2, 0, 2)]
    """
    cols = pyramid_columns(steps, values, times, base, levels_above)
    lists = [cols[name].tolist() for name in FIELDS]
    return zip(cols["level"].tolist(), lists[0], zip(*lists[1:]))
