"""``pastalog import LOGDIR``: TensorBoard event files written here by torch's SummaryWriter."""
import io
import math
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT
from pastalog.server import tb_import
from pastalog.server.store import Store

pytest.importorskip("tensorboard")
torch_tb = pytest.importorskip("torch.utils.tensorboard")
Image = pytest.importorskip("PIL.Image")

SummaryWriter = torch_tb.SummaryWriter


def cli(*args):
    return subprocess.run([sys.executable, "-m", "pastalog", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def points(store, model, name):
    """``{step: (value, time)}`` of one stored series."""
    data = store.read_series(model, name)
    return {int(s): (float(v), float(t))
            for s, v, t in zip(data["steps"], data["values"], data["times"])}


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) ==
                                                 math.copysign(1, b))


def records(path):
    """``(offset, length)`` of each TFRecord in an event file (its framing)."""
    out, data, pos = [], open(path, "rb").read(), 0
    while pos < len(data):
        (n,) = struct.unpack("<Q", data[pos:pos + 8])
        out.append((pos, n + 16))
        pos += n + 16
    return out


def only_file(folder):
    (name,) = [f for f in os.listdir(folder) if "tfevents" in f]
    return os.path.join(folder, name)


VALUES = [0.5, math.nan, math.inf, -math.inf, -0.0, 1e30, -2.5e-30, 3.0, 0.1, 7.0]
STEPS = [0, 1, 2, 3, 4, 10, 2**40, -5, -(2**53 - 1), 2**53 - 1]


def test_scalars_keep_every_step_value_and_time(tmp_path):
    w = SummaryWriter(tmp_path / "logs")
    for i, (step, value) in enumerate(zip(STEPS, VALUES)):
        w.add_scalar("loss", value, step, walltime=1.7e9 + i / 7)          # float32 (v1)
        w.add_scalar("train/acc", value, step, walltime=1.8e9 + i / 3,       # float64 tensor
                     new_style=True, double_precision=True)
    w.add_scalar("loss", 1.0, 2**53, walltime=1.0)       # outside ±(2**53-1): skipped
    w.add_scalar("loss", 1.0, -(2**53), walltime=1.0)
    w.close()
    store = Store(tmp_path / "data")
    counts = tb_import.import_logdir(store, tmp_path / "logs")
    assert counts["points"] == 20 and counts["bad_steps"] == 2 and counts["skipped"] == 2
    assert [m for m, _ in store.iter_series()] == ["logs", "logs"]
    loss, acc = points(store, "logs", "loss"), points(store, "logs", "train/acc")
    assert sorted(loss) == sorted(acc) == sorted(STEPS)
    for i, (step, value) in enumerate(zip(STEPS, VALUES)):
        assert same(loss[step][0], float(np.float32(value))), (step, loss[step], value)
        assert same(acc[step][0], value), (step, acc[step], value)
        assert loss[step][1] == 1.7e9 + i / 7 and acc[step][1] == 1.8e9 + i / 3
    assert "2 with a step outside" in tb_import.summary_line(counts, "D")


def test_long_series_written_in_pieces_and_imported_once(tmp_path, monkeypatch):
    monkeypatch.setattr(tb_import, "PIECE", 7)       # a series' piece
    monkeypatch.setattr(tb_import, "HELD", 10)       # all series of a run
    w = SummaryWriter(tmp_path / "logs")
    for step in range(100):
        w.add_scalar("s", step * 0.25, step, walltime=1e9 + step)
        if step % 3 == 0:
            w.add_scalar("t", -step, step, walltime=2e9 + step)
    w.close()
    store = Store(tmp_path / "data")
    first = tb_import.import_logdir(store, tmp_path / "logs")
    again = tb_import.import_logdir(store, tmp_path / "logs")
    assert first["points"] == 134 and again["points"] == 0
    assert again["duplicate_points"] == 134
    assert points(store, "logs", "s") == {step: (step * 0.25, 1e9 + step)
                                          for step in range(100)}
    assert points(store, "logs", "t") == {step: (-step, 2e9 + step)
                                          for step in range(0, 100, 3)}


def test_images_pixel_equal(tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (5, 8, 4), dtype=np.uint8)
    w = SummaryWriter(tmp_path / "logs")
    w.add_image("pics/rgb", rgb, 3, walltime=5.0, dataformats="HWC")
    w.add_image("pics/rgb", rgb[::-1].copy(), 9, walltime=6.0, dataformats="HWC")
    w.add_image("rgba", rgba, 0, dataformats="HWC")
    # A JPEG-encoded image summary (TensorBoard shows any encoding): stored as PNG.
    from tensorboard.compat.proto.summary_pb2 import Summary
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG")
    jpeg = buf.getvalue()
    w._get_file_writer().add_summary(Summary(value=[Summary.Value(
        tag="jpeg", image=Summary.Image(height=13, width=17, colorspace=3,
                                        encoded_image_string=jpeg))]), 4, 7.0)
    w.close()
    store = Store(tmp_path / "data")
    counts = tb_import.import_logdir(store, tmp_path / "logs")
    assert counts["images"] == 4 and counts["skipped"] == 0

    def decoded(name):
        out = []
        for rec in store.images("logs", name):
            blob = store.read_blob(rec["sha"])
            assert blob[:8] == b"\x89PNG\r\n\x1a\n"
            out.append((rec["step"], rec["time"], np.array(Image.open(io.BytesIO(blob)))))
        return sorted(out, key=lambda r: r[0])

    (s0, t0, a0), (s1, t1, a1) = decoded("pics/rgb")
    assert (s0, t0, s1, t1) == (3, 5.0, 9, 6.0)
    np.testing.assert_array_equal(a0, rgb)
    np.testing.assert_array_equal(a1, rgb[::-1])
    np.testing.assert_array_equal(decoded("rgba")[0][2], rgba)
    ((step, _, pixels),) = decoded("jpeg")
    assert step == 4
    np.testing.assert_array_equal(pixels, np.array(Image.open(io.BytesIO(jpeg))))


