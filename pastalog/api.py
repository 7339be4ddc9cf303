"""Reading back, for notebooks: ``pastalog.Api(server)``.

``Api`` reads what a pastalog server holds over its HTTP API (docs/API.md), with the
standard library's HTTP (the client's :class:`~pastalog._transport.HTTPTransport`):

- :meth:`Api.runs`: one row per run (model), with its status, times, tags, notes,
  one ``config/<key>`` column per config key and ``<series>.last`` / ``.min`` / ``.max``
  per series;
- :meth:`Api.history`: the points of one run, every series or some;
- :meth:`Api.images` / :meth:`Api.image`: image records whose PNG bytes are fetched
  when first used.

Tables are pandas DataFrames when pandas is installed (``pip install
'pastalog[pandas]'``), else dicts of lists with the same columns. Long reads go page
by page (each page read once) with a progress bar on stderr when it is a terminal.
Failures raise :class:`~pastalog.errors.PastalogError`: the URL that failed and why;
an unknown run, series or image raises :class:`~pastalog.errors.NotFound` (also a
``KeyError``). One ``Api`` serves one thread at a time (it keeps one connection).
"""
import json
import urllib.parse
from array import array
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Union

from ._transport import HTTPTransport
from .client import _check_token, _server_url
from .errors import NotFound, PastalogError
from .names import check_name
from .progress import Progress

if TYPE_CHECKING:
    import pandas

    Table = Union["pandas.DataFrame", "dict[str, list[Any]]"]
else:
    Table = Any

__all__ = ["Api", "Image", "run_columns"]

#: Raw points per request: the most the server answers (docs/API.md).
PAGE = 100_000
#: Runs per request of ``GET /api/v1/runs``.
RUNS_PAGE = 1000
#: The summary of each series that :meth:`Api.runs` shows, as ``<series>.<stat>``.
SERIES_STATS = ("last", "min", "max")
RUN_COLUMNS = ("model", "status", "start", "end", "tags", "notes")
CONFIG_PREFIX = "config/"


