"""A point answered 200 survives kill -9 of the server; restarts lose nothing."""
import json
import os
import threading
import time
import urllib.request

import pastalog
from helpers import ServerProcess


def _post(url, model, step):
    body = json.dumps({"modelName": model, "pointType": "loss", "pointValue": step * 0.5,
                       "globalStep": step}).encode()
    req = urllib.request.Request(url + "/data", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status


def test_acknowledged_points_survive_kill_9(tmp_path):
    srv = ServerProcess(tmp_path / "data").start()
    acked = {f"w{i}": [] for i in range(3)}
    stop = threading.Event()

    def stream(model):
        step = 0
        while not stop.is_set():
            try:
                if _post(srv.url, model, step) == 200:
                    acked[model].append(step)
            except OSError:
                pass  # the server died mid-request: not acknowledged
            step += 1

    threads = [threading.Thread(target=stream, args=(m,)) for m in acked]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            time.sleep(0.6)
            srv.kill()
            srv.start()
    finally:
        stop.set()
        for t in threads:
            t.join()
    for model, steps in acked.items():
        assert len(steps) > 10
        _, got = srv.get_json(f"/api/v1/series?model={model}&series=loss")
        stored = set(got["steps"])
        missing = [s for s in steps if s not in stored]
        assert not missing, f"{model}: acknowledged but lost after kill -9: {missing[:10]}"
        assert len(got["steps"]) == len(stored), "a point was stored twice"
        assert all(v == s * 0.5 for s, v in zip(got["steps"], got["values"]))
    srv.stop()
    from pastalog.server.store import Store
    store = Store(tmp_path / "data")
    assert store.check() == "ok"
    store.close()


def test_client_stream_across_kill_9_and_restart(tmp_path):
    srv = ServerProcess(tmp_path / "data").start()
    log = pastalog.Log(srv.port, "run", spool_dir=str(tmp_path / "spool"))
    for i in range(20_000):
        log.write("loss", float(i))
        if i == 5_000:
            srv.kill()
        if i == 15_000:
            srv.start()
    assert log.flush(timeout=30)
    log.close()
    _, got = srv.get_json("/api/v1/series?model=run&series=loss")
    assert got["steps"] == list(range(20_000))
    srv.stop()
