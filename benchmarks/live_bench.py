"""Workload (h): live latency from ``Log.write`` to the websocket message.

A websocket client (``websocket-client``, a bench-only dependency) subscribes to
``/ws?model=live``; a separate writer process calls ``Log.write("lat", value)``
with the default flush interval at random intervals (mean 5 ms, like a fast
training loop), where ``value`` is ``time.perf_counter()`` at the call. Linux'
``perf_counter`` is CLOCK_MONOTONIC, the same clock in every process, so the
reader's ``perf_counter()`` at receipt minus the value is the latency of that point.
"""
import json
import os
import subprocess
import sys
import threading
import time

from .util import ROOT, Server, log_line, median, pct

__all__ = ["run_live"]

_WRITER = r"""
import random, sys, time
import pastalog
log = pastalog.Log(sys.argv[1], "live", spool_dir=False)
n = int(sys.argv[2])
rnd = random.Random(1)
pc = time.perf_counter
print("ready", flush=True)
sys.stdin.readline()
for i in range(n):
    log.write("lat", pc())
    time.sleep(rnd.uniform(0, 0.01))
log.flush(timeout=30)
log.close()
print("done", flush=True)
"""


def run_live(work, writes=1500, reps=3, log=print):
    """Returns one row per rep with p50/p99/max latency in ms."""
    import websocket  # websocket-client

    rows = []
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for rep in range(reps):
        with Server(os.path.join(work, f"live-{rep}")) as server:
            ws = websocket.create_connection(server.url.replace("http", "ws") + "/ws?model=live",
                                             timeout=30)
            json.loads(ws.recv())  # hello
            lat = []
            messages = [0]
            refresh = [0]

            def reader():
                pc = time.perf_counter
                while len(lat) < writes:
                    try:
                        raw = ws.recv()
                    except Exception:  # closed or timed out: the run reports what it got
                        return
                    now = pc()
                    messages[0] += 1
                    for event in json.loads(raw):
                        if event.get("type") == "points":
                            lat.extend(now - float(v) for v in event["values"])
                        elif event.get("type") == "refresh":
                            refresh[0] += 1

            th = threading.Thread(target=reader, daemon=True)
            th.start()
            writer = subprocess.Popen([sys.executable, "-c", _WRITER, server.url, str(writes)],
                                      cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
            writer.stdout.readline()  # imported and connected: start the clock
            writer.stdin.write("go\n")
            writer.stdin.flush()
            writer.wait(timeout=300)
            th.join(timeout=10)
            ws.close()
        s = sorted(lat)
        row = {"rep": rep, "received": len(s), "writes": writes, "messages": messages[0],
               "refresh_events": refresh[0],
               "p50_ms": median(s) * 1e3 if s else None,
               "p99_ms": pct(s, 0.99) * 1e3 if s else None,
               "max_ms": s[-1] * 1e3 if s else None}
        rows.append(row)
        log_line(log, f"live rep{rep}", row, ("received", "messages", "p50_ms", "p99_ms",
                                              "max_ms"))
    return rows
