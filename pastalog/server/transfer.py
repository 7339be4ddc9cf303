"""Backups: ``pastalog export`` and ``pastalog import``.

Our export is JSON Lines (gzip-compressed when the name ends in ``.gz``): a header
line ``{"format": "pastalog-export", "version": 1}``, then one line per piece of a
series (``model``, ``series``, ``steps``, ``values``, ``times``), one per image
(``model``, ``image``, ``step``, ``time``, ``png`` in base64) and one per histogram
record (``model``, ``histogram``, ``step``, ``time``, ``edges``, ``counts`` and the
statistics: ``count``, ``min``, ``max``, ``sum``, ``sumsq``, ``nan``, ``posinf``,
``neginf``), then one per run that has a record (``model``, ``run``: its status,
error, config, tags, notes, provenance, start and end; restarts are not carried,
the points keep their steps). A damaged line is
reported with its file and line number and skipped; the rest is imported. Every
line is imported under a batch id made from its content, so importing the same file
twice stores it once.

``import`` also reads the original node.js pastalog's ``database.json``.

Whatever a file holds, an import's memory stays bounded: lines are read in pieces and
one longer than ``MAX_LINE`` characters is skipped (named by its line number) without
holding it; the original format's CSV files are read in pieces too, and its paths must
stay inside the database.json's folder.
"""
import base64
import gzip
import hashlib
import json
import logging
import math
import os
from array import array

import numpy as np

from ..errors import BadRequest, ImportFileError, InvalidName
from ..limits import MAX_STEP, check_step_range
from ..names import check_name
from ..progress import Progress
from .jsonio import dumps, parse_steps, parse_value, parse_values
from .store import png_size
from .store.histograms import check_record as check_histogram
from .store.runs import check_record

__all__ = ["export_file", "import_file"]

log = logging.getLogger("pastalog")

FORMAT = "pastalog-export"
_PIECE = 100_000
#: The longest line an import reads, in characters: a 64 MiB PNG (the server's default
#: body cap) in base64 fits; a gzip bomb's endless line does not.
MAX_LINE = 128 * 2**20
#: The largest original ``database.json`` read (it only lists the CSV files).
MAX_INDEX = 64 * 2**20
#: The longest cell of an original CSV file (a number as JavaScript prints it).
MAX_CELL = 64
_READ = 2**20


def _open(path, mode, gz=None):
    if str(path).endswith(".gz") if gz is None else gz:
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def export_file(store, path):
    """Write everything in ``store`` to ``path``; returns (points, images, histograms)."""
    series = list(store.iter_series())
    images = list(store.iter_images())
    bar = Progress("exporting", len(series) + len(images))
    points = 0
    tmp = f"{path}.partial"
    with _open(tmp, "w", gz=str(path).endswith(".gz")) as out:
        out.write(json.dumps({"format": FORMAT, "version": 1}) + "\n")
        for i, (model, name) in enumerate(series):
            # page by page: a read answers at most RAW_LIMIT points
            for data in store.series_pages(model, name):
                n = len(data["steps"])
                for lo in range(0, n, _PIECE):
                    out.write(dumps({"model": model, "series": name,
                                     "steps": data["steps"][lo:lo + _PIECE],
                                     "values": data["values"][lo:lo + _PIECE],
                                     "times": data["times"][lo:lo + _PIECE]}).decode() + "\n")
                points += n
            bar.update(i + 1, f"{points:,} points")
        for j, (model, name, step, when, sha) in enumerate(images):
            blob = store.read_blob(sha)
            if blob is None:
                raise ImportFileError(f"image {sha} of {model!r}/{name!r} is missing from "
                                      "the store")
            png = base64.b64encode(blob).decode("ascii")
            out.write(dumps({"model": model, "image": name, "step": step, "time": when,
                             "png": png}).decode() + "\n")
            bar.update(len(series) + j + 1, f"{j + 1:,} images")
        histograms = 0
        for model, name, record in store.iter_histograms():
            out.write(dumps({"model": model, "histogram": name, **record}).decode() + "\n")
            histograms += 1
        for run in _runs_with_records(store):
            out.write(dumps({"model": run["model"], "run": {
                k: run[k] for k in ("status", "error", "config", "tags", "notes",
                                    "provenance", "start", "end")}}).decode() + "\n")
    os.replace(tmp, path)
    bar.finish()
    return points, len(images), histograms


