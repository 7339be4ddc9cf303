"""``pastalog import LOGDIR``: TensorBoard event files into a store.

Every directory under ``LOGDIR`` that holds event files (``*tfevents*``) is one run,
stored as the model named by its path under ``LOGDIR`` (``LOGDIR`` itself: its
basename). The files are read with the ``tensorboard`` package's own record reader
and its read-time compatibility layers (``data_compat``, ``dataclass_compat``), event by
event: nothing is sampled away (there is no size guidance to set), and memory stays
bounded (points are written in pieces of at most ``PIECE`` a series, ``HELD`` a run).

What becomes what:

- scalar summaries (the ``scalars`` plugin): points of the series named by the tag,
  with the event's exact step, value (NaN and ±inf kept) and wall time;
- image summaries (``images``): PNG images named by the tag (``tag/1``, ``tag/2``...
  for the second and later images of one summary); images encoded otherwise are
  converted to PNG with Pillow;
- histogram summaries (``histograms``; the legacy ``histo`` form is migrated to it by
  ``data_compat``): histogram records named by the tag, with the buckets' edges and
  counts exactly (a tensor of ``[left, right, count]`` rows becomes edges
  ``[left_0, right_0, ..., right_k]``). A legacy ``histo`` summary (what
  ``torch.utils.tensorboard`` and tensorboardX write) is read as written, with its exact
  ``num``, ``min``, ``max``, ``sum`` and ``sum_squares``, its buckets from the first to
  the last non-empty one as TensorBoard shows them; the tensor form keeps only buckets,
  so ``count`` is their total, ``min``/``max`` the outer edges and ``sum``/``sumsq``
  are estimated from the bucket centres;
- everything else (text, graphs, hparams, audio...): counted as skipped and named by
  plugin in the summary line.

A step outside ±``MAX_STEP``, a name the store refuses and an image that cannot be
decoded are counted skips. A file truncated mid-record or corrupt (a failed CRC) keeps
the events read before the damage and is counted as one damaged file; the rest of the
file cannot be read past the damage (TensorBoard stops there too).

Importing the same logdir twice stores it once: every piece of points and every image
is written under a batch id made from its content, and the store drops a batch id it
has seen.
"""
import collections
import hashlib
import io
import logging
import os
from array import array

import numpy as np

from ..errors import BadRequest, ImportFileError, InvalidName, LimitExceeded
from ..limits import MAX_STEP, PNG_SIGNATURE, check_step_range
from ..names import check_name
from ..progress import Progress
from .store import png_size
from .store.histograms import check_record

__all__ = ["find_runs", "import_logdir", "summary_line"]

log = logging.getLogger("pastalog")

FORMAT = "tensorboard"
#: Points of one series held before they are written as one batch.
PIECE = 100_000
#: Points of all series of a run held at most: past it, every series is written.
HELD = 1_000_000
#: Histogram records of a run held before they are written as one batch.
HIST_PIECE = 500
_HEAD = 16  # bytes of a TFRecord's frame around its data: length, two CRCs


def _tensorboard():
    """The parts of the ``tensorboard`` package the import uses, or a clear error."""
    try:
        from tensorboard import data_compat, dataclass_compat
        from tensorboard.backend.event_processing import event_file_loader, io_wrapper
        from tensorboard.compat import tf
        from tensorboard.compat.proto import event_pb2
        from tensorboard.util import tensor_util
    except ImportError as exc:
        raise ImportFileError(
            f"reading TensorBoard logs needs the tensorboard package ({exc}); install it "
            "with: pip install 'pastalog[tensorboard]'") from None
    return {"data_compat": data_compat, "dataclass_compat": dataclass_compat,
            "loader": event_file_loader, "io_wrapper": io_wrapper, "tf": tf,
            "event_pb2": event_pb2, "tensor_util": tensor_util}


