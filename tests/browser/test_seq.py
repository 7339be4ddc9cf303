"""Live points and fetched answers merge exactly once (sequence numbers, docs/API.md):
with several writer processes posting while the page loads, and with the server
restarted under them, the page's per-series point counts end equal to the store's."""
import json
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.browser

# A writer process: small batches to a few series, steps going back now and then,
# retrying while the server is down (so a restart loses nothing it was sent).
WRITER = r"""
import http.client, json, random, sys, time, urllib.request
url, model, batches, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
step = 0
for k in range(batches):
    n = rnd.randint(1, 12)
    steps = [step + i for i in range(n)]
    if rnd.random() < 0.2:
        steps = [max(0, step - rnd.randint(1, 50)) for _ in range(n)]   # out of order
    step += n
    vals = [rnd.random() for _ in steps]
    body = json.dumps({"series": [{"model": model, "name": "loss", "steps": steps, "values": vals}]}).encode()
    while True:
        try:
            req = urllib.request.Request(url + "/api/v1/points", body, {"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=5).read()
            break
        except (OSError, http.client.HTTPException):   # refused, reset, cut short, 5xx
            time.sleep(0.05)   # server down: the same batch again (no batch id: not sent before)
    time.sleep(rnd.random() * 0.01)
"""

MODELS = ["w0", "w1", "w2", "w3"]


def writers(server, batches):
    return [subprocess.Popen([sys.executable, "-c", WRITER, server.url, m, str(batches), str(i)])
            for i, m in enumerate(MODELS)]


def store_counts(server):
    with urllib.request.urlopen(server.url + "/api/v1/models", timeout=5) as r:
        models = json.load(r)["models"]
    return {m["name"]: s["count"] for m in models for s in m["series"] if s["name"] == "loss"}


def page_counts(page):
    return {l["model"]: l["points"] for l in page.state()["charts"][0]["lines"]}


def settle(page, server, timeout=15):
    """Wait until the page's counts equal the store's (the writers are done)."""
    deadline = time.monotonic() + timeout
    while True:
        want, have = store_counts(server), page_counts(page)
        if want == have and len(want) == len(MODELS):
            return want
        if time.monotonic() > deadline:
            raise AssertionError(f"page counts {have} != store counts {want}")
        time.sleep(0.1)


def test_counts_equal_the_store_with_writers_during_load(page, server):
    procs = writers(server, 300)
    try:
        time.sleep(0.3)
        for _ in range(3):          # load (and load again) while the writers write
            page.open()
            page.wait_for("s.charts[0] && s.charts[0].lines.length === 4 && s.charts[0].lines.every(l => l.loaded)")
            time.sleep(0.4)
    finally:
        for p in procs:
            assert p.wait(timeout=60) == 0
    counts = settle(page, server)
    assert all(c > 300 for c in counts.values()), counts
    assert page.errors == []


def test_counts_equal_the_store_across_server_restarts(page, server):
    for m in MODELS:                 # every model exists before the page opens
        body = {"series": [{"model": m, "name": "loss", "steps": [0], "values": [0.0]}]}
        assert server.post_json("/api/v1/points", body)[0] == 200
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines.length === 4 && s.charts[0].lines.every(l => l.loaded)")
    procs = writers(server, 250)
    try:
        for pause in (0.4, 0.2):
            time.sleep(pause)
            server.kill()           # the websocket drops mid-stream; writers retry
            time.sleep(0.3)
            server.start()
            page.wait_for("s.live === 'live'", timeout=20)
    finally:
        for p in procs:
            assert p.wait(timeout=60) == 0
    settle(page, server, timeout=20)
    # a fetch that met the server while it was down is logged by the browser: expected here
    assert [e for e in page.errors if "ERR_CONNECTION_REFUSED" not in e] == []
