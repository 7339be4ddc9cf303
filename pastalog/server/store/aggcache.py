"""A bounded, thread-safe memory of chart aggregates that a store computed from raw points.

A series of up to ``PYRAMID_AFTER`` points has no stored aggregates (nor has a longer
one below its lowest stored level): every chart query decodes all its points (about
1 ms for 10,000). The overview of 500 such runs asks for the same 500 answers on every
load; this keeps them. (Answers read from the stored levels are not kept: they cost
what they show.)

An answer is keyed by ``(series id, points in the series, level, first step, last
step)``. Points are only ever added (each one raises the count), so a key names one
content for as long as the series id does; a store clears the cache when it deletes a
series, since SQLite may give the id to a new series that could reach the same count.
``generation()`` is read before a read transaction begins and passed to :meth:`put`:
an answer read before a deletion is never stored after it.
"""
import threading
from collections import OrderedDict

__all__ = ["AggCache", "CACHE_BYTES"]

#: Bytes of aggregates kept (least recently used go first): 500 series of 300 buckets
#: take 15 MB.
CACHE_BYTES = 32 * 2**20


class AggCache:
    """Aggregates (dicts of numpy arrays, as :func:`pyramid.aggregate` returns) by key.

    Parameters
    ----------
    max_bytes : int
        What the stored arrays may take together.

    Examples
    --------
    >>> import numpy as np
    >>> cache = AggCache(max_bytes=100)
    >>> gen = cache.generation()
    >>> cache.put((1, 5, 0, 0, 4), {"cell": np.arange(5)}, gen)
    >>> cache.get((1, 5, 0, 0, 4))["cell"].tolist()
    [0, 1, 2, 3, 4]
    >>> cache.remember((1, 5, 0, 0, 4), gen, lambda: 1 / 0)["cell"].tolist()   # kept
    [0, 1, 2, 3, 4]
    >>> cache.clear(); cache.put((1, 5, 0, 0, 4), {"cell": np.arange(5)}, gen)
    >>> cache.get((1, 5, 0, 0, 4)) is None     # read before the clear: not kept
    True
    """

    def __init__(self, max_bytes: int = CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items = OrderedDict()
        self._bytes = 0
        self._gen = 0
        self._lock = threading.Lock()

    def generation(self) -> int:
        """The number of :meth:`clear` calls so far; pass it to :meth:`put`."""
        return self._gen

    def get(self, key):
        """The aggregate stored under ``key`` (read-only arrays), or ``None``."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found[0]
        return None

    def put(self, key, agg, generation: int) -> None:
        """Keep ``agg`` under ``key`` unless the cache was cleared since ``generation``."""
        size = sum(getattr(a, "nbytes", 0) for a in agg.values())
        if size > self.max_bytes:
            return
        for arr in agg.values():
            if hasattr(arr, "flags"):
                arr.flags.writeable = False   # shared by every answer from now on
        with self._lock:
            if generation != self._gen or key in self._items:
                return
            self._items[key] = (agg, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, gone) = self._items.popitem(last=False)
                self._bytes -= gone

    def remember(self, key, generation: int, compute):
        """The aggregate under ``key``, or ``compute()``'s, kept (as :meth:`put`)."""
        agg = self.get(key)
        if agg is None:
            agg = compute()
            self.put(key, agg, generation)
        return agg

    def clear(self) -> None:
        """Forget everything, and refuse what reads begun before now bring back."""
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self._gen += 1