def find_runs(logdir, is_events_file=None):
    """The runs under ``logdir``: a sorted list of ``(run name, [event file paths])``.

    Parameters
    ----------
    logdir : str
        A TensorBoard log directory.
    is_events_file : callable, optional
        Whether a file name is an event file (default: ``"tfevents"`` in the name,
        TensorBoard's own rule).

    Returns
    -------
    list of (str, list of str)
        A run is a directory holding event files, named by its path under ``logdir``
        with ``/`` between parts (``logdir`` itself: its basename); its files in name
        order (the order TensorBoard reads them in).

    Examples
    --------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(root, "a", "b"))
    >>> open(os.path.join(root, "a", "b", "events.out.tfevents.1.x"), "w").close()
    >>> [(name, len(files)) for name, files in find_runs(root)]
    [('a/b', 1)]
    """
    test = is_events_file or (lambda name: "tfevents" in name)
    root = os.path.abspath(logdir)
    runs = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        events = sorted(f for f in files if test(f)
                        and os.path.isfile(os.path.join(folder, f)))
        if not events:
            continue
        rel = os.path.relpath(folder, root)
        name = os.path.basename(root) if rel == "." else rel.replace(os.sep, "/")
        runs.append((name, [os.path.join(folder, f) for f in events]))
    return sorted(runs)


class _Counts(dict):
    """What an import did: the numbers ``summary_line`` prints."""

    def __init__(self):
        super().__init__(points=0, images=0, histograms=0, skipped=0, format=FORMAT, runs=0,
                         series=0, files=0, damaged=0, duplicate_points=0,
                         duplicate_images=0, duplicate_histograms=0,
                         bad_steps=0, bad_records=0, bad_runs=0,
                         plugins=collections.Counter())
        self.bar = None   # the progress bar, cleared before a warning


def _warn(counts, message, *args):
    """Log a warning on a line of its own (clearing the progress bar's line first)."""
    if counts.bar is not None:
        counts.bar.finish()
    log.warning(message, *args)


class _Pending(dict):
    """The series of one run, by tag, and how many points they hold in all; its
    histogram records not yet written (``hists``)."""

    total = 0

    def __init__(self):
        super().__init__()
        self.hists = []


class _Series:
    """The points of one (run, tag) not yet written."""

    def __init__(self):
        self.steps, self.values, self.times = array("q"), array("d"), array("d")
        self.pieces = 0
        self.stored = False


def import_logdir(store, logdir):
    """Import the TensorBoard event files under ``logdir`` into ``store``.

    Parameters
    ----------
    store : pastalog.server.store.Store
        Where the points and images go.
    logdir : str
        A TensorBoard log directory (``SummaryWriter(log_dir=...)`` or its parent).

    Returns
    -------
    dict
        ``points``, ``images``, ``histograms`` (newly stored), ``runs``, ``series``, ``files``,
        ``skipped`` (records not imported), ``damaged`` (files truncated or corrupt),
        ``bad_steps``, ``bad_records``, ``bad_runs`` (names the store refuses),
        ``duplicate_points``, ``duplicate_images``, ``duplicate_histograms``
        (already in the store), ``plugins`` (a Counter of summaries skipped, by plugin),
        ``format`` (``"tensorboard"``).

    Raises
    ------
    ImportFileError
        ``logdir`` holds no event files, or the ``tensorboard`` package is missing.

    Examples
    --------
    >>> import tempfile
    >>> from pastalog.server.store import Store
    >>> import_logdir(Store(tempfile.mkdtemp()), tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pastalog.errors.ImportFileError: ... holds no TensorBoard event files ...
    """
    if not os.path.isdir(logdir):
        raise ImportFileError(f"{logdir}: no such directory")
    tb = _tensorboard()
    runs = find_runs(logdir, tb["io_wrapper"].IsSummaryEventsFile)
    if not runs:
        raise ImportFileError(f"{logdir} holds no TensorBoard event files (no file named "
                              "*tfevents* in it or below it)")
    counts = _Counts()
    sizes = {path: os.path.getsize(path) for _, files in runs for path in files}
    bar = counts.bar = Progress("importing", sum(sizes.values()))
    done = 0
    for run, files in runs:
        try:
            model = check_name(run, "model name")
        except InvalidName as exc:
            counts["bad_runs"] += 1
            _warn(counts, "pastalog: run %r skipped (its name is not a model name): %s", run,
                        exc)
            done += sum(sizes[p] for p in files)
            continue
        counts["runs"] += 1
        pending = _Pending()
        metadata = {}   # dataclass_compat's memory of each tag's first metadata, per run
        for path in files:
            counts["files"] += 1
            read = 0
            for size, event, histos in _events(tb, path, metadata, counts):
                read += size
                _take(store, model, event, pending, counts, tb, histos)
                bar.update(done + read, f"{counts['points']:,} points, "
                           f"{counts['images']:,} images")
            done += sizes[path]
        for tag, series in pending.items():
            _flush(store, model, tag, series, counts)
        _flush_histograms(store, model, pending, counts)
        counts["series"] += sum(s.stored for s in pending.values())
    bar.finish()
    if counts["bad_steps"]:
        _warn(counts, "pastalog: %s: skipped %d records whose step is outside ±%d",
                    logdir, counts["bad_steps"], MAX_STEP)
    return counts


