"""Points and runs as tables: ``pastalog export --format csv|parquet OUT``.

``OUT`` is a directory (made if missing) that receives two files:

- ``points.csv`` / ``points.parquet``: one row a point, columns ``model``, ``series``,
  ``step``, ``value``, ``time`` (unix seconds), each series in step order (ties in
  arrival order). In CSV, non-finite values are ``NaN``, ``Infinity``, ``-Infinity``
  (what pandas' ``read_csv`` and Python's ``float`` read back).
- ``runs.csv`` / ``runs.parquet``: one row a run, the columns of
  :meth:`pastalog.Api.runs` (``model``, ``status``, ``start``, ``end``, ``tags``,
  ``notes``, ``config/<key>``..., ``<series>.last`` / ``.min`` / ``.max``). In CSV a
  list (tags, a list-valued config key) is written as JSON text; in Parquet a column
  whose values do not share one type is JSON text too.

Points are read through the ``Store`` interface page by page (``read_series`` and its
``next`` cursor) and written as they come, so memory stays bounded however long a
series is: a CSV page at a time, a Parquet row group (``ROW_GROUP`` rows) at a time.
Each file is written under a temporary name and renamed once complete.
"""
import csv
import io
import json
import os
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from ..api import run_columns
from ..errors import NotFound
from ..progress import Progress
from .jsonio import finite_or_text
from .store.rows import SERIES_PAGE

__all__ = ["FORMATS", "ROW_GROUP", "export_tables"]

FORMATS = ("csv", "parquet")
#: Rows of one Parquet row group (about 29 MB of points in memory while it fills).
ROW_GROUP = 1_000_000
POINT_COLUMNS = ("model", "series", "step", "value", "time")


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ImportError("--format parquet needs pyarrow: pip install 'pastalog[parquet]'") \
            from None
    return pyarrow


