"""Faults against a real server subprocess and real client processes (issue 6).

Each test has a short version (``make test``) and a long one (``PASTALOG_STRESS=1``,
``make stress``). Nothing here sleeps to synchronise: children report on stdout and
the tests poll with deadlines.
"""
import errno
import http.client
import json
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

import numpy as np
import pytest

import pastalog
from fault_helpers import ROOT, Child, RawWebSocket, read_series, sized, wait_for
from helpers import ServerProcess, free_port
from pastalog import _spool
from pastalog.server.store import Store
from pastalog.wire import decode_batch, encode_batch

pytestmark = pytest.mark.stress_or_fault


def _check_store(data_dir):
    store = Store(data_dir)
    try:
        return store.check()
    finally:
        store.close()


# -- 1. kill -9 the server again and again while clients stream ----------------------

LOG_WRITER = r"""
import json, os, sys, time, pastalog
port, model, spool, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
log = pastalog.Log(port, model, spool_dir=spool)
print("READY", flush=True)
i = 0
while not os.path.exists(stop):
    for _ in range(10):
        log.write("loss", i * 0.5, step=i)
        i += 1
    log.write("acc", i / 7.0)
    time.sleep(0.005)
ok = log.flush(timeout=120)
print("DONE " + json.dumps({"written": i, "flushed": ok}), flush=True)
log.close()
"""


class RawWriter(threading.Thread):
    """POSTs /data arrays of 5 points, never retrying; records what got 200."""

    def __init__(self, port, model):
        super().__init__(daemon=True)
        self.port, self.model = port, model
        self.sent, self.acked, self.errors = [], [], []
        self.stop = threading.Event()

    def run(self):
        step = 0
        conn = None
        while not self.stop.is_set():
            steps = list(range(step, step + 5))
            step += 5
            body = json.dumps([{"modelName": self.model, "pointType": "loss",
                                "pointValue": s * 0.5, "globalStep": s} for s in steps])
            self.sent.append(steps)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", "/data", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    self.acked.extend(steps)
                elif resp.status != 503:
                    self.errors.append((resp.status, steps))
            except (OSError, http.client.HTTPException):
                conn = None          # died mid-request: not acknowledged
                time.sleep(0.01)


def test_kill_9_server_at_random_moments_while_clients_stream(tmp_path):
    cycles = sized(4, 20)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    data = tmp_path / "data"
    srv = ServerProcess(data).start()
    stop = tmp_path / "stop"
    clients = [Child(LOG_WRITER, srv.port, f"proc{i}", tmp_path / "spool", stop)
               for i in range(4)]
    raw = [RawWriter(srv.port, f"raw{i}") for i in range(2)]
    try:
        for c in clients:
            c.expect("READY", 30)
        for w in raw:
            w.start()
        for cycle in range(cycles):
            time.sleep(rng.uniform(0.2, 1.2))   # the random moment, not synchronisation
            srv.kill()
            assert _check_store(data) == "ok", f"cycle {cycle} (seed {seed})"
            srv.start()
        before = [len(w.acked) for w in raw]
        wait_for(lambda: all(len(w.acked) > b for w, b in zip(raw, before)), 20,
                 what="raw writers acknowledged after the last restart")
        stop.touch()
        for w in raw:
            w.stop.set()
            w.join(timeout=20)
        done = [c.expect("DONE", 180) for c in clients]
        for c in clients:
            assert c.wait(30) == 0, c.err()
    finally:
        stop.touch()
        for c in clients:
            c.kill()
        for w in raw:
            w.stop.set()

    found = 0
    for i, result in enumerate(done):
        assert result["flushed"] is True, f"proc{i} flush() was not True (seed {seed})"
        steps, values, _ = read_series(srv, f"proc{i}", "loss")
        assert steps == list(range(result["written"])), (
            f"proc{i}: {result['written']} written, {len(steps)} stored, "
            f"{len(steps) - len(set(steps))} twice (seed {seed})")
        assert values == [s * 0.5 for s in steps]
        acc = read_series(srv, f"proc{i}", "acc")[0]
        assert acc == list(range(len(acc))) and len(acc) == result["written"] // 10
        found += len(steps)
    for w in raw:
        assert not w.errors, w.errors[:5]
        assert len(w.acked) > 20
        got = read_series(srv, w.model, "loss")
        steps, values = got[0], got[1]
        stored = set(steps)
        assert len(stored) == len(steps), f"{w.model}: a point was stored twice"
        missing = sorted(set(w.acked) - stored)
        assert not missing, f"{w.model}: acknowledged but lost: {missing[:10]} (seed {seed})"
        for batch in w.sent:      # an array is stored whole or not at all
            assert len(stored.intersection(batch)) in (0, 5), f"{w.model}: half of {batch}"
        assert all(v == s * 0.5 for s, v in zip(steps, values))
        found += len(steps)
    srv.stop()
    assert _check_store(data) == "ok"
    print(f"\nFAULT kill-9: {cycles} cycles survived, {found} points found, "
          f"{sum(len(w.acked) for w in raw)} raw points acknowledged, seed {seed}")


