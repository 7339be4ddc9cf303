"""``python -m benchmarks``: run every workload, write benchmarks/RESULTS.md.

Without ``--peers`` only pastalog runs (about 6 minutes on the 2-core machine);
``--peers`` also runs tensorboardX, trackio, aim, wandb (offline) and mlflow (file
store) through anchors.py's workloads, each in its own virtualenv under
``--peers-dir`` (default ``.peers/``, created on first use with pip; refused under CI).
``--quick`` is a smoke run: 1 rep, and (g) over 2M points, (i) over 10M.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from . import anchors
from .util import ROOT

WORKLOADS = "abcdefghij"
SECTIONS = ("client", "ingest", "chart", "live", "capacity", "page_load", "peers",
            "peer_setup")


def _page_load(work, log):
    """(j): benchmarks/page_load.py belongs to the web UI; call it if it is there."""
    path = os.path.join(ROOT, "benchmarks", "page_load.py")
    if not os.path.exists(path):
        return {"missing": "benchmarks/page_load.py does not exist yet"}
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-m", "benchmarks.page_load"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return {"error": "benchmarks/page_load.py ran over 900 s"}
    out = {"rc": p.returncode, "wall_s": time.perf_counter() - t,
           "tail": (p.stdout.strip().splitlines() or [""])[-12:]}
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("RESULT "):
            line = line[7:]
        if line.startswith("{"):
            try:
                out["result"] = json.loads(line)
            except ValueError:
                pass
    if p.returncode:
        out["stderr"] = p.stderr.strip().splitlines()[-12:]
    log(f"[page load] rc={p.returncode} {json.dumps(out.get('result', out['tail'][-1:]))}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("--peers", action="store_true",
                    help="also run the peers (installs their venvs on first use)")
    ap.add_argument("--setup-peers", action="store_true",
                    help="only create the peers' virtualenvs, then exit")
    ap.add_argument("--peers-dir", default=os.path.join(ROOT, ".peers"))
    ap.add_argument("--peer-tools", default="", help="comma-separated subset of the peers")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 rep, smaller (g), (i)")
    ap.add_argument("--reps", type=int, default=0, help="repetitions (default 3, --quick 1)")
    ap.add_argument("--only", default=WORKLOADS, help="workload letters to run, e.g. 'aefg'")
    ap.add_argument("--capacity-points", type=int, default=0,
                    help="(i) total points (default 100,000,000; --quick 10,000,000)")
    ap.add_argument("--chart-points", type=int, default=0,
                    help="(g) series length (default 10,000,000; --quick 2,000,000)")
    ap.add_argument("--work", default="", help="scratch dir (default: a fresh temp dir)")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "RESULTS.md"))
    ap.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "results.json"),
                    help="raw results, for --report-only")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite RESULTS.md from --json without running anything")
    a = ap.parse_args(argv)

    from . import peers, report

    if a.setup_peers:
        status = peers.setup_peers(a.peers_dir, a.peer_tools.split(",") if a.peer_tools else None)
        print(json.dumps(status))
        return 0 if all(v == "ok" for v in status.values()) else 1
    if a.report_only:
        with open(a.json) as fh:
            res = json.load(fh)
        report.write(res, a.out)
        print(f"wrote {a.out}")
        return 0

    from . import client_bench, live_bench, server_bench

    reps = a.reps or (1 if a.quick else 3)
    only = set(a.only)
    work = a.work or tempfile.mkdtemp(prefix="pastalog-bench-")
    os.makedirs(work, exist_ok=True)
    t_start = time.time()
    res = {"meta": {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "python": sys.version.split()[0], "machine": platform.machine(),
        "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(), "reps": reps,
        "quick": a.quick, "commit": _git_head(), "argv": sys.argv[1:],
    }}
    # anchors.py's floor (the issue measured 16 ns): how fast this machine is right now
    res["meta"]["list_append_ns_start"] = anchors.floor_list_append()["append_total_over_n_ns"]
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    try:
        if only & set("abcde"):
            res["client"] = client_bench.run_client_workloads(work, reps=reps, log=log)
        if "f" in only:
            res["ingest"] = server_bench.run_ingest(
                work, reps=reps, points_per_client=1_000_000 if not a.quick else 400_000,
                log=log)
        if "g" in only:
            res["chart"] = server_bench.run_chart(
                work, points=a.chart_points or (2_000_000 if a.quick else 10_000_000), log=log)
        if "h" in only:
            res["live"] = live_bench.run_live(work, reps=reps, log=log)
        if "i" in only:
            res["capacity"] = server_bench.run_capacity(
                work, points=a.capacity_points or (10_000_000 if a.quick else 100_000_000),
                log=log)
        if "j" in only:
            res["page_load"] = _page_load(work, log)
        if a.peers:
            tools = a.peer_tools.split(",") if a.peer_tools else None
            status = peers.setup_peers(a.peers_dir, tools, log=log)
            res["peer_setup"] = status
            ok = [t for t, v in status.items() if v == "ok"]
            res["peers"] = peers.run_peers(a.peers_dir, ok, reps=reps, log=log)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    res["meta"]["loadavg_end"] = os.getloadavg()
    res["meta"]["list_append_ns_end"] = anchors.floor_list_append()["append_total_over_n_ns"]
    res["meta"]["wall_s"] = time.time() - t_start
    # Sections not run this time (--only, no --peers) are carried over from the last
    # results.json, each with the date of the run that measured it.
    res["meta"]["measured"] = {k: res["meta"]["started"] for k in SECTIONS if k in res}
    if os.path.exists(a.json):
        with open(a.json) as fh:
            old = json.load(fh)
        for key in SECTIONS:
            if key not in res and key in old:
                res[key] = old[key]
                res["meta"]["measured"][key] = old.get("meta", {}).get(
                    "measured", {}).get(key, old.get("meta", {}).get("started", "?"))
    with open(a.json, "w") as fh:
        json.dump(res, fh, indent=1)
    report.write(res, a.out)
    print(f"wrote {a.out} and {a.json} in {res['meta']['wall_s']:.0f} s")
    return 0


def _git_head():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "?"


assert anchors.N_SINGLE == 100_000  # the workloads of the peer table

if __name__ == "__main__":
    sys.exit(main())
