"""Client-side histograms: ``Log.histogram`` and ``pastalog.Histogram``.

The caller's thread only checks the values and copies them (a memcpy: about 0.1 ms
for 1,000,000 float32, see benchmarks/histogram_bench.py); the sender thread bins the
copy. Past ``MAX_PENDING_BYTES`` of copies waiting, a histogram is binned at once on
the caller's thread instead, so memory stays bounded whatever the caller does.

Binning (:func:`summarize`) is exact for the statistics: ``count``, ``min``, ``max``,
``sum`` and ``sumsq`` (float64, pairwise sums) of the finite values, with NaN, +inf and
-inf counted apart; the bins are ``bins`` equal-width bins over ``[min, max]`` (one
bin for a constant array, none when no value is finite: the record then has
``count`` 0 and NaN ``min``/``max``). An empty input gives such a record too. Values
are read ``CHUNK`` at a time, so 10**8 of them cost bounded extra memory.

numpy is needed (imported when a histogram is logged); torch tensors and anything
else with ``.detach().cpu().numpy()`` are taken without importing torch.
"""
import threading
from collections import deque

from .errors import InvalidValue

__all__ = ["CHUNK", "DEFAULT_BINS", "Histogram", "MAX_BINS", "MAX_PENDING_BYTES",
           "Pending", "summarize"]

DEFAULT_BINS = 64
#: Bins a record may have (the server's cap too).
MAX_BINS = 10_000
#: Values read at a time by :func:`summarize` (bounded extra memory: a few copies of this).
CHUNK = 1 << 22
#: Bytes of copied values that may wait for the sender; past it, bin on the caller's thread.
MAX_PENDING_BYTES = 64 << 20


def _numpy():
    try:
        import numpy
    except ImportError:
        raise ImportError("histograms need numpy: pip install numpy") from None
    return numpy


def _check_bins(bins):
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= MAX_BINS:
        raise InvalidValue(f"bins must be an integer from 1 to {MAX_BINS}, got {bins!r:.40}")
    return bins


def as_array(values, name="histogram"):
    """``values`` as a numeric numpy array (a view when possible), or ``InvalidValue``.

    Examples
    --------
    >>> as_array([[1, 2], [3]], "w")
    Traceback (most recent call last):
    ...
    pastalog.errors.InvalidValue: values for histogram 'w' must be numbers of a regular shape (a list, numpy array or tensor); got a ragged or mixed list
    """
    np = _numpy()
    if hasattr(values, "detach") and hasattr(values, "cpu"):   # a torch tensor
        values = values.detach().cpu()
        if str(getattr(values, "dtype", "")) == "torch.bfloat16":
            values = values.float()
        values = values.numpy()
    if isinstance(values, (str, bytes, dict)) or values is None:
        raise InvalidValue(f"values for histogram {name!r} must be numbers (a list, numpy "
                           f"array or tensor), got {type(values).__name__}")
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError):
        raise InvalidValue(f"values for histogram {name!r} must be numbers of a regular shape "
                           "(a list, numpy array or tensor); got a ragged or mixed list") \
            from None
    if arr.dtype.kind not in "biuf":
        raise InvalidValue(f"values for histogram {name!r} must be real numbers, got an "
                           f"array of {arr.dtype}")
    return arr.reshape(-1)