# -- 2. kill -9 a client --------------------------------------------------------------

FLUSHING_WRITER = r"""
import sys, pastalog
port, spool = int(sys.argv[1]), sys.argv[2]
log = pastalog.Log(port, "victim", spool_dir=spool)
i = 0
while True:
    for _ in range(200):
        log.write("loss", float(i))
        i += 1
    if log.flush(timeout=10):
        print("FLUSHED", i, flush=True)
"""


def test_kill_9_client_keeps_what_it_had_flushed(server, tmp_path):
    child = Child(FLUSHING_WRITER, server.port, tmp_path / "spool")
    try:
        flushed = 0
        while flushed < sized(5_000, 50_000):
            flushed = child.expect("FLUSHED", 30)
    finally:
        child.kill()
    while True:                        # anything it printed before it died
        line = child.lines.get(timeout=5)
        if line is None:
            break
        if line.startswith("FLUSHED"):
            flushed = int(line.split()[1])
    steps, values, _ = read_series(server, "victim", "loss")
    assert len(steps) == len(set(steps)), "a point was stored twice"
    assert steps[:flushed] == list(range(flushed)), "a flushed point is missing"
    assert values == [float(s) for s in steps]


SPOOLING_WRITER = r"""
import sys, pastalog
port, spool, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
log = pastalog.Log(port, "dead", spool_dir=spool, max_memory_points=100, batch_points=50,
                   flush_interval=0.01)
for i in range(n):
    log.write("loss", i * 0.25)
print("WROTE", flush=True)
sys.stdin.readline()
"""


def _spooled_points(directory):
    """Every (step, value) of model 'dead' in the spool files of ``directory``."""
    points = []
    if not os.path.isdir(directory):    # the client has not spooled anything yet
        return points
    for name in sorted(os.listdir(directory)):
        if name.endswith(".spool"):
            for head, body in _spool.read_records(os.path.join(directory, name)):
                if head.partition(" ")[2] == "/api/v1/runs":    # the run's records
                    continue
                assert head.partition(" ")[2] == "/api/v1/points", head
                for model, series, steps, values, _ in decode_batch(body)[1]:
                    points.extend(zip(np.frombuffer(steps, "<i8").tolist(),
                                      np.frombuffer(values, "<f8").tolist()))
    return points


def test_kill_9_spooling_client_then_a_new_client_replays_once(tmp_path):
    port = free_port()                  # no server yet: the client spools
    spool = tmp_path / "spool"
    sub = spool / f"127.0.0.1_{port}"
    n = sized(5_000, 100_000)
    child = Child(SPOOLING_WRITER, port, spool, n)
    try:
        child.expect("WROTE", 60)
        wait_for(lambda: len(_spooled_points(sub)) >= n - 1_000, 30,
                 what="the client to spool all but its memory share")
    finally:
        child.kill()
    spooled = _spooled_points(sub)
    assert len(spooled) == len(set(spooled))
    copies = {name: (sub / name).read_bytes() for name in os.listdir(sub)}

    srv = ServerProcess(tmp_path / "data", port=port).start()
    try:
        for round_ in range(2):         # the second round replays a copy: idempotent
            with pastalog.Log(port, f"heir{round_}", spool_dir=str(spool)) as log:
                log.write("x", 1.0)
                assert log.flush(timeout=30)
            wait_for(lambda: not any(p.endswith(".spool") for p in os.listdir(sub)), 30,
                     what="the spool files to be replayed and removed")
            steps, values, _ = read_series(srv, "dead", "loss")
            assert sorted(zip(steps, values)) == sorted(spooled), (
                f"round {round_}: {len(steps)} stored vs {len(spooled)} spooled")
            for name, data in copies.items():
                (sub / name).write_bytes(data)
    finally:
        srv.stop()


