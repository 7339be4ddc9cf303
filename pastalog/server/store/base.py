"""The ``Store`` interface: what the app, the hub, transfer and the benchmarks call.

A backend stores bytes and rows; the chunk codec (``codec``) and the aggregate rules
(``pyramid``) are shared by every backend. ``Store(location)`` opens the backend that
``location`` names (as ``pathlib.Path`` picks its flavour):

- a directory path, or ``sqlite:///abs/path``: :class:`~.sqlite.SQLiteStore`;
- ``postgresql://user@host:port/db`` (or ``postgres://``):
  :class:`~.postgres.PostgresStore`, one database shared by several servers.

Sequence numbers: every stored point of a series has one, its order of arrival
(1, 2, 3, ...). A series' ``seq`` is the sequence number of its last point, which is
also how many points it holds (points are only ever deleted with their whole series,
and a deleted series starts again from 0). Read answers carry the ``seq`` of the
snapshot they were read from, so a page merges live and fetched points exactly once.
"""
import abc
import hashlib
import os
from typing import Any, Iterator, Optional, Sequence

from ...errors import BadRequest, LimitExceeded, StorageError
from ...limits import PNG_SIGNATURE, RUN_STALE_SECONDS
from .rows import SERIES_PAGE

__all__ = ["BATCH_MEMORY", "DEFAULT_MAX_SERIES", "RAW_LIMIT", "SeriesInput", "Store",
           "batch_key", "png_size", "series_cap_error"]

#: How long a batch id is remembered (a client retrying, or replaying its spool after
#: an outage, within this window is never stored twice), in seconds.
BATCH_MEMORY = 7 * 24 * 3600
#: Series a store accepts unless configured otherwise (``--max-series``).
DEFAULT_MAX_SERIES = 100_000
#: Raw points in one answer unless the caller asks for fewer (``limit``); a longer
#: series is read page by page with the answer's ``next`` cursor.
RAW_LIMIT = 100_000


def batch_key(batch_id: str) -> "tuple[int, int]":
    """A batch id as ``(key, tag)``: 64 and 32 bits of its BLAKE2b hash.

    Stores keep these ~15 bytes instead of the id's ~50: two ids share a key with
    probability 2**-64, and are told apart by the tag (and then by their full text, kept
    only in that case), so no batch is ever taken for another.

    Examples
    --------
    >>> key, tag = batch_key("a1b2")
    >>> -2**63 <= key < 2**63 and 0 <= tag < 2**32
    True
    """
    digest = hashlib.blake2b(batch_id.encode(), digest_size=12).digest()
    return int.from_bytes(digest[:8], "big", signed=True), int.from_bytes(digest[8:], "big")


def series_cap_error(cap: int) -> LimitExceeded:
    """The error for a write that would create a series past the store's cap."""
    return LimitExceeded(f"this server holds its maximum of {cap:,} series (--max-series); "
                         "delete old runs or raise the cap")

#: One series of a batch: ``(model, name, steps or None, values, times or None)``.
SeriesInput = tuple


def png_size(data: bytes) -> "tuple[int, int]":
    """Return ``(width, height)`` of PNG bytes, or raise ``BadRequest``.

    Examples
    --------
    >>> png_size(b"not a png")
    Traceback (most recent call last):
    ...
    pastalog.errors.BadRequest: body is not a PNG image (no PNG signature and IHDR header)
    """
    if len(data) < 24 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise BadRequest("body is not a PNG image (no PNG signature and IHDR header)")
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    if not (0 < width <= 65535 and 0 < height <= 65535):
        raise BadRequest(f"PNG size {width}x{height} is out of range")
    return width, height