def _pandas() -> Any:
    """pandas, or ``None`` when it is not installed (the one place it is imported)."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _number(x: Any) -> float:
    """A value of an answer as a float: the strings ``"NaN"``, ``"Infinity"``,
    ``"-Infinity"`` and ``null`` (NaN) included.

    Examples
    --------
    >>> _number("NaN") != _number("NaN"), _number("-Infinity"), _number(None) != 0
    (True, -inf, True)
    """
    return float("nan") if x is None else float(x)


def _floats(values: "list[Any]") -> "array[float]":
    try:
        return array("d", values)           # the common case: all finite
    except TypeError:
        return array("d", map(_number, values))


class Image(dict):
    """One stored image: a dict of ``step``, ``time``, ``width``, ``height``, ``sha``.

    Its PNG bytes are fetched from the server on first use of ``image.png`` (or
    ``image["png"]``) and kept.

    Examples
    --------
    >>> img = Image({"step": 3, "time": 1.5, "width": 1, "height": 1, "sha": "ab"},
    ...             fetch=lambda sha: b"PNG of " + sha.encode())
    >>> img["step"], img.png, img["png"]
    (3, b'PNG of ab', b'PNG of ab')
    """

    def __init__(self, record: "dict[str, Any]", fetch: Callable[[str], bytes]):
        super().__init__((key, record[key])
                         for key in ("step", "time", "width", "height", "sha"))
        self._fetch = fetch

    @property
    def png(self) -> bytes:
        """The PNG bytes (one request the first time)."""
        if not dict.__contains__(self, "png"):
            self["png"] = self._fetch(self["sha"])
        return dict.__getitem__(self, "png")

    def __missing__(self, key: str) -> Any:
        if key == "png":
            return self.png
        raise KeyError(key)


class Api:
    """Read runs, points and images back from a pastalog server.

    Parameters
    ----------
    server : int or str
        A port (``8120`` means ``http://127.0.0.1:8120``) or a URL, as for ``Log``.
    token : str, optional
        The server's token (``pastalog run --token``), sent as a bearer token.
    timeout : float
        Seconds each request may take (connect, send, the whole answer).
    page_size : int
        Raw points per request, 1 to 100,000 (the server's most).

    Examples
    --------
    >>> api = Api(8120)
    >>> api.server
    'http://127.0.0.1:8120'
    >>> runs = api.runs()                                   # doctest: +SKIP
    >>> loss = api.history("model_1", "train_loss")          # doctest: +SKIP
    >>> loss.plot(x="step", y="value")                       # doctest: +SKIP
    >>> Api(8120, timeout=0)
    Traceback (most recent call last):
    ...
    ValueError: timeout must be a positive number of seconds, got 0
    """

    def __init__(self, server: Union[int, str], *, token: Optional[str] = None,
                 timeout: float = 30, page_size: int = PAGE) -> None:
        self.server = _server_url(server)
        if token is not None:
            _check_token(token)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
                or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if isinstance(page_size, bool) or not isinstance(page_size, int) \
                or not 0 < page_size <= PAGE:
            raise ValueError(f"page_size must be an integer within 1..{PAGE:,}, "
                             f"got {page_size!r}")
        self.page_size = page_size
        self._token = token
        self._http = HTTPTransport(self.server, token=token, timeout=timeout)

    def __repr__(self) -> str:
        return f"Api({self.server!r})"

    def close(self) -> None:
        """Close the connection (the next read opens another)."""
        self._http.close()

    def __enter__(self) -> "Api":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- HTTP ------------------------------------------------------------------------

    def _get(self, path: str, query: "Optional[dict[str, Any]]" = None, *,
             missing: Optional[str] = None) -> Any:
        """GET ``path``: the parsed JSON (bytes for a PNG), or raise what went wrong."""
        if query:
            path += "?" + urllib.parse.urlencode(
                [(k, v) for k, v in query.items() if v is not None])
        url = self.server + path
        try:
            status, body = self._http.request("GET", path, limit=None)
        except OSError as exc:   # refused, unreachable, timed out, reset
            raise PastalogError(f"cannot read {url}: {exc}") from exc
        if status == 200:
            if path.endswith(".png"):
                return body
            try:
                return json.loads(body)
            except ValueError as exc:
                raise PastalogError(f"{url} answered 200 with no JSON (not a pastalog "
                                    f"server?): {body[:80]!r}") from exc
        try:
            error = json.loads(body)["error"]
        except (ValueError, KeyError, TypeError):
            error = body[:200].decode("utf-8", "replace")
        if status == 401:
            need = ("the server refused the token: check it" if self._token else
                    "the server needs a token: Api(server, token=...)")
            raise PastalogError(f"{url} answered 401: {need} ({error})")
        if status == 403:
            raise PastalogError(f"{url} answered 403 (the token or this host was refused): "
                                f"{error}")
        if status == 404 and missing is not None:
            raise NotFound(missing)
        raise PastalogError(f"{url} answered {status}: {error}")

    def _blob(self, sha: str) -> bytes:
        return self._get(f"/api/v1/blobs/{sha}.png", missing=f"no image {sha} on the server")

    def _series_of(self, run: str) -> "list[tuple[str, int]]":
        """``(name, count)`` of every series of ``run``, following ``series_next``."""
        found: "list[tuple[str, int]]" = []
        after = None
        path = "/api/v1/models/" + urllib.parse.quote(run, safe="")
        while True:
            model = self._get(path, {"series_after": after},
                              missing=f"no run named {run!r} on {self.server}")
            found.extend((s["name"], s["count"]) for s in model["series"])
            after = model.get("series_next")
            if after is None:
                return found

    # -- runs ------------------------------------------------------------------------

    def runs(self, q: Optional[str] = None) -> "Table":
        """Every run, one row each.

        Parameters
        ----------
        q : str, optional
            Only runs whose name contains this text (ASCII letters in any case).

        Returns
        -------
        pandas.DataFrame or dict of lists
            Columns ``model``, ``status`` (``"running"``, ``"finished"``, ``"crashed"``
            or ``None``), ``start``, ``end`` (unix seconds), ``tags`` (a list),
            ``notes``; ``config/<key>`` for every config key of any run (``None`` where
            a run lacks it, NaN in a column of numbers; nested keys as flattened:
            ``config/optimizer/lr``); and
            ``<series>.last``, ``<series>.min``, ``<series>.max`` for every series
            (NaN where a run lacks it; min/max ignore NaN), of the first 1,000 series of
            each run, as the server lists them.
        """
        if q is not None and not isinstance(q, str):
            raise TypeError(f"q must be a string, got {type(q).__name__} {q!r}")
        records: "list[dict[str, Any]]" = []
        after = None
        while True:    # a page is 1,000 runs: no progress bar for a few requests
            page = self._get("/api/v1/runs", {"limit": RUNS_PAGE, "after": after, "q": q})
            records.extend(page["runs"])
            after = page.get("next")
            if after is None:
                break
        return self._table(run_columns(records))

    # -- points ----------------------------------------------------------------------

    def history(self, run: str, series: "Union[None, str, Iterable[str]]" = None, *,
                wide: bool = False) -> "Table":
        """The points of one run, read page by page.

        Parameters
        ----------
        run : str
            The run's (model's) name.
        series : str or list of str, optional
            One series name, some, or ``None`` for every series of the run.
        wide : bool
            One column per series on a ``step`` index (pandas) or column (dicts),
            NaN where a series has no point at a step; of several points at one step,
            the last to arrive.

        Returns
        -------
        pandas.DataFrame or dict of lists
            Columns ``step``, ``series``, ``value``, ``time`` (unix seconds), in series
            order then step order; without the ``series`` column when ``series`` is one
            name. Values are floats: NaN and ±inf as logged.
        """
        check_name(run, "run name")
        if series is None:
            listed = self._series_of(run)
        else:
            names = [series] if isinstance(series, str) else list(series)
            for name in names:
                check_name(name, "series name")
            listed = [(name, 0) for name in names]
        steps, values, times = array("q"), array("d"), array("d")
        counts: "list[int]" = []
        total = sum(n for _, n in listed)
        bar = Progress(f"reading {run}", total)
        for name, known in listed:
            before = len(steps)
            after = None
            while True:
                page = self._get("/api/v1/series", {
                    "model": run, "series": name, "limit": self.page_size, "after": after},
                    missing=f"run {run!r} has no series {name!r} on {self.server} "
                            "(or there is no such run)")
                if after is None and not known:   # a named series: its seq is its count
                    total += page["seq"]
                    bar.total = max(total, 1)
                steps.extend(page["steps"])
                values.extend(_floats(page["values"]))
                times.extend(_floats(page["times"]))
                bar.update(len(steps), f"{len(steps):,} points")
                after = page["next"]
                if after is None:
                    break
            counts.append(len(steps) - before)
        bar.finish()
        names = [name for name, _ in listed]
        one = isinstance(series, str)
        if wide:
            return self._wide(names, counts, steps, values)
        return self._long(names, counts, steps, values, times, one)

    def _long(self, names: "list[str]", counts: "list[int]", steps: "array[int]",
              values: "array[float]", times: "array[float]", one: bool) -> "Table":
        pd = _pandas()
        if pd is None:
            out: "dict[str, list[Any]]" = {"step": steps.tolist()}
            if not one:
                out["series"] = [name for name, n in zip(names, counts) for _ in range(n)]
            out["value"], out["time"] = values.tolist(), times.tolist()
            return out
        import numpy as np

        cols: "dict[str, Any]" = {"step": np.frombuffer(steps, dtype=np.int64)}
        if not one:
            codes = np.repeat(np.arange(len(names), dtype=np.int32), counts)
            cols["series"] = pd.Categorical.from_codes(codes, categories=names)
        cols["value"] = np.frombuffer(values, dtype=np.float64)
        cols["time"] = np.frombuffer(times, dtype=np.float64)
        return pd.DataFrame(cols)

    def _wide(self, names: "list[str]", counts: "list[int]", steps: "array[int]",
              values: "array[float]") -> "Table":
        pd = _pandas()
        if pd is None:
            per: "list[dict[int, float]]" = []
            lo = 0
            for n in counts:    # of points at one step, the last to arrive wins
                per.append(dict(zip(steps[lo:lo + n], values[lo:lo + n])))
                lo += n
            index = sorted(set().union(*per))
            nan = float("nan")
            out: "dict[str, list[Any]]" = {"step": index}
            for name, points in zip(names, per):
                out[name] = [points.get(step, nan) for step in index]
            return out
        import numpy as np

        all_steps = np.frombuffer(steps, dtype=np.int64)
        all_values = np.frombuffer(values, dtype=np.float64)
        cols = {}
        lo = 0
        for name, n in zip(names, counts):
            at, val = all_steps[lo:lo + n], all_values[lo:lo + n]
            lo += n
            last = np.ones(n, dtype=bool)     # in step order, ties in arrival order:
            last[:-1] = at[1:] != at[:-1]     # the last of equal steps is the one kept
            cols[name] = pd.Series(val[last], index=at[last])
        if not cols:
            return pd.DataFrame(index=pd.Index([], name="step", dtype="int64"))
        frame = pd.concat(cols, axis=1).sort_index()
        frame.index.name = "step"
        return frame

    # -- images ----------------------------------------------------------------------

    def images(self, run: str, name: str) -> "list[Image]":
        """Every image of one name of one run, in step order.

        Returns
        -------
        list of Image
            Dicts of ``step``, ``time``, ``width``, ``height``, ``sha``; each one's PNG
            bytes are fetched on first use of its ``png``.
        """
        check_name(run, "run name")
        check_name(name, "image name")
        found = self._get("/api/v1/images", {"model": run, "name": name})["images"]
        if not found:    # an unknown run is an error; a run without that image name: []
            self._get("/api/v1/models/" + urllib.parse.quote(run, safe=""),
                      {"series_limit": 1}, missing=f"no run named {run!r} on {self.server}")
        return [Image(record, self._blob) for record in found]

    def image(self, run: str, name: str, step: int) -> Image:
        """The image of ``name`` at ``step`` (the last stored there), or ``NotFound``."""
        if isinstance(step, bool) or not isinstance(step, int):
            raise TypeError(f"step must be an integer, got {type(step).__name__} {step!r}")
        at = [img for img in self.images(run, name) if img["step"] == step]
        if not at:
            raise NotFound(f"run {run!r} has no image {name!r} at step {step}")
        return at[-1]

    @staticmethod
    def _table(columns: "dict[str, list[Any]]") -> "Table":
        pd = _pandas()
        return columns if pd is None else pd.DataFrame(columns)


def run_columns(records: "list[dict[str, Any]]") -> "dict[str, list[Any]]":
    """Run records of ``GET /api/v1/runs`` as columns (see :meth:`Api.runs`).

    Examples
    --------
    >>> cols = run_columns([
    ...     {"model": "a", "status": "finished", "start": 1.0, "end": 2.0, "tags": ["x"],
    ...      "notes": "", "config": {"lr": 0.1},
    ...      "series": {"loss": {"last": "NaN", "min": 1.5, "max": 2.5}}},
    ...     {"model": "b", "status": None, "config": {}, "series": {}}])
    >>> cols["model"], cols["config/lr"], cols["loss.min"]
    (['a', 'b'], [0.1, None], [1.5, nan])
    """
    keys: "dict[str, None]" = {}
    series: "dict[str, None]" = {}
    for rec in records:
        keys.update(dict.fromkeys(rec.get("config") or {}))
        series.update(dict.fromkeys(rec.get("series") or {}))
    out: "dict[str, list[Any]]" = {col: [] for col in RUN_COLUMNS}
    for key in sorted(keys):
        out[CONFIG_PREFIX + key] = []
    for name in sorted(series):
        for stat in SERIES_STATS:
            out[f"{name}.{stat}"] = []
    for rec in records:
        for col in RUN_COLUMNS:
            value = rec.get(col)
            out[col].append(list(value or []) if col == "tags" else value)
        config = rec.get("config") or {}
        for key in keys:
            out[CONFIG_PREFIX + key].append(config.get(key))
        summary = rec.get("series") or {}
        for name in series:
            stats = summary.get(name) or {}
            for stat in SERIES_STATS:
                out[f"{name}.{stat}"].append(_number(stats.get(stat)))
    return out