# -- 3. server down for a whole training loop -----------------------------------------

TRAINING_LOOP = r"""
import json, statistics, sys, time, pastalog
port, spool, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
log = pastalog.Log(port, "outage", spool_dir=spool, max_memory_points=5000)
pc = time.perf_counter
took = []
end = time.monotonic() + seconds
i = 0
while time.monotonic() < end:
    for _ in range(10):
        t = pc()
        log.write("loss", i * 0.25)
        took.append(pc() - t)
        i += 1
    time.sleep(0.002)
took.sort()
print("LOOP " + json.dumps({"n": i, "max": took[-1], "median": statistics.median(took),
                            "p999": took[int(len(took) * 0.999)]}), flush=True)
sys.stdin.readline()
t = time.monotonic()
ok = log.flush(timeout=120)
print("FLUSHED " + json.dumps({"ok": ok, "seconds": time.monotonic() - t}), flush=True)
log.close()
"""


def test_server_down_for_a_whole_training_loop(tmp_path):
    port = free_port()
    seconds = sized(5, 30)
    child = Child(TRAINING_LOOP, port, tmp_path / "spool", seconds)
    srv = ServerProcess(tmp_path / "data", port=port)
    try:
        loop = child.expect("LOOP", seconds + 60)
        srv.start()
        child.send("go")
        flushed = child.expect("FLUSHED", 150)
        assert child.wait(30) == 0, child.err()
        print(f"\nFAULT outage {seconds}s: {loop['n']} writes, max {loop['max'] * 1e3:.2f} ms, "
              f"median {loop['median'] * 1e6:.2f} us, p99.9 {loop['p999'] * 1e6:.1f} us; "
              f"delivered in {flushed['seconds']:.2f} s")
        assert flushed["ok"] is True
        assert loop["max"] < 0.050, f"a write() took {loop['max'] * 1e3:.1f} ms"
        assert loop["median"] < 10e-6, f"median write() {loop['median'] * 1e6:.1f} us"
        steps, values, times = read_series(srv, "outage", "loss")
        assert steps == list(range(loop["n"]))
        assert values == [s * 0.25 for s in steps]
        assert times == sorted(times), "points arrived out of order"
        assert child.err().count("cannot reach") == 1, child.err()
    finally:
        child.kill()
        srv.stop()


# -- 4. disk full ---------------------------------------------------------------------

def _fill(path):
    """Write zeros to ``path`` until the disk refuses."""
    with open(path, "wb", buffering=0) as fh:
        while True:
            try:
                fh.write(b"\0" * 65536)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        for size in (4096, 512, 1):        # and the last crumbs
            while True:
                try:
                    fh.write(b"\0" * size)
                except OSError:
                    break


def _raw(srv, series):
    query = urllib.parse.urlencode({"model": "base", "series": series})
    return srv.request("GET", f"/api/v1/series?{query}")