def test_cli_runs_named_by_path_twice_stores_once_text_skipped(tmp_path):
    logs = tmp_path / "mylogs"
    for run, scale in (("", 1.0), ("a", 2.0), ("b/c", 3.0)):
        w = SummaryWriter(logs / run)
        for step in range(5):
            w.add_scalar("loss", scale * step, step)
        w.add_image("img", np.full((2, 3, 3), int(scale), np.uint8), 0, dataformats="HWC")
        if run == "a":
            for step in range(4):
                w.add_histogram("weights", np.arange(10.0) * step, step)
            w.add_text("notes", "hello", 0)
        w.close()
    (logs / "b" / "notes.txt").write_text("not an event file")
    data = tmp_path / "data"
    out = cli("import", logs, "--data", data)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("imported 15 points in 3 series, 3 images and 4 histogram "
                                 "records from 3 runs (3 event files)"), out.stdout
    assert "skipped 1 text summary" in out.stdout, out.stdout
    store = Store(data)
    assert sorted(m for m, _ in store.iter_series()) == ["a", "b/c", "mylogs"]
    for model, scale in (("mylogs", 1.0), ("a", 2.0), ("b/c", 3.0)):
        assert [v for v, _ in points(store, model, "loss").values()] == \
            [scale * s for s in range(5)]
    before = (store.total_points(), len(list(store.iter_images())))
    store.close()
    again = cli("import", logs, "--data", data)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("imported 0 points in 0 series and 0 images"), again.stdout
    assert "already stored: 15 points and 3 images and 4 histogram records" in again.stdout
    store = Store(data)
    assert (store.total_points(), len(list(store.iter_images()))) == before == (15, 3)
    assert store.read_histograms("a", "weights")["total"] == 4


def test_truncated_and_corrupt_files_are_counted_skips(tmp_path):
    logs = tmp_path / "logs"
    for run in ("good", "truncated", "corrupt"):
        w = SummaryWriter(logs / run)
        for step in range(20):
            w.add_scalar("x", float(step), step)
        w.close()
    data = tmp_path / "data"
    first = cli("import", logs / "good", "--data", data)      # already stored: kept
    assert first.returncode == 0 and "imported 20 points" in first.stdout, first.stderr
    # Cut the last record in half; flip a byte inside record 8 (the file_version
    # event is record 0, so 7 scalars come before it).
    path = only_file(logs / "truncated")
    off, n = records(path)[-1]
    os.truncate(path, off + n // 2)
    path = only_file(logs / "corrupt")
    off, n = records(path)[8]
    raw = bytearray(open(path, "rb").read())
    raw[off + 14] ^= 0xFF
    open(path, "wb").write(bytes(raw))
    out = cli("import", logs, "--data", data)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert "the rest of 2 truncated or corrupt files" in out.stdout, out.stdout
    lines = out.stderr.splitlines()
    assert any("/truncated/" in line and "is truncated mid-record" in line
               and "after 20 records" in line for line in lines), out.stderr
    assert any("/corrupt/" in line and "is corrupt: a checksum failed" in line
               and "after 8 records" in line for line in lines), out.stderr
    store = Store(data)
    assert sorted(points(store, "good", "x")) == list(range(20))
    assert sorted(points(store, "truncated", "x")) == list(range(19))
    assert sorted(points(store, "corrupt", "x")) == list(range(7))


def test_no_event_files_is_a_clear_error(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.txt").write_text("hi")
    out = cli("import", tmp_path / "empty", "--data", tmp_path / "data")
    assert out.returncode == 1
    assert "holds no TensorBoard event files" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_histograms_bucket_counts_equal_and_imported_once(tmp_path):
    from torch.utils.tensorboard import summary

    rng = np.random.default_rng(3)
    logs = tmp_path / "logs"
    w = SummaryWriter(logs)
    written = {}
    for step in range(6):
        values = rng.standard_normal(1000) * (step + 1)
        w.add_histogram("layer/W", values, step * 10)
        written[step * 10] = summary.histogram("layer/W", values,
                                               w.default_bins).value[0].histo
    w.add_histogram("const", np.full(50, 2.0), 0)
    w.close()
    store = Store(tmp_path / "data")
    counts = tb_import.import_logdir(store, logs)
    assert counts["histograms"] == 7 and counts["skipped"] == 0
    got = store.read_histograms("logs", "layer/W")
    assert [r["step"] for r in got["records"]] == sorted(written)
    for rec in got["records"]:
        histo = written[rec["step"]]
        full = np.flatnonzero(histo.bucket)   # TensorBoard shows first to last non-empty
        lo, hi = full[0], full[-1]
        assert rec["counts"].tolist() == list(histo.bucket[lo:hi + 1])
        assert sum(histo.bucket) == sum(rec["counts"]) == rec["count"] == histo.num == 1000
        assert rec["edges"].tolist() == [histo.min] + list(histo.bucket_limit[lo:hi]) + \
            [histo.max]
        assert (rec["min"], rec["max"], rec["sum"], rec["sumsq"]) == \
            (histo.min, histo.max, histo.sum, histo.sum_squares)
    const = store.read_histograms("logs", "const")["records"][0]
    assert const["count"] == 50 and sum(const["counts"]) == 50
    again = tb_import.import_logdir(store, logs)
    assert (again["histograms"], again["duplicate_histograms"]) == (0, 7)
    assert store.read_histograms("logs", "layer/W")["total"] == 6
    store.close()