def summarize(arr, bins=DEFAULT_BINS, chunk=CHUNK):
    """The record of ``arr`` (any shape, numeric): bins and exact statistics.

    Returns
    -------
    dict
        ``edges`` (``nbins + 1``) and ``counts`` (``nbins``) as float64 arrays,
        ``count``, ``min``, ``max``, ``sum``, ``sumsq``, ``nan``, ``posinf``, ``neginf``.

    Examples
    --------
    >>> import numpy as np
    >>> r = summarize(np.array([0.0, 1.0, 1.0, 4.0, np.nan, np.inf]), bins=2)
    >>> r["edges"].tolist(), r["counts"].tolist(), r["count"], r["sumsq"], r["nan"]
    ([0.0, 2.0, 4.0], [3.0, 1.0], 4, 18.0, 1)
    >>> summarize(np.array([]))["count"], summarize(np.full(3, 7.0))["counts"].tolist()
    (0, [3.0])
    """
    np = _numpy()
    arr = np.asarray(arr).reshape(-1)
    n = len(arr)
    count = nan = posinf = neginf = 0
    vmin, vmax, total, squares = np.inf, -np.inf, 0.0, 0.0
    exact = arr.dtype.kind in "biu"
    for lo in range(0, n, chunk):
        part = arr[lo:lo + chunk].astype(np.float64)
        if not exact:
            finite = np.isfinite(part)
            bad = len(part) - int(np.count_nonzero(finite))
            if bad:
                nans = int(np.count_nonzero(np.isnan(part)))
                pos = int(np.count_nonzero(part == np.inf))
                nan, posinf, neginf = nan + nans, posinf + pos, neginf + bad - nans - pos
                part = part[finite]
        if not len(part):
            continue
        count += len(part)
        vmin, vmax = min(vmin, float(part.min())), max(vmax, float(part.max()))
        total += float(part.sum())
        squares += float(np.dot(part, part))
    stats = {"count": count, "sum": total, "sumsq": squares, "nan": nan, "posinf": posinf,
             "neginf": neginf}
    if not count:
        return {"edges": np.empty(0), "counts": np.empty(0), "min": float("nan"),
                "max": float("nan"), **stats, "sum": 0.0, "sumsq": 0.0}
    if vmin == vmax:
        return {"edges": np.array([vmin, vmax]), "counts": np.array([float(count)]),
                "min": vmin, "max": vmax, **stats}
    edges = np.linspace(vmin, vmax, bins + 1)
    counts = np.zeros(bins, np.int64)
    for lo in range(0, n, chunk):
        part = arr[lo:lo + chunk]
        if not exact and (nan or posinf or neginf):
            part = part[np.isfinite(part)]
        counts += np.histogram(part, bins=bins, range=(vmin, vmax))[0]
    return {"edges": edges, "counts": counts.astype(np.float64), "min": vmin, "max": vmax,
            **stats}


class Histogram:
    """Values to log as one histogram record: ``pastalog.log({"w": Histogram(v)})``.

    The values are copied now (later changes to them do not count) and binned on the
    sender thread.

    Parameters
    ----------
    values : list, numpy array or tensor
        Any shape; NaN and ±inf are counted apart.
    bins : int
        Equal-width bins over ``[min, max]`` of the finite values (1 to 10,000).

    Examples
    --------
    >>> h = Histogram([1.0, 2.0, float("nan")], bins=4)
    >>> r = h.record(); r["count"], r["nan"], len(r["counts"])
    (2, 1, 4)
    """

    __slots__ = ("bins", "_values", "_record", "nbytes")

    def __init__(self, values, bins=DEFAULT_BINS, *, _pending=None, _name="histogram"):
        self.bins = _check_bins(bins)
        arr = as_array(values, _name)
        self._record = None
        if _pending is not None and _pending.bytes + arr.nbytes > MAX_PENDING_BYTES:
            self._values, self.nbytes = None, 0
            self._record = summarize(arr, self.bins)     # too much waiting: bin now
        else:
            self._values = arr.copy()
            self.nbytes = arr.nbytes

    def record(self):
        """The binned record (computed once; the copied values are then released)."""
        if self._record is None:
            self._record = summarize(self._values, self.bins)
            self._values = None
        return self._record

    def __repr__(self):
        return f"Histogram(bins={self.bins})"


class Pending:
    """Histograms a Log has accepted and the sender has not taken, with their bytes."""

    def __init__(self):
        self._items = deque()
        self._lock = threading.Lock()
        self.bytes = 0

    def add(self, item):
        with self._lock:
            self._items.append(item)
            self.bytes += item[-1].nbytes

    def take(self):
        """Everything waiting (nothing if a signal handler holds the lock)."""
        if not self._lock.acquire(timeout=0.2):
            return []
        try:
            items = list(self._items)
            self._items.clear()
            self.bytes = 0
        finally:
            self._lock.release()
        return items

    def __len__(self):
        return len(self._items)