def test_disk_full_is_507_reads_still_work_and_the_client_delivers_later(
        tiny_disk, tmp_path, caplog):
    srv = ServerProcess(tiny_disk / "data")
    srv.log_path = str(tmp_path / "server.log")      # not on the tiny disk
    srv.start()
    try:
        rng = random.Random(1)
        status, _ = srv.post_json("/api/v1/points", {"series": [
            {"model": "base", "name": "loss", "steps": list(range(3000)),
             "values": [rng.random() for _ in range(3000)]}]})
        assert status == 200
        before = _raw(srv, "loss")
        _, models_before = srv.get_json("/api/v1/models/base")
        _fill(tiny_disk / "filler")

        acked, answer, step = [], None, 3000
        for _ in range(200):             # until the store runs out of room
            values = [rng.random() for _ in range(5000)]
            status, answer = srv.post_json("/api/v1/points", {"series": [
                {"model": "base", "name": "more", "steps": list(range(step, step + 5000)),
                 "values": values}]})
            assert status in (200, 507), (status, answer)
            if status == 507:
                break
            acked.extend(range(step, step + 5000))
            step += 5000
        assert status == 507, "the server never said the disk was full"
        assert "disk" in answer["error"] and "full" in answer["error"], answer
        status, answer = srv.post_json("/data", [{"modelName": "base", "pointType": "more",
                                                  "pointValue": 1.0, "globalStep": 10**9}] * 3000)
        assert status == 507, (status, answer)

        assert _raw(srv, "loss") == before, "reads changed or failed while the disk is full"
        assert srv.get_json("/healthz")[0] == 200
        assert srv.get_json("/api/v1/models")[0] == 200

        log = pastalog.Log(srv.port, "client", spool_dir=str(tmp_path / "spool"),
                           max_memory_points=1000)
        with caplog.at_level(logging.WARNING, logger="pastalog"):
            for i in range(5000):
                log.write("loss", float(i))
            assert log.flush(timeout=3) is False
            assert "507" in caplog.text, caplog.text
            os.unlink(tiny_disk / "filler")
            assert log.flush(timeout=60) is True
        log.close()
        steps, values, _ = read_series(srv, "client", "loss")
        assert steps == list(range(5000)) and values == [float(i) for i in range(5000)]
        assert _raw(srv, "loss") == before, "stored points changed after disk full"
        more = read_series(srv, "base", "more")
        assert set(acked) <= set(more[0] if more else [])
        _, models_after = srv.get_json("/api/v1/models/base")
        assert [s for s in models_after["series"] if s["name"] == "loss"] == \
            [s for s in models_before["series"] if s["name"] == "loss"]
    finally:
        srv.stop()
    assert _check_store(tiny_disk / "data") == "ok"


# -- 5. a corrupt spool replayed through a real Log; a damaged export line ------------

def test_corrupt_spool_replays_its_good_records_into_a_real_server(tmp_path, caplog):
    srv = ServerProcess(tmp_path / "data")
    sub = tmp_path / "spool" / f"127.0.0.1_{srv.port}"
    spool = _spool.Spool(str(sub), "old")
    for k in range(4):
        body = encode_batch(f"spooled-{k}", [("old", "loss", [k], [k + 0.5], [1.0 + k])])
        spool.append(f"1 /api/v1/points", body)
    path, fd = spool.take()
    os.close(fd)
    data = bytearray(open(path, "rb").read())
    second = data.find(b"PLS1", 1)
    data[second + 20] ^= 0xFF                      # damage record 1's payload
    open(path, "wb").write(bytes(data) + b"PLS1\x10\x00")   # and a torn tail
    srv.start()
    try:
        with caplog.at_level(logging.WARNING, logger="pastalog"):
            with pastalog.Log(srv.port, "new", spool_dir=str(tmp_path / "spool")) as log:
                log.write("x", 1.0)
                assert log.flush(timeout=20)
            wait_for(lambda: not os.path.exists(path), 20, what="the spool file to go")
        steps, values, _ = read_series(srv, "old", "loss")
        assert steps == [0, 2, 3] and values == [0.5, 2.5, 3.5]
        assert f"{path} has a corrupt record at byte {second}" in caplog.text, caplog.text
        assert f"{path} is truncated at byte {len(data)}" in caplog.text, caplog.text
    finally:
        srv.stop()


