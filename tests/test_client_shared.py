"""One process, many runs (issue 16.5): every Log to one server shares one sender.

A sweep creates 100 ``Log`` objects to one server; they share one sender thread and
one keep-alive connection, each keeps its own series and step counters, and closing
some of them flushes theirs while the others go on.
"""
import threading
import time

import pastalog

from fault_helpers import read_series

RUNS = 100
STEPS = 30


def _senders():
    return [t for t in threading.enumerate() if t.name.startswith("pastalog-sender-")]


def test_a_sweep_of_100_logs_shares_one_sender_and_loses_nothing(server):
    before = threading.active_count()
    logs = [pastalog.Log(server.port, f"run{i:03d}", spool_dir=False) for i in range(RUNS)]
    try:
        assert threading.active_count() - before == 1, "one sender thread for all the Logs"
        assert len({id(lg._sender) for lg in logs}) == 1
        for step in range(STEPS):
            for i, lg in enumerate(logs):
                lg.write("loss", i * 1000.0 + step)      # its own step counter: 0, 1, ...
                if i % 2:
                    lg.write(f"only{i}", float(step), step * 10)
        for lg in logs[:RUNS // 2]:             # half the sweep ends ...
            lg.close()
            assert lg.flush(timeout=0), "close() delivered this Log's points"
        assert threading.active_count() - before == 1, "the sender stays for the others"
        for step in range(STEPS, 2 * STEPS):    # ... the other half goes on
            for i, lg in enumerate(logs[RUNS // 2:], RUNS // 2):
                lg.write("loss", i * 1000.0 + step)
        for lg in logs[RUNS // 2:]:
            assert lg.flush(timeout=30), lg.last_error
        for i in range(RUNS):
            n = STEPS if i < RUNS // 2 else 2 * STEPS
            steps, values, _ = read_series(server, f"run{i:03d}", "loss")
            assert steps == list(range(n)), f"run{i:03d}: every point once, in order"
            assert values == [i * 1000.0 + s for s in range(n)]
            if i % 2:
                steps, values, _ = read_series(server, f"run{i:03d}", f"only{i}")
                assert steps == [s * 10 for s in range(STEPS)]
                assert read_series(server, f"run{i:03d}", f"only{i - 1}") is None
    finally:
        for lg in logs:
            lg.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before, "the sender stops with the last Log"


def test_a_log_after_the_last_one_closed_gets_a_new_sender(server):
    first = pastalog.Log(server.port, "a", spool_dir=False)
    first.write("x", 1.0)
    first.close()
    second = pastalog.Log(server.port, "b", spool_dir=False)
    try:
        assert second._sender is not first._sender and second._thread.is_alive()
        second.write("x", 2.0)
        assert second.flush(timeout=30), second.last_error
    finally:
        second.close()
    assert read_series(server, "a", "x")[1] == [1.0]
    assert read_series(server, "b", "x")[1] == [2.0]


def test_different_options_mean_different_senders(server):
    a = pastalog.Log(server.port, "a", spool_dir=False)
    b = pastalog.Log(server.port, "b", spool_dir=False, request_timeout=5)
    c = pastalog.Log(server.port, "c", spool_dir=False)
    try:
        assert a._sender is c._sender and a._sender is not b._sender
    finally:
        for lg in (a, b, c):
            lg.close()