def _runs_with_records(store):
    """Every run that has a run record (status, config, tags, notes or provenance)."""
    for run in store.iter_runs():
        if run["status"] or run["config"] or run["tags"] or run["notes"] \
                or run["provenance"] or run["start"] is not None:
            yield run


def _import_run(store, model, run, line):
    """A run line as run records: its fields at its start, then its end status."""
    if not isinstance(run, dict):
        raise ValueError("'run' must be an object")
    session = _line_id(line)[7:39]
    start = run.get("start")
    first = {"model": model, "session": session, "time": start if start is not None else 0}
    for key in ("config", "tags", "notes", "provenance"):
        if run.get(key) is not None:
            first[key] = run[key]
    status = run.get("status")
    if status == "running":
        first["status"] = "running"
    records = [check_record(first, 0)]
    if status in ("finished", "crashed"):
        end = run.get("end")
        last = {"model": model, "session": session, "status": status,
                "time": end if end is not None else first["time"]}
        if status == "crashed" and run.get("error") is not None:
            last["error"] = run["error"]
        records.append(check_record(last, 1))
    store.write_runs(records)


def import_file(store, path):
    """Import ``path`` (our export or the original ``database.json``) into ``store``.

    Returns
    -------
    dict
        ``{"points": n, "images": n, "histograms": n, "skipped": n, "format": "..."}``
    """
    try:
        with _open(path, "r") as fh:
            first = fh.readline()
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise ImportFileError(f"{path}: cannot read it: {exc}") from None
    try:
        head = json.loads(first)
    except json.JSONDecodeError:
        head = None
    if isinstance(head, dict) and head.get("format") == FORMAT:
        return _import_ours(store, path)
    return _import_original(store, path)


def _line_id(line):
    return "import:" + hashlib.sha256(line.encode("utf-8")).hexdigest()[:40]


def _import_ours(store, path):
    counts = {"points": 0, "images": 0, "histograms": 0, "runs": 0, "skipped": 0,
              "format": FORMAT}
    size = os.path.getsize(path)
    bar = Progress("importing", size)
    with open(path, "rb") as raw:
        fh = gzip.open(raw, "rt", encoding="utf-8") if str(path).endswith(".gz") else \
            open(raw.fileno(), "r", encoding="utf-8", closefd=False)
        lineno = 0
        try:
            for lineno, line in enumerate(_bounded_lines(fh), start=1):
                if lineno == 1:
                    continue
                if line is None:
                    counts["skipped"] += 1
                    log.warning("pastalog: %s line %d is longer than %d MiB (the most an "
                                "export line holds); skipped it", path, lineno,
                                MAX_LINE >> 20)
                    continue
                try:
                    _import_line(store, line, counts)
                except (ValueError, KeyError, TypeError, BadRequest, InvalidName) as exc:
                    counts["skipped"] += 1
                    log.warning("pastalog: %s line %d: %s; skipped it", path, lineno,
                                _reason(exc, line))
                bar.update(raw.tell(), f"{counts['points']:,} points")
        except (EOFError, OSError, UnicodeDecodeError) as exc:
            counts["skipped"] += 1
            log.warning("pastalog: %s is damaged after line %d (%s); kept what came before",
                        path, lineno, exc)
    bar.finish()
    return counts


def _bounded_lines(fh, limit=None):
    """The lines of text file ``fh``; ``None`` for one longer than ``limit`` characters.

    Reads at most ``_READ`` characters at a time and never holds more than ``limit`` of
    one line: a too-long line is read through and dropped.

    Examples
    --------
    >>> import io
    >>> list(_bounded_lines(io.StringIO("ab\\n" + "x" * 9 + "\\nc"), limit=5))
    ['ab\\n', None, 'c']
    """
    limit = MAX_LINE if limit is None else limit
    while True:
        line = fh.readline(min(_READ, limit + 1))
        if not line:
            return
        if line.endswith("\n") or len(line) < min(_READ, limit + 1):
            yield line
            continue
        pieces, size = [line], len(line)
        while size <= limit:
            piece = fh.readline(min(_READ, limit + 1 - size))
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
            if piece.endswith("\n"):
                break
        if size <= limit:
            yield "".join(pieces)
            continue
        del pieces, line
        while True:  # read the rest of the long line through, holding none of it
            piece = fh.readline(_READ)
            if not piece or piece.endswith("\n"):
                break
        yield None