def export_tables(store: Any, out: str, fmt: str,
                  models: Optional[Sequence[str]] = None) -> "dict[str, Any]":
    """Write the points and runs of ``store`` (or of ``models``) as tables into ``out``.

    Parameters
    ----------
    store : Store
        Any store (read through its interface only).
    out : str
        A directory; made if missing. ``points.<fmt>`` and ``runs.<fmt>`` in it are
        replaced.
    fmt : {"csv", "parquet"}
    models : list of str, optional
        Only these models (each must exist: ``NotFound`` otherwise).

    Returns
    -------
    dict
        ``{"points": n, "runs": n, "files": [path, path]}``.

    Examples
    --------
    >>> import csv, os, tempfile
    >>> from pastalog.server.store import Store
    >>> with Store(tempfile.mkdtemp()) as store:
    ...     _ = store.write_points([("m", "loss", [0, 1], [2.5, float("nan")], [1.0, 2.0])])
    ...     out = tempfile.mkdtemp()
    ...     export_tables(store, out, "csv")["points"]
    2
    >>> with open(os.path.join(out, "points.csv")) as fh:
    ...     print(fh.read())
    model,series,step,value,time
    m,loss,0,2.5,1.0
    m,loss,1,NaN,2.0
    <BLANKLINE>
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "parquet":
        _pyarrow()               # before anything is written
    series = _series(store, models)
    runs = run_columns(_run_records(store, models))
    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(out, f"{what}.{fmt}") for what in ("points", "runs")]
    write_points, write_runs = ((_points_csv, _runs_csv) if fmt == "csv"
                                else (_points_parquet, _runs_parquet))
    bar = Progress("exporting", len(series))
    points = _atomic(paths[0], write_points, _pages(store, series, bar))
    bar.finish()
    _atomic(paths[1], write_runs, runs)
    return {"points": points, "runs": len(runs["model"]), "files": paths}


def _atomic(path: str, write: Any, data: Any) -> Any:
    tmp = f"{path}.partial"
    try:
        result = write(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return result


# -- reading -------------------------------------------------------------------------

def _series(store: Any, models: Optional[Sequence[str]]) -> "list[tuple[str, str]]":
    """``(model, name)`` of every series to export."""
    if models is None:
        return list(store.iter_series())
    found = []
    for model in dict.fromkeys(models):
        after = None
        while True:
            listed = store.model(model, series_limit=SERIES_PAGE, series_after=after)
            if listed is None:
                raise NotFound(f"no model named {model!r} in the store")
            found.extend((model, s["name"]) for s in listed["series"])
            after = listed["series_next"]
            if after is None:
                break
    return found


def _pages(store: Any, series: "list[tuple[str, str]]",
           bar: Progress) -> Iterator["tuple[str, str, Any, Any, Any]"]:
    """``(model, name, steps, values, times)`` page by page, each page read once."""
    for i, (model, name) in enumerate(series):
        for data in store.series_pages(model, name):
            yield model, name, data["steps"], data["values"], data["times"]
        bar.update(i + 1, f"{i + 1:,} of {len(series):,} series")


def _run_records(store: Any, models: Optional[Sequence[str]]) -> "list[dict[str, Any]]":
    if models is not None:
        found = (store.run(model) for model in dict.fromkeys(models))
        return [run for run in found if run is not None]
    return list(store.iter_runs())


# -- CSV -----------------------------------------------------------------------------

def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else finite_or_text(value)


def _csv_prefix(*cells: str) -> str:
    """Text cells as the start of a CSV line (quoted as the csv module quotes them),
    ready for ``str.format``."""
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow(cells)
    return line.getvalue().replace("{", "{{").replace("}", "}}") + ","


def _points_csv(path: str, pages: Iterator["tuple[str, str, Any, Any, Any]"]) -> int:
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(",".join(POINT_COLUMNS) + "\n")
        for model, name, steps, values, times in pages:
            # str.format over the page: 3x as fast as csv.writer's rows; str(float) is
            # the shortest text that reads back as the same float
            line = _csv_prefix(model, name) + "{},{},{}\n"
            cells = values.tolist()
            if not np.isfinite(values).all():
                cells = [finite_or_text(x) for x in cells]
            fh.write("".join(map(line.format, steps.tolist(), cells, times.tolist())))
            n += len(cells)
    return n


def _runs_csv(path: str, runs: "dict[str, list[Any]]") -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(runs)
        out.writerows(zip(*([_cell(v) for v in col] for col in runs.values())))


# -- Parquet -------------------------------------------------------------------------

def _points_parquet(path: str, pages: Iterator["tuple[str, str, Any, Any, Any]"]) -> int:
    pa = _pyarrow()
    schema = pa.schema([("model", pa.string()), ("series", pa.string()),
                        ("step", pa.int64()), ("value", pa.float64()),
                        ("time", pa.float64())])
    held: "list[Any]" = []
    size = n = 0
    with pa.parquet.ParquetWriter(path, schema) as writer:
        def flush() -> None:
            if held:
                writer.write_table(pa.concat_tables(held), row_group_size=ROW_GROUP)
                held.clear()

        for model, name, steps, values, times in pages:
            k = len(steps)
            held.append(pa.Table.from_arrays(
                [pa.repeat(model, k).cast(pa.string()), pa.repeat(name, k).cast(pa.string()),
                 pa.array(steps, pa.int64()), pa.array(values, pa.float64()),
                 pa.array(times, pa.float64())], schema=schema))
            size += k
            n += k
            if size >= ROW_GROUP:
                flush()
                size = 0
        flush()
    return n


def _arrow_column(values: "list[Any]") -> Any:
    """One runs column: its own type when its values share one, else JSON text."""
    pa = _pyarrow()
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False)
                         for v in values], pa.string())


def _runs_parquet(path: str, runs: "dict[str, list[Any]]") -> None:
    pa = _pyarrow()
    table = pa.table({name: _arrow_column(col) for name, col in runs.items()})
    pa.parquet.write_table(table, path)
