"""The client: validation at the call, batching in the background, no loss on outages."""
import logging
import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import pastalog
from pastalog.wire import decode_batch

from helpers import ROOT, ServerProcess, free_port


class Recorder:
    """A transport that keeps every request in memory (the boundary mock)."""

    def __init__(self, status=200):
        self.status = status
        self.requests = []

    def __call__(self, path, body, ctype):
        if self.status != 200:
            raise ConnectionRefusedError(111, "Connection refused")
        self.requests.append((path, body, ctype))
        return 200, b"{}"

    def points(self):
        out = {}
        for path, body, _ in self.requests:
            if path == "/api/v1/points":
                for model, name, steps, values, times in decode_batch(body)[1]:
                    got = out.setdefault((model, name), ([], []))
                    got[0].extend(np.frombuffer(steps, "<i8").tolist())
                    got[1].extend(np.frombuffer(values, "<f8").tolist())
        return out


@pytest.fixture
def recorded(tmp_path):
    rec = Recorder()
    log = pastalog.Log(1, "m", transport=rec, spool_dir=str(tmp_path / "spool"))
    yield log, rec
    log.close()


def test_public_names():
    assert pastalog.__all__ == sorted(pastalog.__all__)
    assert set(pastalog.__all__) == {"Histogram", "InvalidName", "InvalidValue", "Log",
                                     "PastalogError", "__version__", "finish", "init", "log"}


def test_client_imports_with_the_standard_library_alone():
    code = ("import sys, pastalog; "
            "bad = [m for m in ('numpy', 'gevent', 'bottle') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == ""


def test_steps_continue_per_series_and_values_convert(recorded):
    log, rec = recorded
    log.write("loss", 2.7)
    log.write("loss", np.float32(2.5))
    log.write("acc", True)
    log.write("loss", np.array(2.25))
    log.post("loss", 7, 10)
    log.write("loss", 1)
    log.write_many({"loss": 0.5, "acc": np.int64(3)}, step=20)

    class Tensorish:
        def item(self):
            return 0.125
    log.write("acc", Tensorish())
    assert log.flush(timeout=5)
    got = rec.points()
    assert got[("m", "loss")] == ([0, 1, 2, 10, 11, 20], [2.7, 2.5, 2.25, 7.0, 1.0, 0.5])
    assert got[("m", "acc")] == ([0, 20, 21], [1.0, 3.0, 0.125])


@pytest.mark.parametrize("call, error", [
    (lambda log: log.write("loss", "2.5"), pastalog.InvalidValue),
    (lambda log: log.write("loss", [1, 2]), pastalog.InvalidValue),
    (lambda log: log.write("loss", np.zeros(3)), pastalog.InvalidValue),
    (lambda log: log.write("loss", 10**400), pastalog.InvalidValue),
    (lambda log: log.write("", 1.0), pastalog.InvalidName),
    (lambda log: log.write("x" * 257, 1.0), pastalog.InvalidName),
    (lambda log: log.write("a\nb", 1.0), pastalog.InvalidName),
    (lambda log: log.write("loss", 1.0, step=1.5), pastalog.InvalidValue),
    (lambda log: log.write("loss", 1.0, step="3"), pastalog.InvalidValue),
    (lambda log: log.write("loss", 1.0, step=2**70), pastalog.InvalidValue),
    (lambda log: log.image("img", "no/such/file.png"), pastalog.InvalidValue),
    (lambda log: log.image("img", np.zeros((2, 2, 2))), pastalog.InvalidValue),
    (lambda log: log.image("img", b"not a png"), pastalog.InvalidValue),
])
def test_caller_mistakes_raise_at_once(recorded, call, error):
    log, rec = recorded
    with pytest.raises(error) as info:
        call(log)
    assert isinstance(info.value, pastalog.PastalogError)
    assert log.flush(timeout=5)
    assert rec.points() == {}


def test_bad_model_name_and_server():
    with pytest.raises(pastalog.InvalidName):
        pastalog.Log(8120, "")
    with pytest.raises(ValueError):
        pastalog.Log("ftp://x", "m")


def test_nan_and_infinity_are_values(recorded):
    log, rec = recorded
    for value in (math.nan, math.inf, -math.inf):
        log.write("s", value)
    assert log.flush(timeout=5)
    values = rec.points()[("m", "s")][1]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]


def test_batches_are_few(recorded):
    log, rec = recorded
    for i in range(25_000):
        log.write("loss", float(i))
    assert log.flush(timeout=5)
    assert len(rec.requests) <= 6
    assert rec.points()[("m", "loss")][0] == list(range(25_000))


