"""How fast the runs table is with 10,000 runs, in headless Chromium.

Starts ``python -m pastalog run`` on a temporary data dir (page_load.py's server),
stores 10,000 runs (POST /api/v1/runs: six config keys, two tags) with three series
each (the binary batch format), opens ``?view=runs`` and reports:

- load: navigation start until the table first shows every run (the page's
  ``pastalog:runs-drawn`` mark: GET /api/v1/runs pages, parsing, first sort and draw);
- sort: a click on a column header until the next frame is painted, and the
  filter+sort part alone (the page's own ``queryMs``), per column kind;
- filter: text, /regex/ and tag filters applied, same two figures.

Target (issue 14): sort and filter under 100 ms. Medians of ``--reps`` (default 5).

    python benchmarks/runs_table_bench.py [--runs 10000] [--reps 5]

Not a test: it prints figures and exits 0 (1 if the table never showed the runs).
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from page_load import ARGS, CHROMIUM, ROOT, start_server  # noqa: E402

sys.path.insert(0, ROOT)
from pastalog.wire import encode_batch  # noqa: E402

SERIES = ("train_loss", "valid_loss", "valid_acc")


def post(url, path, body, ctype):
    req = urllib.request.Request(url + path, data=body, method="POST", headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=300) as resp:
        assert resp.status == 200, resp.status


def store_runs(url, n, points=10):
    """n runs with config and tags, and three short series each."""
    rng = np.random.default_rng(0)
    steps = np.arange(points, dtype=np.int64)
    times = time.time() - 3600 + steps.astype(float)
    for lo in range(0, n, 1000):
        records, series = [], []
        for i in range(lo, min(n, lo + 1000)):
            model = f"run-{i:05d}"
            records.append({"model": model, "session": f"s{i}", "time": 1.7e9 + i, "status": "finished",
                            "config": {"lr": float(10 ** rng.uniform(-5, -1)), "batch": int(2 ** rng.integers(4, 9)),
                                       "optimizer": ["adam", "sgd", "rmsprop", "adamw"][i % 4],
                                       "model/depth": int(rng.integers(2, 50)), "seed": i,
                                       "dropout": round(float(rng.uniform(0, 0.5)), 3)},
                            "tags": ["bench", f"group-{i % 10}"]})
            for name in SERIES:
                series.append((model, name, steps, rng.standard_normal(points), times))
        post(url, "/api/v1/runs", json.dumps({"runs": records}).encode(), "application/json")
        post(url, "/api/v1/points", encode_batch(f"bench-{lo}", series), "application/vnd.pastalog.batch")


def state(page):
    return page.evaluate("window.__pastalog.state().runs")


def wait(page, predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = state(page)
        if s and predicate(s):
            return s
        time.sleep(0.02)
    raise TimeoutError("the runs table did not get there")


# click (or set the filter), then two animation frames: the rows are painted
TIMED = """async (act) => {
  const t0 = performance.now();
  if (act.click) document.querySelector(act.click).click();
  else {
    const box = document.querySelector('.rt-filter');
    box.value = act.filter;
    box.dispatchEvent(new Event('input'));
  }
  if (act.filter !== undefined) await new Promise(r => setTimeout(r, 130));   // the box's debounce
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return { ms: performance.now() - t0 - (act.filter !== undefined ? 130 : 0) };
}"""


def timed(page, act):
    ms = page.evaluate(TIMED, act)["ms"]
    s = state(page)
    return ms, s["queryMs"], s["updateMs"], s["shown"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright
    data = tempfile.mkdtemp(prefix="pastalog-runs-bench-")
    proc, url = start_server(data)
    try:
        t = time.monotonic()
        store_runs(url, a.runs)
        print(f"stored {a.runs:,} runs x {len(SERIES)} series in {time.monotonic() - t:.1f} s")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            loads = []
            for _ in range(a.reps):
                page.goto(url + "/?view=runs")
                wait(page, lambda s: s["total"] == a.runs)
                loads.append(page.evaluate("performance.getEntriesByName('pastalog:runs-drawn')[0].startTime"))
            print(f"load ?view=runs, {a.runs:,} runs: median {statistics.median(loads):.0f} ms "
                  f"(min {min(loads):.0f}, max {max(loads):.0f})")
            print(f"rows in the DOM: {state(page)['domRows']}")
            acts = [
                ("sort by name (string, natural)", {"click": ".rt-th[data-col='name'] .rt-sort"}),
                ("sort by lr (number)", {"click": ".rt-th[data-col='c:lr'] .rt-sort"}),
                ("sort by optimizer (few strings)", {"click": ".rt-th[data-col='c:optimizer'] .rt-sort"}),
                ("sort by valid_acc (metric)", {"click": ".rt-th[data-col='m:valid_acc'] .rt-sort"}),
                ("filter text 'group-3'", {"filter": "group-3"}),
                ("filter /run-0[0-4]\\d*7$/", {"filter": "/run-0[0-4]\\d*7$/"}),
                ("filter cleared", {"filter": ""}),
            ]
            print(f"{'action':38} {'click→painted':>14} {'filter+sort':>12} {'update':>8} {'rows':>7}")
            for label, act in acts:
                got = [timed(page, act) for _ in range(a.reps)]
                med = [statistics.median(g[k] for g in got) for k in range(3)]
                print(f"{label:38} {med[0]:11.1f} ms {med[1]:9.1f} ms {med[2]:5.1f} ms {got[-1][3]:7,}")
            browser.close()
    except TimeoutError as exc:
        print(exc)
        return 1
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
