"""How long the overview takes to draw 50 runs x 100,000 points, and 500 x 10,000.

Starts ``python -m pastalog run`` on a free 127.0.0.1 port with a temporary data dir,
posts N runs x M points of one series (the binary batch format), opens the
overview in headless Chromium (Debian's /usr/bin/chromium) and prints the time from
navigation start until the page sets the ``pastalog:drawn`` performance mark, which it
does once every line has its buckets and the chart has drawn them. Target: <= 1 s,
from a cold first load (a fresh browser) and warm (the median of reloads).

    python benchmarks/page_load.py [--models 50 --points 100000] [--runs 3]

Not a test: it prints figures and exits 0 (1 if the page never finished drawing).
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pastalog.wire import encode_batch  # noqa: E402

CHROMIUM = os.environ.get("PASTALOG_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    log = open(os.path.join(data_dir, "server.log"), "ab")
    proc = subprocess.Popen([sys.executable, "-m", "pastalog", "run", str(port), "--data", data_dir],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("server did not start")


def post_data(url, models, points):
    rng = np.random.default_rng(0)
    steps = np.arange(points, dtype=np.int64)
    t0 = time.time() - points * 0.01
    times = t0 + steps * 0.01
    for m in range(models):
        values = 2.5 * np.exp(-steps / (points / (3 + m % 7))) + 0.05 * rng.standard_normal(points)
        body = encode_batch(f"bench-{m}", [(f"model_{m:02d}", "train_loss", steps, values, times)])
        req = urllib.request.Request(url + "/api/v1/points", data=body, method="POST",
                                     headers={"Content-Type": "application/vnd.pastalog.batch"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            assert resp.status == 200, resp.status


def measure(page, url, models, timeout=30.0):
    """Navigate to the overview; return (ms to the drawn mark, lines drawn)."""
    page.goto(url + "/")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = page.evaluate("""(() => {
            const m = performance.getEntriesByName('pastalog:drawn')[0];
            if (!m || !window.__pastalog) return null;
            const c = window.__pastalog.state().charts[0];
            return [m.startTime, c.lines.filter(l => l.drawn).length];
        })()""")
        if got:
            return got
        time.sleep(0.01)
    return None, 0


#: The overview cases timed by default: (runs, points per run).
CASES = ((50, 100_000), (500, 10_000))


def run_case(pw, models, points, runs):
    """Serve ``models`` x ``points``; return ``(cold_ms, [warm_ms...], lines)`` or None."""
    data_dir = tempfile.mkdtemp(prefix="pastalog-bench-")
    proc, url = start_server(data_dir)
    try:
        t = time.monotonic()
        post_data(url, models, points)
        print(f"posted {models} x {points:,} points in {time.monotonic() - t:.1f} s")
        # a fresh browser: the first load is cold (no cached module, no warm JIT)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            times = []
            for run in range(runs + 1):
                ms, lines = measure(page, url, models)
                if ms is None:
                    print("the page never set the pastalog:drawn mark")
                    return None
                label = "first load (cold)" if run == 0 else f"reload {run}"
                print(f"{models} x {points:,}: {label}: {lines} lines drawn {ms:.0f} ms "
                      "after navigation start")
                times.append(ms)
        finally:
            browser.close()
        return times[0], sorted(times[1:]), lines
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=0,
                    help="one case of this many runs (default: both cases, 50 x 100,000 "
                         "and 500 x 10,000)")
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3, help="page loads to time (after the first)")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    cases = ((args.models, args.points),) if args.models else CASES
    out = []
    with sync_playwright() as pw:
        for models, points in cases:
            got = run_case(pw, models, points, args.runs)
            if got is None:
                return 1
            cold, warm, _ = got
            median = warm[len(warm) // 2]
            print(f"page_load {models} x {points:,}: cold {cold:.0f} ms, warm median "
                  f"{median:.0f} ms until all {models} lines are drawn (target 1 s: "
                  f"{'met' if max(cold, median) <= 1000 else 'MISSED'})")
            out.append({"models": models, "points": points, "cold_s": cold / 1e3,
                        "warm_s": median / 1e3})
    print("RESULT " + json.dumps({"cases": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