def _events(tb, path, metadata, counts):
    """``(record size, migrated Event, {tag: legacy HistogramProto})`` of one event file;
    damage logged and counted. The legacy histograms are kept as written: migration
    turns them into float32 buckets without their exact statistics."""
    tf, event_pb2 = tb["tf"], tb["event_pb2"]
    from google.protobuf.message import DecodeError

    try:
        records = tb["loader"]._make_tf_record_iterator(path)
    except (OSError, tf.errors.OpError) as exc:
        counts["damaged"] += 1
        _warn(counts, "pastalog: %s: cannot read it (%s); skipped it", path, exc)
        return
    n = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except (tf.errors.DataLossError, OSError) as exc:
            counts["damaged"] += 1
            _warn(counts, "pastalog: %s is %s after %d records; kept those, skipped the rest "
                        "of the file", path, _why(exc, path), n)
            return
        n += 1
        try:
            raw = event_pb2.Event.FromString(record)
            histos = ({v.tag: v.histo for v in raw.summary.value
                       if v.WhichOneof("value") == "histo"}
                      if raw.WhichOneof("what") == "summary" else {})
            event = tb["data_compat"].migrate_event(raw)
            events = tb["dataclass_compat"].migrate_event(event, metadata)
        except (DecodeError, ValueError, TypeError) as exc:
            counts["bad_records"] += 1
            counts["skipped"] += 1
            _warn(counts, "pastalog: %s record %d is not an event (%s); skipped it",
                        path, n, exc)
            continue
        size = len(record) + _HEAD
        for event in events:
            yield size, event, histos
            size = 0


def _why(exc, path):
    """What the record reader found wrong, without the file's name it repeats."""
    text = str(getattr(exc, "message", None) or exc or type(exc).__name__)
    for name in (repr(os.fsencode(path)), repr(os.fsdecode(path)), os.fsdecode(path)):
        text = text.replace(name, "").strip()
    if "truncated" in text:
        return f"truncated mid-record ({text})"
    if "crc" in text.lower():
        return f"corrupt: a checksum failed ({text})"
    return f"damaged ({text})"


def _take(store, model, event, pending, counts, tb, histos=None):
    """File the summaries of one event: points pending, images written, others counted."""
    if event.WhichOneof("what") != "summary":
        return
    for value in event.summary.value:
        plugin = value.metadata.plugin_data.plugin_name or value.WhichOneof("value") or "?"
        if plugin not in ("scalars", "images", "histograms"):
            counts["plugins"][plugin] += 1
            counts["skipped"] += 1
            continue
        if not check_step_range(event.step):
            counts["bad_steps"] += 1
            counts["skipped"] += 1
            continue
        try:
            array_ = tb["tensor_util"].make_ndarray(value.tensor)
        except (ValueError, TypeError) as exc:
            counts["bad_records"] += 1
            counts["skipped"] += 1
            _warn(counts, "pastalog: run %r tag %r step %d: unreadable tensor (%s); skipped",
                        model, value.tag, event.step, exc)
            continue
        if plugin == "histograms":
            _take_histogram(store, model, value.tag, event, array_, pending, counts,
                            (histos or {}).get(value.tag))
        elif plugin == "scalars":
            if array_.size != 1 or array_.dtype.kind not in "fiub":
                counts["bad_records"] += 1
                counts["skipped"] += 1
                continue
            series = pending.get(value.tag)
            if series is None:
                series = pending[value.tag] = _Series()
            series.steps.append(event.step)
            series.values.append(float(array_.reshape(-1)[0]))
            series.times.append(event.wall_time)
            pending.total += 1
            if len(series.steps) >= PIECE:
                pending.total -= len(series.steps)
                _flush(store, model, value.tag, series, counts)
            elif pending.total >= HELD:
                for tag, held in pending.items():
                    _flush(store, model, tag, held, counts)
                pending.total = 0
        else:
            blobs = array_.reshape(-1)[2:]   # [width, height, image, image, ...]
            for k, blob in enumerate(blobs):
                name = value.tag if k == 0 else f"{value.tag}/{k}"
                _write_image(store, model, name, bytes(blob), event, counts)


