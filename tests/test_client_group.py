"""Group commit (issue 16.2): an idle sender sends at once; a busy one batches.

``flush_interval`` is set far above what the tests wait, so only the wake-up on the
write itself can deliver in time.
"""
import threading
import time

import pastalog

from fault_helpers import read_series


class SlowRecorder:
    """A transport whose every request takes ``delay`` seconds; records arrival times."""

    def __init__(self, delay=0.0):
        self.delay = delay
        self.sent = []          # (monotonic time of the answer, body size)
        self.lock = threading.Lock()

    def __call__(self, path, body, ctype):
        if path == "/api/v1/runs":      # run records: not what these tests count
            return 200, b"{}"
        time.sleep(self.delay)
        with self.lock:
            self.sent.append((time.monotonic(), len(body)))
        return 200, b"{}"


def test_a_write_to_an_idle_sender_is_sent_at_once(tmp_path):
    rec = SlowRecorder()
    log = pastalog.Log(1, "m", transport=rec, spool_dir=False, flush_interval=30)
    try:
        time.sleep(0.2)                 # the sender is idle, waiting
        for i in range(5):
            t = time.monotonic()
            log.write("loss", float(i))
            while len(rec.sent) <= i and time.monotonic() - t < 5:
                time.sleep(0.001)
            assert len(rec.sent) == i + 1, "the point waited for the timer"
            assert rec.sent[i][0] - t < 1.0
            time.sleep(0.05)            # idle again
    finally:
        log.close(timeout=5)


def test_writes_during_a_request_in_flight_go_in_the_next_one(tmp_path):
    rec = SlowRecorder(delay=0.3)
    log = pastalog.Log(1, "m", transport=rec, spool_dir=False, flush_interval=30)
    try:
        time.sleep(0.1)
        for i in range(3000):
            log.write("loss", float(i))
            if i % 100 == 0:
                time.sleep(0.02)        # 0.6 s of writing: two requests' time
        assert log.flush(timeout=10)
        assert 2 <= len(rec.sent) <= 5, rec.sent
    finally:
        log.close(timeout=5)


def test_group_commit_against_a_real_server_loses_and_repeats_nothing(server):
    log = pastalog.Log(server.port, "g", spool_dir=False, flush_interval=30)
    try:
        for i in range(2000):
            log.write("loss", float(i))
            if i % 50 == 0:
                time.sleep(0.002)
        assert log.flush(timeout=30), log.last_error
    finally:
        log.close()
    steps, values, _ = read_series(server, "g", "loss")
    assert steps == list(range(2000)) and values == [float(i) for i in range(2000)]
