"""Per-bucket aggregates of points, the one routine every chart query uses.

A bucket at level ``L`` holds the steps ``[k * 2**L, (k + 1) * 2**L - 1]``; its
aggregate is (count, nans, min, max, first, last, first step, last step, sum, t0,
t1). ``min``/``max``/``sum`` ignore NaN; ``first``/``last`` are the values at the
lowest/highest step, ties going to the first/last point to arrive.
"""
import numpy as np

__all__ = ["FIELDS", "aggregate", "merge_levels"]

FIELDS = ("cell", "count", "nans", "vmin", "vmax", "first", "last",
          "fstep", "lstep", "vsum", "t0", "t1")


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
    order = np.argsort(steps, kind="stable")
    return _reduce(steps[order], np.asarray(values, np.float64)[order],
                   np.asarray(times, np.float64)[order], level)


def _reduce(s, v, t, level):
    if len(s) == 0:
        return {name: np.empty(0) for name in FIELDS}
    cells = s >> level
    starts = np.flatnonzero(np.concatenate(([True], cells[1:] != cells[:-1])))
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
    }


def merge_levels(agg, shift):
    """Merge buckets of a stored level into buckets ``2**shift`` times as wide.

    ``agg`` is a dict as :func:`aggregate` returns, sorted by cell, with NaN
    standing for SQL NULL in ``vmin``/``vmax``/``first``/``last``/``vsum``.
    """
    if shift == 0 or len(agg["cell"]) == 0:
        return agg
    cells = agg["cell"] >> shift
    starts = np.flatnonzero(np.concatenate(([True], cells[1:] != cells[:-1])))
    ends = np.concatenate((starts[1:], [len(cells)])) - 1
    with np.errstate(invalid="ignore"):
        return {
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