def test_against_a_real_server_every_form_of_image(server, tmp_path):
    from PIL import Image
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    png_path = tmp_path / "x.png"
    Image.new("RGB", (5, 4), (10, 20, 30)).save(png_path)
    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.plot([0, 1])
    with pastalog.Log(server.port, "model_1") as log:
        log.write("train_loss", 2.7)
        log.image("img", np.random.rand(6, 7))                      # float HxW
        log.image("img", np.zeros((6, 7, 3), np.uint8))             # uint8 HxWx3
        log.image("img", np.ones((6, 7, 4)))                        # float HxWx4
        log.image("img", Image.new("L", (3, 3)))                    # PIL
        log.image("img", fig)                                       # matplotlib
        log.image("img", png_path.read_bytes())                     # PNG bytes
        log.image("img", str(png_path))                             # path
        assert log.flush(timeout=10)
    plt.close(fig)
    _, listing = server.get_json("/api/v1/images?model=model_1&name=img")
    sizes = [(i["step"], i["width"], i["height"]) for i in listing["images"]]
    assert sizes == [(0, 7, 6), (1, 7, 6), (2, 7, 6), (3, 3, 3), (4, 100, 50), (5, 5, 4),
                     (6, 5, 4)]
    _, got = server.get_json("/api/v1/series?model=model_1&series=train_loss")
    assert got["values"] == [2.7]


WRITER = r"""
import sys, time, pastalog
port, n, spool = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
log = pastalog.Log(port, "outage", spool_dir=spool, max_memory_points=int(sys.argv[4]))
worst = 0.0
for i in range(n):
    t = time.perf_counter()
    log.write("loss", float(i))
    worst = max(worst, time.perf_counter() - t)
    if i % 100 == 0:
        time.sleep(0.01)
print("WORST", worst, flush=True)
sys.stdin.readline()          # wait until the server is back
print("FLUSHED", log.flush(timeout=60), flush=True)
"""


@pytest.mark.parametrize("memory_bound", [1_000_000, 500], ids=["memory", "spool"])
def test_server_down_then_up_loses_nothing_and_never_raises(tmp_path, memory_bound):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(port), "3000", str(tmp_path / "spool"),
         str(memory_bound)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=ROOT)
    worst = float(proc.stdout.readline().split()[1])
    srv = ServerProcess(tmp_path / "data", port=port).start()
    try:
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "FLUSHED True"
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
        stderr = proc.stderr.read()
        _, got = srv.get_json("/api/v1/series?model=outage&series=loss")
        assert got["steps"] == list(range(3000))
        assert got["values"] == [float(i) for i in range(3000)]
        assert stderr.count("cannot reach") == 1, stderr
        if memory_bound == 500:
            assert "spooling" in stderr
            assert os.listdir(tmp_path / "spool" / f"127.0.0.1_{port}") == []
        assert worst < 0.05, f"a write took {worst:.3f}s while the server was down"
    finally:
        srv.stop()
        proc.kill()


def test_points_left_at_exit_are_spooled_and_sent_by_the_next_log(tmp_path):
    port = free_port()
    code = ("import pastalog; log = pastalog.Log(%d, 'exit', spool_dir=%r); "
            "[log.write('loss', float(i)) for i in range(500)]" % (port, str(tmp_path)))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "next pastalog.Log" in done.stderr
    srv = ServerProcess(tmp_path / "data", port=port).start()
    try:
        log = pastalog.Log(port, "other", spool_dir=str(tmp_path))
        log.write("x", 1.0)
        assert log.flush(timeout=10)
        deadline = time.time() + 10
        while time.time() < deadline:
            status, got = srv.get_json("/api/v1/series?model=exit&series=loss")
            if status == 200 and len(got["steps"]) == 500:
                break
            time.sleep(0.1)
        assert got["steps"] == list(range(500))
        log.close()
    finally:
        srv.stop()


def test_corrupt_spool_keeps_the_good_records(tmp_path, caplog):
    from pastalog._spool import Spool, read_records

    spool = Spool(str(tmp_path), "m")
    for i in range(3):
        spool.append(f"1 /api/v1/points", b"body%d" % i)
    path, fd = spool.take()
    os.close(fd)
    data = bytearray(open(path, "rb").read())
    data[20] ^= 0xFF                      # damage the first record's payload
    open(path, "wb").write(bytes(data) + b"PLS1\x10")   # and leave a torn tail
    with caplog.at_level(logging.WARNING, logger="pastalog"):
        got = [body for _, body in read_records(path)]
    assert got == [b"body1", b"body2"]
    assert path in caplog.text and "byte 0" in caplog.text and "truncated" in caplog.text