def _reason(exc, line):
    if not line.endswith("\n"):
        return "the line is truncated"
    return str(exc)


def _import_line(store, line, counts):
    rec = json.loads(line)
    if not isinstance(rec, dict):
        raise ValueError("a line must be a JSON object")
    model = check_name(rec["model"], "model name")
    if "histogram" in rec:
        record = check_histogram({**rec, "name": rec["histogram"]}, "histogram")
        if store.write_histograms([record], batch_id=_line_id(line)) is not None:
            counts["histograms"] += 1
        return
    if "run" in rec:
        _import_run(store, model, rec["run"], line)
        counts["runs"] = counts.get("runs", 0) + 1
        return
    if "image" in rec:
        png = base64.b64decode(rec["png"], validate=True)
        png_size(png)
        step = parse_steps([rec["step"]], "step")[0]
        when = parse_value(rec["time"], "time")
        if store.write_image(model, check_name(rec["image"], "image name"), png, int(step),
                             when, batch_id=_line_id(line)) is not None:
            counts["images"] += 1
        return
    name = check_name(rec["series"])
    values = parse_values(rec["values"], "values")
    steps = parse_steps(rec["steps"], "steps")
    times = parse_values(rec["times"], "times")
    if not len(steps) == len(values) == len(times):
        raise ValueError("steps, values and times differ in length")
    result = store.write_points([(model, name, steps, values, times)], batch_id=_line_id(line))
    counts["points"] += result["points"]


def _read_csv_cells(path):
    """The cells of one of the original pastalog's CSV files (``0,1,2,``), streamed.

    Raises ``ValueError`` for a cell longer than ``MAX_CELL`` characters (no number
    is), so that a file without commas is never held whole.
    """
    with open(path, encoding="utf-8") as fh:
        carry = ""
        while True:
            chunk = fh.read(_READ)
            if not chunk:
                break
            cells = (carry + chunk).split(",")
            carry = cells.pop()
            if len(carry) > MAX_CELL:
                raise ValueError(f"a cell of {os.path.basename(path)} is longer than "
                                 f"{MAX_CELL} characters: not a number")
            for cell in cells:
                cell = cell.strip()
                if len(cell) > MAX_CELL:
                    raise ValueError(f"a cell of {os.path.basename(path)} is longer than "
                                     f"{MAX_CELL} characters: not a number")
                yield cell
        if carry.strip():
            yield carry.strip()


class _Outside(ValueError):
    """A CSV path of database.json that leads out of its folder."""


def _csv_path(base, files, key):
    """``files[key]`` joined to ``base``; refused when it leads out of ``base``."""
    rel = files[key]
    if not isinstance(rel, str):
        raise TypeError(f"its {key} path is not a string")
    parts = os.path.normpath(rel.replace("\\", "/")).split("/")
    if os.path.isabs(rel) or os.path.isabs(rel.replace("\\", "/")) or ".." in parts:
        raise _Outside(f"its {key} path {rel!r} is outside the folder of database.json; "
                       "refused it")
    full = os.path.join(base, rel)
    real_base = os.path.realpath(base)
    if os.path.commonpath([os.path.realpath(full), real_base]) != real_base:
        raise _Outside(f"its {key} path {rel!r} leads (by a symbolic link) outside the "
                       "folder of database.json; refused it")
    return full


class _CsvPair:
    """Both CSV files of one series, opened (so that a missing one skips the series
    before anything is written), read as a stream of (step text, value text)."""

    def __init__(self, base, files):
        self.steps = _csv_path(base, files, "indices")
        self.values = _csv_path(base, files, "values")
        for name in (self.steps, self.values):
            with open(name, "rb"):
                pass
        self.extra = None  # (which file, how many more cells) when their lengths differ

    def __iter__(self):
        steps, values = _read_csv_cells(self.steps), _read_csv_cells(self.values)
        yield from zip(steps, values)
        more_steps, more_values = sum(1 for _ in steps), sum(1 for _ in values)
        if more_steps or more_values:
            self.extra = ("steps", more_steps) if more_steps else ("values", more_values)