def _flush(store, model, tag, series, counts):
    """Write the pending points of one series as one batch named by its content."""
    if not series.steps:
        return
    steps = np.frombuffer(series.steps, np.int64)
    values = np.frombuffer(series.values, np.float64)
    times = np.frombuffer(series.times, np.float64)
    digest = hashlib.sha256(f"{model}\0{tag}\0{series.pieces}\0".encode() + steps.tobytes()
                            + values.tobytes() + times.tobytes()).hexdigest()[:40]
    series.pieces += 1
    series.steps, series.values, series.times = array("q"), array("d"), array("d")
    try:
        check_name(tag)
        result = store.write_points([(model, tag, steps, values, times)],
                                    batch_id=f"import:tb:{digest}")
    except (BadRequest, InvalidName, LimitExceeded) as exc:
        counts["skipped"] += len(steps)
        counts["bad_records"] += len(steps)
        _warn(counts, "pastalog: run %r: %d points of tag %r skipped: %s", model, len(steps),
                    tag, exc)
        return
    series.stored = series.stored or result["points"] > 0
    counts["points"] += result["points"]
    if result.get("duplicate"):
        counts["duplicate_points"] += len(steps)


def _legacy_histogram(histo):
    """Edges, counts and exact statistics of a legacy ``HistogramProto``: its buckets
    from the first to the last non-empty one (as TensorBoard shows them), ``min`` and
    ``max`` as the outer edges, in float64."""
    counts_ = np.array(histo.bucket, np.float64)
    full = np.flatnonzero(counts_)
    if not len(full):
        return np.empty(0), np.empty(0), {"count": 0, "min": None, "max": None,
                                          "sum": 0.0, "sumsq": 0.0}
    start, end = int(full[0]), int(full[-1])
    inner = np.array(histo.bucket_limit, np.float64)[start:end]
    edges = np.concatenate([[histo.min], inner, [histo.max]])
    return edges, counts_[start:end + 1], {
        "count": int(round(histo.num)), "min": histo.min, "max": histo.max,
        "sum": histo.sum, "sumsq": histo.sum_squares}


def _take_histogram(store, model, tag, event, rows, pending, counts, histo=None):
    """One histogram summary (``[left, right, count]`` rows, or the legacy proto it was
    migrated from) as a pending record."""
    try:
        rows = np.asarray(rows, np.float64)
        if rows.ndim != 2 or rows.shape[1] != 3:
            raise ValueError(f"a histogram tensor has [left, right, count] rows, got shape "
                             f"{rows.shape}")
        if histo is not None:
            edges, counts_, stats = _legacy_histogram(histo)
        elif len(rows):
            edges = np.concatenate([rows[:1, 0], rows[:, 1]])
            counts_ = rows[:, 2]
            centres = (rows[:, 0] + rows[:, 1]) / 2
            stats = {"count": int(round(counts_.sum())), "min": edges[0], "max": edges[-1],
                     "sum": float(counts_ @ centres), "sumsq": float(counts_ @ centres ** 2)}
        else:
            edges = counts_ = np.empty(0)
            stats = {"count": 0, "min": None, "max": None, "sum": 0.0, "sumsq": 0.0}
        record = check_record({"model": model, "name": tag, "step": int(event.step),
                               "time": event.wall_time, "edges": edges, "counts": counts_,
                               **stats}, f"histogram {tag!r} at step {event.step}")
    except (BadRequest, InvalidName, ValueError) as exc:
        counts["bad_records"] += 1
        counts["skipped"] += 1
        _warn(counts, "pastalog: run %r histogram %r step %d skipped: %s", model, tag,
              event.step, exc)
        return
    pending.hists.append(record)
    if len(pending.hists) >= HIST_PIECE:
        _flush_histograms(store, model, pending, counts)


def _flush_histograms(store, model, pending, counts):
    """Write a run's pending histogram records as one batch named by its content."""
    records, pending.hists = pending.hists, []
    if not records:
        return
    digest = hashlib.sha256(model.encode())
    for r in records:
        digest.update(f"\0{r['name']}\0{r['step']}\0{r['time']!r}\0".encode()
                      + r["edges"].tobytes() + r["counts"].tobytes())
    try:
        written = store.write_histograms(records, f"import:tb:h:{digest.hexdigest()[:40]}")
    except (BadRequest, InvalidName, LimitExceeded) as exc:
        counts["skipped"] += len(records)
        counts["bad_records"] += len(records)
        _warn(counts, "pastalog: run %r: %d histogram records skipped: %s", model,
              len(records), exc)
        return
    if written is None:
        counts["duplicate_histograms"] += len(records)
    else:
        counts["histograms"] += len(written)