class Store(abc.ABC):
    """Every point, image, histogram and model, durable; one interface, several backends.

    ``Store(location, **options)`` opens the backend ``location`` names (see the
    module docstring). Writes (``write_*``, ``delete_*``, ``forget_batches``, ``gc``)
    are called from one thread at a time; reads from any.

    Examples
    --------
    >>> import tempfile
    >>> store = Store(tempfile.mkdtemp())
    >>> type(store).__name__
    'SQLiteStore'
    >>> store.write_points([("m", "loss", [0, 1], [2.5, 2.0], [1.0, 2.0])])["points"]
    2
    >>> answer = store.read_series("m", "loss")
    >>> answer["values"].tolist(), answer["seq"]
    ([2.5, 2.0], 2)
    >>> store.close()
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "Store":
        if cls is Store:
            location = args[0] if args else kwargs.get("location")
            cls = backend_for(location)
        return super().__new__(cls)

    # -- writing -----------------------------------------------------------------

    @abc.abstractmethod
    def write_points(self, series: Sequence[SeriesInput], batch_id: Optional[str] = None,
                     session: Optional[str] = None) -> "dict[str, Any]":
        """Store a batch of points atomically.

        Parameters
        ----------
        series : list of (model, name, steps, values, times[, relative])
            ``steps`` may be ``None`` (continue the series from its last step + 1);
            ``times`` may be ``None`` (now). Arrays or sequences of equal length.
            ``relative`` true (with ``session``): the steps are the session's implicit
            counters, shifted past the series' stored steps at the session's first
            batch (``store.runs.apply_offset``).
        batch_id : str, optional
            A batch stored before under the same id is not stored again.
        session : str, optional
            The client session (one ``Log``) the relative series come from.

        Returns
        -------
        dict
            ``{"points": n, "duplicate": bool, "series": [(model, name, steps,
            values, times, stats), ...]}`` where ``stats`` is the series' row after
            the write (``count``, ``seq``, ``first_step``, ``last_step``, ``last_value``,
            ``last_time``), for the live hub.
        """

    def write_points_group(self, requests: Sequence[tuple]) -> "list[Any]":
        """Store several batches of points, each as :meth:`write_points` alone would.

        The server's writer calls this with the requests that waited while it was
        busy; a backend may store them in one transaction (SQLite does), but each
        request's outcome is its own: a refused one changes nothing and fails no
        other, and none is answered as stored unless it was.

        Parameters
        ----------
        requests : list of (series, batch_id, session)
            :meth:`write_points`' arguments, in arrival order.

        Returns
        -------
        list
            Per request, in order: what :meth:`write_points` returns, or the exception
            it raises (an instance, to be raised where that request is answered).

        Examples
        --------
        >>> import tempfile
        >>> store = Store(tempfile.mkdtemp())
        >>> ok, bad = store.write_points_group([
        ...     ([("m", "loss", None, [2.5, 2.0], None)], "b1", None),
        ...     ([("m", "loss", [0, 1], [1.0], None)], "b2", None)])
        >>> ok["points"], type(bad).__name__
        (2, 'BadRequest')
        >>> store.close()
        """
        out: "list[Any]" = []
        for series, batch_id, session in requests:
            try:
                out.append(self.write_points(series, batch_id, session))
            except Exception as exc:  # noqa: BLE001 (its request's answer, raised there)
                out.append(exc)
        return out

    @abc.abstractmethod
    def write_image(self, model: str, name: str, png: bytes, step: Optional[int] = None,
                    when: Optional[float] = None,
                    batch_id: Optional[str] = None) -> "Optional[dict[str, Any]]":
        """Store a PNG image; returns its record (``None`` for a batch seen before)."""

    @abc.abstractmethod
    def write_histograms(self, records: Sequence["dict[str, Any]"],
                         batch_id: Optional[str] = None) -> "Optional[list[dict[str, Any]]]":
        """Store histogram records (checked by ``histograms.check_record``) atomically.

        Returns the stored records, each with its ``id``, ``model``, ``name``, ``step``
        and ``time`` (``None`` for a batch seen before). Shared SQL:
        :class:`~.histograms.HistogramStore`.
        """

    @abc.abstractmethod
    def read_histograms(self, model: str, name: str, x0: Optional[int] = None,
                        x1: Optional[int] = None,
                        limit: int = 200) -> "Optional[dict[str, Any]]":
        """``{"total", "records"}`` of one histogram name over ``[x0, x1]``, thinned to
        ``limit`` records evenly spread (first and last kept), or ``None``."""

    @abc.abstractmethod
    def delete_histograms(self, model: str, name: str) -> int:
        """Delete every record of one histogram name; returns how many went."""

    @abc.abstractmethod
    def iter_histograms(self) -> Iterator["tuple[str, str, dict[str, Any]]"]:
        """Yield ``(model, name, record)`` for every histogram record, for export."""

    @abc.abstractmethod
    def delete_series(self, model: str, name: str) -> int:
        """Delete one series; returns how many points went."""

    @abc.abstractmethod
    def delete_images(self, model: str, name: str) -> int:
        """Delete every image of one name (and blobs nothing else uses); returns how many."""

    @abc.abstractmethod
    def delete_model(self, model: str) -> int:
        """Delete a model with its series and images; returns points + images (0: none)."""

    @abc.abstractmethod
    def forget_batches(self, older_than: float) -> int:
        """Drop batch ids older than ``older_than`` seconds; returns how many."""

    @abc.abstractmethod
    def gc(self) -> "dict[str, int]":
        """Remove stored blobs and temporary files that nothing refers to."""

    # -- runs --------------------------------------------------------------------

    @abc.abstractmethod
    def write_runs(self, records: "list[dict[str, Any]]") -> "list[tuple[str, Any]]":
        """Merge run records (as ``store.runs.check_record`` returns them) into their
        runs, making models that do not exist; ``[(model, run row), ...]``."""

    @abc.abstractmethod
    def patch_run(self, model: str, tags: "Optional[list[str]]" = None,
                  notes: Optional[str] = None) -> Any:
        """Replace a run's tags and/or notes; its row, or ``None`` for no such model."""

    @abc.abstractmethod
    def runs(self, *, limit: Optional[int] = None, after: Optional[str] = None,
             contains: Optional[str] = None,
             stale: float = RUN_STALE_SECONDS) -> "list[dict[str, Any]]":
        """A page of runs (docs/API.md's RUN), sorted by name, each model once.

        ``limit``, ``after`` and ``contains`` as in :meth:`models`; a running run not
        heard from for ``stale`` seconds reads as crashed. Four queries per page.
        """

    @abc.abstractmethod
    def run(self, name: str, *, stale: float = RUN_STALE_SECONDS) -> "Optional[dict[str, Any]]":
        """One run as :meth:`runs` lists it, or ``None``."""

    # -- reading -----------------------------------------------------------------

    @abc.abstractmethod
    def models(self, *, limit: Optional[int] = None, after: Optional[str] = None,
               contains: Optional[str] = None,
               series_limit: int = SERIES_PAGE) -> "list[dict[str, Any]]":
        """Models with their series and image names, sorted by name.

        ``limit`` models at most, those named after ``after``, whose name contains
        ``contains`` (case-insensitive); each with its first ``series_limit`` series,
        ``series_count`` and ``series_next`` (the name to go on from with :meth:`model`,
        or ``None``). The cost is that of the page, not of the store.
        """

    @abc.abstractmethod
    def model(self, name: str, *, series_limit: int = SERIES_PAGE,
              series_after: Optional[str] = None) -> "Optional[dict[str, Any]]":
        """One model as :meth:`models` lists it (its series after ``series_after``)."""

    @abc.abstractmethod
    def read_series(self, model: str, name: str, x0: Optional[int] = None,
                    x1: Optional[int] = None, *, limit: int = RAW_LIMIT,
                    after: Optional[str] = None) -> "Optional[dict[str, Any]]":
        """Raw points in step order (ties in arrival order), at most ``limit``, or ``None``.

        Returns ``{"steps", "values", "times", "seq", "next"}`` (arrays; ``seq`` as
        above; ``next`` is the cursor to pass as ``after`` for the following page, or
        ``None`` after the last).
        """

    @abc.abstractmethod
    def read_buckets(self, model: str, name: str, buckets: int, x0: Optional[int] = None,
                     x1: Optional[int] = None) -> "Optional[dict[str, Any]]":
        """Aggregates for a chart of ``buckets`` buckets over ``[x0, x1]``, or ``None``.

        Returns ``{"level": L, "count_total": n, "seq": s, "agg": {field: array}}``,
        exact as a scan of the raw points would give, with NaN for "no value".
        """

    @abc.abstractmethod
    def images(self, model: str, name: str) -> "list[dict[str, Any]]":
        """Every image of one name in step order."""

    @abc.abstractmethod
    def read_blob(self, sha: str) -> Optional[bytes]:
        """The PNG bytes stored under ``sha`` (hex sha256), or ``None``."""

    @abc.abstractmethod
    def total_points(self) -> int:
        """How many points the store holds (cheap: no scan)."""

    @abc.abstractmethod
    def iter_series(self) -> Iterator["tuple[str, str]"]:
        """Yield ``(model, name)`` for every series, for export."""

    @abc.abstractmethod
    def iter_images(self) -> Iterator["tuple[str, str, int, float, str]"]:
        """Yield ``(model, name, step, time, sha)`` for every image, for export."""

    def series_pages(self, model: str, name: str) -> Iterator["dict[str, Any]"]:
        """Every page of one series' raw points (:meth:`read_series` and its ``next``
        cursor), each read once; none once the series is gone (deleted meanwhile)."""
        after = None
        while True:
            data = self.read_series(model, name, after=after)
            if data is None:
                return
            yield data
            after = data["next"]
            if after is None:
                return

    def iter_runs(self, page: int = 1000) -> Iterator["dict[str, Any]"]:
        """Every run as :meth:`runs` lists it, ``page`` at a time, in name order."""
        after = None
        while True:
            found = self.runs(limit=page, after=after)
            yield from found
            if len(found) < page:
                return
            after = found[-1]["model"]

    @abc.abstractmethod
    def check(self) -> str:
        """Check the store's integrity; ``"ok"`` or the problems found."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections and files."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def backend_for(location: Any) -> type:
    """The ``Store`` subclass for a location (a path or a URL)."""
    if location is None:
        raise TypeError("Store() needs a location: a directory path or a store URL")
    text = os.fspath(location) if isinstance(location, os.PathLike) else location
    if not isinstance(text, str):
        raise TypeError(f"a store location is a path or a URL, got {location!r}")
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("", "sqlite", "file"):
        from .sqlite import SQLiteStore
        return SQLiteStore
    if scheme in ("postgresql", "postgres"):
        from .postgres import PostgresStore
        return PostgresStore
    raise StorageError(f"unknown store {text.split('://')[0]!r}:// in {text!r}; use a "
                       "directory path, sqlite:///path or postgresql://user@host/db")


def sqlite_path(location: Any) -> str:
    """The directory a SQLite store location names (a path, ``sqlite:///p``, ``file://``).

    Examples
    --------
    >>> sqlite_path("sqlite:///var/lib/pastalog"), sqlite_path("data")[-5:]
    ('/var/lib/pastalog', '/data')
    """
    text = os.fspath(location)
    for prefix in ("sqlite://", "file://"):
        if text.lower().startswith(prefix):
            text = text[len(prefix):]
            break
    return os.path.abspath(text)