def test_export_with_a_damaged_middle_line_imports_the_rest(tmp_path):
    store = Store(tmp_path / "a")
    for i in range(5):
        store.write_points([("m", f"s{i}", [0, 1], [1.0, 2.0], [1.0, 2.0])])
    store.close()

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "pastalog", *map(str, args)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    assert cli("export", tmp_path / "x.jsonl", "--data", tmp_path / "a").returncode == 0
    lines = open(tmp_path / "x.jsonl").read().splitlines(True)
    lines[2] = lines[2][:30] + "\x00garbage" + lines[2][30:]       # line 3: not JSON
    lines[4] = lines[4].replace('"steps"', '"stepz"')                # line 5: a field lost
    open(tmp_path / "x.jsonl", "w").write("".join(lines))
    out = cli("import", tmp_path / "x.jsonl", "--data", tmp_path / "b")
    assert out.returncode == 0, out.stderr
    assert "x.jsonl line 3" in out.stderr and "x.jsonl line 5" in out.stderr, out.stderr
    b = Store(tmp_path / "b")
    try:
        assert sorted(n for _, n in b.iter_series()) == ["s0", "s2", "s4"]
        assert b.read_series("m", "s4")["values"].tolist() == [1.0, 2.0]
    finally:
        b.close()


# -- 6. a browser that stops reading --------------------------------------------------

def test_a_browser_that_stops_reading_is_dropped_and_holds_up_nobody(server):
    slow = RawWebSocket(server.port, rcvbuf=4096)
    fast = [RawWebSocket(server.port) for _ in range(2)]
    fast.append(RawWebSocket(server.port, "/ws?model=probe"))
    seen = [dict() for _ in fast]          # probe step -> arrival time
    errors = []

    def read(ws, got):
        try:
            while True:
                events = ws.events()
                now = time.monotonic()
                for event in events:
                    if event.get("model") == "probe" and event["type"] == "points":
                        for s in event["steps"]:
                            got.setdefault(s, now)
        except EOFError:
            return
        except OSError as exc:
            errors.append(repr(exc))

    readers = [threading.Thread(target=read, args=(ws, got), daemon=True)
               for ws, got in zip(fast, seen)]
    for t in readers:
        t.start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

    def post(doc):
        t = time.monotonic()
        conn.request("POST", "/api/v1/points", json.dumps(doc),
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        resp.read()
        return t, time.monotonic() - t

    # A few huge messages fill the stuck socket's buffers, then many small ones its
    # queue (the hub counts messages, not bytes).
    heavy = [0.123456789 * i for i in range(2000)]
    posted, ingest = {}, []
    for k in range(sized(6, 12)):
        _, took = post({"series": [{"model": "heavy", "name": f"s{j}",
                                    "steps": list(range(k * 2000, (k + 1) * 2000)),
                                    "values": heavy} for j in range(20)]})
        ingest.append(took)
    for k in range(sized(800, 4000)):
        model = "probe" if k % 4 == 0 else "small"
        posted_at, took = post({"series": [{"model": model, "name": "p", "steps": [k],
                                            "values": [1.0]}]})
        ingest.append(took)
        if model == "probe":
            posted[k] = posted_at
    last = max(posted)
    wait_for(lambda: all(last in got for got in seen), 30, what="fast browsers to catch up")
    lags = [got[s] - posted[s] for got in seen for s in posted]
    ingest.sort()
    p99 = ingest[int(len(ingest) * 0.99)]

    # The stuck one must have been cut off: after what is buffered, a close or EOF.
    slow.sock.settimeout(30)
    closed = None
    try:
        while closed is None:
            op, payload = slow.recv()
            if op == 8:
                closed = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else "no code"
    except EOFError:
        closed = "EOF"
    except ConnectionResetError:
        closed = "reset"
    except socket.timeout:
        closed = None
    print(f"\nFAULT slow browser: {len(ingest)} posts, ingest p99 {p99 * 1e3:.1f} ms, "
          f"probe lag max {max(lags) * 1e3:.0f} ms, median {statistics.median(lags) * 1e3:.0f}"
          f" ms; the stuck one ended with {closed!r}")
    for ws in fast + [slow]:
        ws.close()
    assert not errors, errors
    assert all(sorted(got) == sorted(posted) for got in seen), "a fast browser missed points"
    assert p99 < 1.0, f"ingest p99 {p99:.3f}s with a stuck browser"
    assert max(lags) < 2.0, f"a fast browser lagged {max(lags):.2f}s"
    assert closed in (1013, "EOF", "reset"), \
        f"the stuck browser was never disconnected (got {closed!r})"
