"""SIGTERM and SIGINT spool what is unsent, then do what they did before (issue #10.4)."""
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import pastalog

from helpers import ROOT, ServerProcess, free_port
from fault_helpers import read_series, sized, wait_for

WRITER = r"""
import os, signal, sys, time
mode = sys.argv[3]
if mode == "own":
    def mine(signum, frame):
        print("MINE", signum, flush=True)
        sys.exit(3)
    signal.signal(signal.SIGTERM, mine)
import pastalog
from pastalog import _spool
port, spool, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[4])
log = pastalog.Log(port, "term", spool_dir=spool, close_timeout=1)
for i in range(n):
    log.write("loss", float(i))
try:
    print("READY", flush=True)
    time.sleep(60)
except KeyboardInterrupt:
    on_disk = sum(int(head.split()[0]) for root, _, names in os.walk(spool)
                  for name in names for head, _ in _spool.read_records(os.path.join(root, name)))
    print("KEYBOARDINTERRUPT", on_disk, flush=True)
    log.write("loss", float(n))        # the Log still takes points after the signal
    sys.exit(4)
print("SLEPT", flush=True)
"""


def steps_stored(srv, model, series, upto, chunk=50_000):
    """Every stored step below ``upto``, read in step ranges (a raw read may be capped)."""
    steps = []
    for lo in range(0, upto, chunk):
        status, got = srv.get_json(f"/api/v1/series?model={model}&series={series}"
                                   f"&x0={lo}&x1={lo + chunk - 1}")
        if status != 200:
            return steps
        steps.extend(got["steps"])
    return steps


def run_writer(tmp_path, port, mode, n, sig):
    spool = str(tmp_path / "spool")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(port), spool, mode, str(n)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == "READY", proc.stderr.read()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, out, err, spool


def test_sigterm_spools_every_pending_point_and_still_terminates(tmp_path):
    port = free_port()
    code, out, err, spool = run_writer(tmp_path, port, "default", 500_000, signal.SIGTERM)
    assert code == -signal.SIGTERM, (code, out, err)
    assert "SIGTERM" in err and "500000 points" in err, err
    srv = ServerProcess(tmp_path / "data", port=port).start()
    try:
        log = pastalog.Log(port, "replayer", spool_dir=spool)
        wait_for(lambda: len(steps_stored(srv, "term", "loss", 500_000)) >= 500_000, 60,
                 interval=0.5, what="the 500,000 spooled points")
        assert steps_stored(srv, "term", "loss", 500_000) == list(range(500_000))
        assert read_series(srv, "term", "loss")[1][:3] == [0.0, 1.0, 2.0]
        log.close()
    finally:
        srv.stop()


def test_sigterm_chains_the_programs_own_handler(tmp_path):
    code, out, err, spool = run_writer(tmp_path, free_port(), "own", 1000, signal.SIGTERM)
    assert code == 3 and f"MINE {int(signal.SIGTERM)}" in out, (code, out, err)
    assert "1000 points" in err, err


def test_sigint_still_raises_keyboard_interrupt_after_spooling(tmp_path):
    code, out, err, spool = run_writer(tmp_path, free_port(), "default", 1000, signal.SIGINT)
    assert code == 4, (code, out, err)
    assert "KEYBOARDINTERRUPT 1000" in out, (out, err)


THREADED = r"""
import signal, threading, pastalog
logs = []
thread = threading.Thread(target=lambda: logs.append(pastalog.Log(1, "t", spool_dir=False)))
thread.start(); thread.join()
print("THREAD", signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
signal.signal(signal.SIGINT, signal.SIG_IGN)
log = pastalog.Log(1, "main", spool_dir=False)
print("MAIN", signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL,
      signal.getsignal(signal.SIGINT) is signal.SIG_IGN)
off = pastalog.Log(1, "off", spool_dir=False, handle_signals=False)
"""


def test_handlers_are_installed_from_the_main_thread_only_and_ignored_signals_stay_so():
    done = subprocess.run([sys.executable, "-c", THREADED], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.stdout.split() == ["THREAD", "True", "MAIN", "True", "True"], done


HOT_LOOP = r"""
import sys, pastalog
log = pastalog.Log(int(sys.argv[1]), "hot", spool_dir=sys.argv[2], max_memory_points=10**8)
i = 0
while True:
    log.write("loss", float(i), i)
    i += 1
    if i % 50_000 == 0:
        print("AT", i, flush=True)
"""


def spooled_points(spool):
    """``{step: value}`` of every point in the spool files under ``spool``."""
    from pastalog._spool import read_records
    from pastalog.wire import decode_batch

    got = {}
    for root, _, names in os.walk(spool):
        for name in names:
            for head, body in read_records(os.path.join(root, name)):
                if head.endswith("/api/v1/runs"):     # the run's records
                    continue
                for _, _, steps, values, _ in decode_batch(body)[1]:
                    steps = np.frombuffer(steps, "<i8").tolist()
                    values = np.frombuffer(values, "<f8").tolist()
                    assert len(steps) == len(values)
                    for step, value in zip(steps, values):
                        assert step not in got, f"step {step} spooled twice"
                        got[step] = value
    return got


@pytest.mark.stress_or_fault
def test_sigterm_at_random_moments_of_a_hot_write_loop(tmp_path):
    """The signal often lands while ``write`` holds its lock between two appends."""
    rng = random.Random(7)
    for run in range(sized(3, 40)):
        spool = str(tmp_path / f"spool{run}")
        proc = subprocess.Popen([sys.executable, "-c", HOT_LOOP, str(free_port()), spool],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=ROOT)
        try:
            reached = int(proc.stdout.readline().split()[1])
            time.sleep(rng.uniform(0, 0.05))
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
        assert proc.returncode == -signal.SIGTERM, err
        got = spooled_points(spool)
        assert len(got) >= reached, (len(got), reached, err)
        assert sorted(got) == list(range(len(got))), err           # a prefix, no hole
        assert all(value == float(step) for step, value in got.items())
