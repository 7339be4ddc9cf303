"""Backups: ``pastalog export`` and ``pastalog import``.

Our export is JSON Lines (gzip-compressed when the name ends in ``.gz``): a header
line ``{"format": "pastalog-export", "version": 1}``, then one line per piece of a
series (``model``, ``series``, ``steps``, ``values``, ``times``) and one per image
(``model``, ``image``, ``step``, ``time``, ``png`` in base64). A damaged line is
reported with its file and line number and skipped; the rest is imported. Every
line is imported under a batch id made from its content, so importing the same file
twice stores it once.

``import`` also reads the original node.js pastalog's ``database.json``.
"""
import base64
import gzip
import hashlib
import json
import logging
import math
import os

import numpy as np

from ..errors import BadRequest, ImportFileError, InvalidName
from ..names import check_name
from ..progress import Progress
from .jsonio import dumps, parse_steps, parse_value, parse_values
from .store import png_size

__all__ = ["export_file", "import_file"]

log = logging.getLogger("pastalog")

FORMAT = "pastalog-export"
_PIECE = 100_000


def _open(path, mode, gz=None):
    if str(path).endswith(".gz") if gz is None else gz:
        return gzip.open(path, mode + "t", encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def export_file(store, path):
    """Write everything in ``store`` to ``path``; returns (points, images)."""
    series = list(store.iter_series())
    images = list(store.iter_images())
    bar = Progress("exporting", len(series) + len(images))
    points = 0
    tmp = f"{path}.partial"
    with _open(tmp, "w", gz=str(path).endswith(".gz")) as out:
        out.write(json.dumps({"format": FORMAT, "version": 1}) + "\n")
        for i, (model, name) in enumerate(series):
            data = store.read_series(model, name)
            n = len(data["steps"])
            for lo in range(0, n, _PIECE):
                out.write(dumps({"model": model, "series": name,
                                 "steps": data["steps"][lo:lo + _PIECE],
                                 "values": data["values"][lo:lo + _PIECE],
                                 "times": data["times"][lo:lo + _PIECE]}).decode() + "\n")
            points += n
            bar.update(i + 1, f"{points:,} points")
        for j, (model, name, step, when, sha) in enumerate(images):
            with open(store.blob_path(sha), "rb") as fh:
                png = base64.b64encode(fh.read()).decode("ascii")
            out.write(dumps({"model": model, "image": name, "step": step, "time": when,
                             "png": png}).decode() + "\n")
            bar.update(len(series) + j + 1, f"{j + 1:,} images")
    os.replace(tmp, path)
    bar.finish()
    return points, len(images)


def import_file(store, path):
    """Import ``path`` (our export or the original ``database.json``) into ``store``.

    Returns
    -------
    dict
        ``{"points": n, "images": n, "skipped": n, "format": "..."}``
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
    counts = {"points": 0, "images": 0, "skipped": 0, "format": FORMAT}
    size = os.path.getsize(path)
    bar = Progress("importing", size)
    with open(path, "rb") as raw:
        fh = gzip.open(raw, "rt", encoding="utf-8") if str(path).endswith(".gz") else \
            open(raw.fileno(), "r", encoding="utf-8", closefd=False)
        lineno = 0
        try:
            for lineno, line in enumerate(fh, start=1):
                if lineno == 1:
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


def _reason(exc, line):
    if not line.endswith("\n"):
        return "the line is truncated"
    return str(exc)


def _import_line(store, line, counts):
    rec = json.loads(line)
    if not isinstance(rec, dict):
        raise ValueError("a line must be a JSON object")
    model = check_name(rec["model"], "model name")
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


def _read_csv_numbers(path):
    """The cells of one of the original pastalog's CSV files (``0,1,2,``)."""
    with open(path, encoding="utf-8") as fh:
        cells = fh.read().strip().split(",")
    if cells and cells[-1].strip() == "":
        cells.pop()
    return [c.strip() for c in cells]


def _import_original(store, path):
    """The node.js pastalog's database.json and its CSV files."""
    try:
        with open(path, encoding="utf-8") as fh:
            db = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
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
    for i, (model, name, files) in enumerate(entries):
        try:
            check_name(model, "model name")
            check_name(name)
            steps_raw = _read_csv_numbers(os.path.join(base, files["indices"]))
            values_raw = _read_csv_numbers(os.path.join(base, files["values"]))
        except (OSError, KeyError, TypeError, InvalidName) as exc:
            counts["skipped"] += 1
            log.warning("pastalog: %s: series %r of model %r skipped: %s", path, name, model,
                        getattr(exc, "strerror", None) or exc)
            continue
        if len(steps_raw) != len(values_raw):
            log.warning("pastalog: %s: series %r of model %r has %d steps but %d values; "
                        "kept the first %d", path, name, model, len(steps_raw),
                        len(values_raw), min(len(steps_raw), len(values_raw)))
        steps, values, prev = [], [], -1
        for s_text, v_text in zip(steps_raw, values_raw):
            step = prev + 1 if s_text in ("undefined", "", "null") else _number(s_text)
            value = math.nan if v_text in ("undefined", "", "null") else _number(v_text)
            if step is None or value is None or step != int(step):
                counts["skipped"] += 1
                continue
            prev = int(step)
            steps.append(prev)
            values.append(float(value))
        steps, values = np.array(steps, np.int64), np.array(values, np.float64)
        # The same series imported twice is stored once: its batch id is its content.
        digest = hashlib.sha256(f"{model}\0{name}\0".encode() + steps.tobytes()
                                + values.tobytes()).hexdigest()[:40]
        result = store.write_points([(model, name, steps, values, np.full(len(steps), when))],
                                    batch_id=f"import:node:{digest}")
        counts["points"] += result["points"]
        bar.update(i + 1)
    bar.finish()
    return counts


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None
