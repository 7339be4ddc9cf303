"""Several threads writing to one Log (issue 16.1): every point once, in per-thread order.

Eight threads write at once to one shared series (each its own steps), to a series of
their own (automatic steps), and now and then to a brand-new series, while the sender
drains. A recording wrapper around the real HTTP transport sees the order in which
points go on the wire; the real server then shows that each arrived exactly once.
"""
import threading

import numpy as np

import pastalog
from pastalog.client import HTTPTransport
from pastalog.wire import decode_batch

from fault_helpers import read_series

THREADS = 8
POINTS = 4000


class Wire:
    """The default transport, recording each request body that the server took."""

    def __init__(self, url):
        self.inner = HTTPTransport(url)
        self.bodies = []

    def __call__(self, path, body, ctype):
        status, reply = self.inner(path, body, ctype)
        if status == 200 and path == "/api/v1/points":
            self.bodies.append(body)
        return status, reply


def test_eight_threads_every_point_once_in_per_thread_order(server):
    wire = Wire(server.url)
    log = pastalog.Log(server.port, "threads", transport=wire, spool_dir=False)
    start = threading.Barrier(THREADS)

    def writer(t):
        start.wait()
        for k in range(POINTS):
            log.write("shared", t * 1e6 + k, k * THREADS + t)
            log.write(f"own{t}", float(k))
            if k % 500 == 0:
                log.write(f"new{t}/{k}", float(k))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    try:
        assert log.flush(timeout=60), log.last_error
    finally:
        log.close()

    sent: dict = {}                     # series -> values in wire order
    for body in wire.bodies:
        for _model, name, _steps, values, _times in decode_batch(body)[1]:
            sent.setdefault(name, []).extend(np.frombuffer(values, "<f8").tolist())
    for t in range(THREADS):
        mine = [v - t * 1e6 for v in sent["shared"] if t * 1e6 <= v < (t + 1) * 1e6]
        assert mine == list(range(POINTS)), f"thread {t}: its points out of order or repeated"
        assert sent[f"own{t}"] == list(range(POINTS))
    assert len(sent["shared"]) == THREADS * POINTS

    steps, values, _ = read_series(server, "threads", "shared")
    assert steps == list(range(THREADS * POINTS)), "every point once"
    assert values == [(s % THREADS) * 1e6 + s // THREADS for s in steps]
    for t in range(THREADS):
        steps, values, _ = read_series(server, "threads", f"own{t}")
        assert steps == list(range(POINTS)) and values == list(map(float, range(POINTS)))
        for k in range(0, POINTS, 500):
            assert read_series(server, "threads", f"new{t}/{k}")[:2] == ([0], [float(k)])
