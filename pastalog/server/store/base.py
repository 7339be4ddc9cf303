"""The ``Store`` interface: what the app, the hub, transfer and the benchmarks call.

A backend stores bytes and rows; the chunk codec (``codec``) and the aggregate rules
(``pyramid``) are shared by every backend. ``Store(location)`` opens the backend that
``location`` names (as ``pathlib.Path`` picks its flavour):

- a directory path, or ``sqlite:///abs/path``: :class:`~.sqlite.SQLiteStore`.

Sequence numbers: every stored point of a series has one, its order of arrival
(1, 2, 3, ...). A series' ``seq`` is the sequence number of its last point, which is
also how many points it holds (points are only ever deleted with their whole series,
and a deleted series starts again from 0). Read answers carry the ``seq`` of the
snapshot they were read from, so a page merges live and fetched points exactly once.
"""
import abc
import os
from typing import Any, Iterator, Optional, Sequence

from ...errors import BadRequest, StorageError
from ...limits import PNG_SIGNATURE

__all__ = ["SeriesInput", "Store", "png_size"]

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
    """Every point, image and model, durable; one interface, several backends.

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
    def write_points(self, series: Sequence[SeriesInput],
                     batch_id: Optional[str] = None) -> "dict[str, Any]":
        """Store a batch of points atomically.

        Parameters
        ----------
        series : list of (model, name, steps, values, times)
            ``steps`` may be ``None`` (continue the series from its last step + 1);
            ``times`` may be ``None`` (now). Arrays or sequences of equal length.
        batch_id : str, optional
            A batch stored before under the same id is not stored again.

        Returns
        -------
        dict
            ``{"points": n, "duplicate": bool, "series": [(model, name, steps,
            values, times, stats), ...]}`` where ``stats`` is the series' row after
            the write (``count``, ``seq``, ``first_step``, ``last_step``, ``last_value``,
            ``last_time``), for the live hub.
        """

    @abc.abstractmethod
    def write_image(self, model: str, name: str, png: bytes, step: Optional[int] = None,
                    when: Optional[float] = None,
                    batch_id: Optional[str] = None) -> "Optional[dict[str, Any]]":
        """Store a PNG image; returns its record (``None`` for a batch seen before)."""

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

    # -- reading -----------------------------------------------------------------

    @abc.abstractmethod
    def models(self) -> "list[dict[str, Any]]":
        """Every model with its series and image names, sorted by name."""

    @abc.abstractmethod
    def model(self, name: str) -> "Optional[dict[str, Any]]":
        """One model as :meth:`models` lists it, or ``None``."""

    @abc.abstractmethod
    def read_series(self, model: str, name: str, x0: Optional[int] = None,
                    x1: Optional[int] = None) -> "Optional[dict[str, Any]]":
        """Raw points in step order (ties in arrival order), or ``None``.

        Returns ``{"steps", "values", "times", "seq"}`` (arrays; ``seq`` as above).
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
        """How many points the store holds."""

    @abc.abstractmethod
    def iter_series(self) -> Iterator["tuple[str, str]"]:
        """Yield ``(model, name)`` for every series, for export."""

    @abc.abstractmethod
    def iter_images(self) -> Iterator["tuple[str, str, int, float, str]"]:
        """Yield ``(model, name, step, time, sha)`` for every image, for export."""

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
    raise StorageError(f"unknown store {text.split('://')[0]!r}:// in {text!r}; use a "
                       "directory path or sqlite:///path")


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