def _write_image(store, model, name, blob, event, counts):
    try:
        png = blob if blob[:8] == PNG_SIGNATURE else _to_png(blob)
        png_size(png)
        check_name(name, "image name")
        digest = hashlib.sha256(f"{model}\0{name}\0{event.step}\0{event.wall_time!r}\0"
                                .encode() + png).hexdigest()[:40]
        record = store.write_image(model, name, png, int(event.step), event.wall_time,
                                   batch_id=f"import:tb:{digest}")
    except (BadRequest, InvalidName, LimitExceeded, ValueError, OSError) as exc:
        counts["bad_records"] += 1
        counts["skipped"] += 1
        _warn(counts, "pastalog: run %r image %r step %d skipped: %s", model, name,
                    event.step, exc)
        return
    if record is None:
        counts["duplicate_images"] += 1
    else:
        counts["images"] += 1


def _to_png(blob):
    """An image in another format (JPEG, GIF...) re-encoded as PNG with Pillow."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ValueError("the image is not a PNG, and converting it needs Pillow "
                         "(pip install Pillow)") from None
    try:
        with Image.open(io.BytesIO(blob)) as img:
            img.load()
            if img.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
                img = img.convert("RGBA" if "A" in img.mode else "RGB")
            out = io.BytesIO()
            img.save(out, format="PNG")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"not an image Pillow can read ({exc})") from None
    return out.getvalue()


def summary_line(counts, where):
    """The one line ``pastalog import LOGDIR`` prints.

    Examples
    --------
    >>> c = _Counts()
    >>> c.update(points=5, runs=1, series=2, files=1, skipped=15)
    >>> c["plugins"].update({"audio": 12, "text": 3})
    >>> summary_line(c, "/data")
    'imported 5 points in 2 series and 0 images from 1 run (1 event file) into /data; skipped 12 audio and 3 text summaries'
    """
    runs = counts["runs"]
    images = f"{counts['images']:,} image{'s' * (counts['images'] != 1)}"
    hists = counts.get("histograms", 0)
    what = (f"series, {images} and {hists:,} histogram record{'s' * (hists != 1)}" if hists
            else f"series and {images}")
    line = (f"imported {counts['points']:,} points in {counts['series']:,} {what} from "
            f"{runs:,} run{'s' * (runs != 1)} "
            f"({counts['files']:,} event file{'s' * (counts['files'] != 1)}) into {where}")
    skips = []
    plugins = counts["plugins"]
    if plugins:
        kinds = [f"{n:,} {_plugin_word(p)}" for p, n in plugins.most_common()]
        skips.append(_and(kinds) + f" summar{'ies' if sum(plugins.values()) != 1 else 'y'}")
    if counts["bad_steps"]:
        skips.append(f"{counts['bad_steps']:,} with a step outside ±(2**53-1)")
    if counts["bad_records"]:
        skips.append(f"{counts['bad_records']:,} unreadable records")
    if counts["bad_runs"]:
        skips.append(f"{counts['bad_runs']:,} run{'s' * (counts['bad_runs'] != 1)} whose "
                     "path is not a valid model name")
    if counts["damaged"]:
        skips.append(f"the rest of {counts['damaged']:,} truncated or corrupt "
                     f"file{'s' * (counts['damaged'] != 1)}")
    if skips:
        line += "; skipped " + ", ".join(skips)
    dupes = counts["duplicate_points"] + counts["duplicate_images"]
    dupe_hists = counts.get("duplicate_histograms", 0)
    if dupes or dupe_hists:
        line += (f"; already stored: {counts['duplicate_points']:,} points and "
                 f"{counts['duplicate_images']:,} images")
        if dupe_hists:
            line += f" and {dupe_hists:,} histogram records"
    return line


def _plugin_word(plugin):
    return {"histograms": "histogram", "images": "image", "graphs": "graph",
            "pr_curves": "PR-curve"}.get(plugin, plugin)


def _and(parts):
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