def _parse_original(pairs, bad, piece=_PIECE):
    """Pieces of int64 steps and float64 values from (step text, value text) pairs.

    A missing step (``undefined``) continues from the previous one. Entries with a step
    that is not an integer within ±MAX_STEP, or a value that is not a number, are
    counted in ``bad`` (a dict with ``"count"`` and ``"first"``, the first one's text).
    """
    steps, values, prev = array("q"), array("d"), -1
    for s_text, v_text in pairs:
        step = prev + 1 if s_text in ("undefined", "", "null") else _integer(s_text)
        value = math.nan if v_text in ("undefined", "", "null") else _number(v_text)
        if step is None or value is None or not check_step_range(step):
            bad["count"] += 1
            bad.setdefault("first", s_text if step is None or not check_step_range(step)
                           else f"value {v_text}")
            continue
        prev = step
        steps.append(step)
        values.append(value)
        if len(steps) >= piece:
            yield np.frombuffer(steps, np.int64), np.frombuffer(values, np.float64)
            steps, values = array("q"), array("d")
    if steps:
        yield np.frombuffer(steps, np.int64), np.frombuffer(values, np.float64)


def _import_original(store, path):
    """The node.js pastalog's database.json and its CSV files, streamed in pieces."""
    if os.path.getsize(path) > MAX_INDEX:
        raise ImportFileError(f"{path}: larger than {MAX_INDEX >> 20} MiB: neither a "
                              "pastalog export nor the original pastalog's database.json")
    try:
        with open(path, encoding="utf-8") as fh:
            db = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ImportFileError(
            f"{path}: neither a pastalog export nor the original pastalog's database.json "
            f"({exc})") from None
    if not isinstance(db, dict) or not isinstance(db.get("logs"), dict):
        raise ImportFileError(f"{path}: not a pastalog export, and has no 'logs' object "
                              "as the original pastalog's database.json has")
    base = os.path.dirname(os.path.abspath(path))
    when = db.get("timeOfSerialization")
    when = when / 1000.0 if isinstance(when, (int, float)) else os.path.getmtime(path)
    counts = {"points": 0, "images": 0, "skipped": 0, "format": "pastalog-node database.json"}
    entries = [(m, s, files) for m, series in db["logs"].items() if isinstance(series, dict)
               for s, files in series.items()]
    bar = Progress("importing", len(entries))
    bad = {"count": 0}
    for i, (model, name, files) in enumerate(entries):
        try:
            check_name(model, "model name")
            check_name(name)
            pairs = _CsvPair(base, files)
        except (OSError, KeyError, TypeError, ValueError, InvalidName) as exc:
            counts["skipped"] += 1
            log.warning("pastalog: %s: series %r of model %r skipped: %s", path, name, model,
                        getattr(exc, "strerror", None) or exc)
            continue
        before, kept = bad["count"], 0
        try:
            for k, (steps, values) in enumerate(_parse_original(pairs, bad)):
                # The same file imported twice is stored once: a piece's batch id is its
                # content.
                digest = hashlib.sha256(f"{model}\0{name}\0{k}\0".encode() + steps.tobytes()
                                        + values.tobytes()).hexdigest()[:40]
                result = store.write_points(
                    [(model, name, steps, values, np.full(len(steps), when))],
                    batch_id=f"import:node:{digest}")
                counts["points"] += result["points"]
                kept += len(steps)
        except (OSError, ValueError) as exc:
            counts["skipped"] += 1
            log.warning("pastalog: %s: series %r of model %r stopped after %d points: %s",
                        path, name, model, kept, getattr(exc, "strerror", None) or exc)
        if pairs.extra:
            log.warning("pastalog: %s: series %r of model %r has %d more %s than %s; kept "
                        "the first %d entries", path, name, model, pairs.extra[1],
                        pairs.extra[0], "values" if pairs.extra[0] == "steps" else "steps",
                        kept + bad["count"] - before)
        if bad["count"] > before:
            counts["skipped"] += bad["count"] - before
            bad.setdefault("where", (name, model))
        bar.update(i + 1)
    bar.finish()
    if bad["count"]:
        log.warning("pastalog: %s: skipped %d entries whose step is not an integer within "
                    "±%d or whose value is not a number (the first: %r in series %r of "
                    "model %r)", path, bad["count"], MAX_STEP, bad["first"], *bad["where"])
    return counts


def _integer(text):
    """An integer step from a CSV cell (``5``, ``5.0``, ``1e3``), or ``None``."""
    try:
        return int(text)
    except ValueError:
        pass
    value = _number(text)
    if value is None or not math.isfinite(value) or value != int(value):
        return None
    return int(value)


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None
