"""Workloads (a), (b), (c), (d), (e): the logging process, against a real server.

The write loops are anchors.py's own worker loop (the one that measured the peers)
with a pastalog adapter, each in a fresh child process, so that per-call latency,
time until durable and peak RSS mean exactly what they mean for the peers:

- ``single``: 100,000 ``Log.write("loss", v, step)`` calls, each timed with
  ``perf_counter_ns``; durable = loop + ``flush()`` (which returns once the server
  answered 200, i.e. committed to SQLite in WAL mode).
- ``multi``: 10 series x 10,000 steps, one ``write_many(dict, step)`` per step.
- ``noop``: the same harness calling a function that does nothing, in an
  interpreter that imported pastalog: the baseline for RSS overhead and the
  harness' own cost per call.
- ``direct``: ``write`` called straight from the loop (no adapter method between).
- ``down``: ``single`` against a port where nothing listens.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

from . import anchors
from .util import ROOT, Server, dir_size, free_port, fresh, log_line, pct

__all__ = ["run_client_workloads"]

MODEL = "bench"


class PastalogAdapter(anchors.Adapter):
    """anchors.py's adapter interface over ``pastalog.Log``."""

    def __init__(self, datadir, phase):
        t = time.perf_counter()
        import pastalog
        from pastalog import client
        # "compiled" unless PASTALOG_PURE_PYTHON=1 or the extension was not built
        self.version = pastalog.__version__ + ("" if client._cwrite else " pure-Python write")
        self.t_import = time.perf_counter() - t
        t = time.perf_counter()
        self.down = os.environ.get("PASTALOG_BENCH_DOWN") == "1"
        self.log = pastalog.Log(os.environ["PASTALOG_BENCH_SERVER"], f"{MODEL}-{phase}",
                                spool_dir=os.path.join(datadir, "spool"))
        self.t_init = time.perf_counter() - t
        self.write = self.log.write
        self.write_many = self.log.write_many

    def log1(self, step, v):
        self.write("loss", v, step)

    def logm(self, step, d):
        self.write_many(d, step)

    def close(self):
        if self.down:
            self.flushed = self.log.flush(timeout=0)
            self.log.close(timeout=0)
            return
        self.flushed = self.log.flush(timeout=300)
        if not self.flushed:
            raise SystemExit("flush() did not deliver every point")
        self.log.close()


class NoopAdapter(anchors.Adapter):
    """The harness alone, in an interpreter that imported pastalog."""

    multi_is_dict = True

    def __init__(self, datadir, phase):
        import pastalog
        self.version = pastalog.__version__
        self.t_import = self.t_init = 0.0

    def log1(self, step, v):
        pass

    def logm(self, step, d):
        pass


def _make_adapter(tool, datadir, phase):
    return NoopAdapter(datadir, phase) if tool == "noop" else PastalogAdapter(datadir, phase)


def _direct(n):
    """``write`` called straight from a timed loop, no adapter in between."""
    import pastalog
    vals = anchors.values(n)
    log = pastalog.Log(os.environ["PASTALOG_BENCH_SERVER"], f"{MODEL}-direct",
                       spool_dir=False)
    write = log.write
    pc = time.perf_counter_ns
    lat = [0] * n
    t_start = pc()
    for i in range(n):
        t0 = pc()
        write("loss", vals[i], i)
        lat[i] = pc() - t0
    loop = pc() - t_start
    # the same loop untimed: total / n, without perf_counter_ns around every call
    vals2 = vals
    t1 = pc()
    for i in range(n):
        write("loss2", vals2[i], i)
    bare = pc() - t1
    ok = log.flush(timeout=300)
    log.close()
    s = sorted(lat)
    return {"tool": "pastalog", "phase": "direct", "n_calls": n, "flushed": ok,
            "med_us": s[n // 2] / 1e3, "p99_us": pct(s, 0.99) / 1e3,
            "p999_us": pct(s, 0.999) / 1e3, "max_us": s[-1] / 1e3,
            "mean_us": loop / n / 1e3, "untimed_mean_us": bare / n / 1e3}


def _sweep(n, runs=100):
    """One process logging a sweep: ``runs`` Logs to one server, ``write`` round-robin.

    Reports per-call figures as ``_direct`` does, the sender threads and connections
    the Logs made (one of each is the target), and the process's RSS overhead."""
    import threading

    import pastalog
    from .util import proc_status_kb
    vals = anchors.values(n)
    pid = os.getpid()
    threads0 = threading.active_count()
    rss0 = proc_status_kb(pid, "VmRSS")
    logs = [pastalog.Log(os.environ["PASTALOG_BENCH_SERVER"], f"{MODEL}-sweep-{k:03d}",
                         spool_dir=False) for k in range(runs)]
    writes = [log.write for log in logs]
    pc = time.perf_counter_ns
    lat = [0] * n
    for i in range(n):
        w = writes[i % runs]
        t0 = pc()
        w("loss", vals[i], i // runs)
        lat[i] = pc() - t0
    ok = all(log.flush(timeout=300) for log in logs)
    threads = threading.active_count() - threads0
    sockets = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            sockets += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:         # the listing's own descriptor, gone by now
            pass
    rss = proc_status_kb(pid, "VmHWM") - rss0
    for log in logs:
        log.close()
    s = sorted(lat)
    return {"tool": "pastalog", "phase": "sweep", "runs": runs, "n_calls": n, "flushed": ok,
            "med_us": s[n // 2] / 1e3, "p99_us": pct(s, 0.99) / 1e3,
            "sender_threads": threads, "sockets": sockets, "rss_overhead_kb": rss}


def _read(url, model, n_expect):
    """(c) in a fresh process: every point of the series through GET /api/v1/series."""
    t = time.perf_counter()
    import urllib.parse
    import urllib.request
    t_import = time.perf_counter() - t
    q = urllib.parse.urlencode({"model": model, "series": "loss"})
    t = time.perf_counter()
    with urllib.request.urlopen(f"{url}/api/v1/series?{q}", timeout=300) as resp:
        raw = resp.read()
    t_http = time.perf_counter() - t
    doc = json.loads(raw)
    steps, values = doc["steps"], doc["values"]
    values = [float(v) for v in values]  # non-finite values arrive as text
    t_read = time.perf_counter() - t
    return {"tool": "pastalog", "phase": "read", "t_import_s": t_import, "read_s": t_read,
            "http_s": t_http, "bytes": len(raw), "n_read": len(steps),
            "complete": len(steps) == n_expect == len(values),
            "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def worker_main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["anchors", "direct", "read", "sweep"])
    ap.add_argument("--tool", default="pastalog")
    ap.add_argument("--phase", default="single")
    ap.add_argument("--datadir", default=".")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--model", default="")
    a = ap.parse_args(argv)
    if a.what == "direct":
        print("RESULT " + json.dumps(_direct(a.n or anchors.N_SINGLE)), flush=True)
        return
    if a.what == "sweep":
        print("RESULT " + json.dumps(_sweep(a.n or anchors.N_SINGLE)), flush=True)
        return
    if a.what == "read":
        res = _read(os.environ["PASTALOG_BENCH_SERVER"], a.model, a.n or anchors.N_SINGLE)
        print("RESULT " + json.dumps(res), flush=True)
        return
    anchors.make_adapter = _make_adapter
    args = argparse.Namespace(tool=a.tool, phase=a.phase, datadir=a.datadir, n=a.n,
                              steps=a.steps, deadline=anchors.SOFT_DEADLINE_S,
                              check_every=1000)
    anchors.worker(args)  # prints RESULT and exits the process


def _child(argv, env, cwd, log_path):
    """One measurement in a fresh interpreter; its RESULT line as a dict."""
    cmd = fresh([sys.executable, "-m", "benchmarks.client_bench"] + argv)
    t0 = time.perf_counter()
    with open(log_path, "a") as err:
        p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err,
                           text=True, timeout=900)
    res = None
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
    if res is None:
        res = {"error": f"no result (exit {p.returncode}; see {log_path})"}
    res["child_wall_s"] = time.perf_counter() - t0
    return res


def run_client_workloads(work, reps=3, n=0, steps=0, log=print):
    """Run (a)-(e) ``reps`` times; returns result rows like anchors.py's."""
    n_single = n or anchors.N_SINGLE
    n_multi = (steps or anchors.N_MULTI_STEPS) * anchors.N_SERIES
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    results = []
    keys = ("med_us", "p99_us", "mean_us", "durable_s", "close_s", "read_s", "n_read",
            "peak_rss_kb", "disk_apparent", "error")
    for rep in range(reps):
        base = os.path.join(work, f"client-rep{rep}")
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(base)
        errlog = os.path.join(base, "workers.stderr")
        extra = ["--n", str(n)] if n else []
        extra += ["--steps", str(steps)] if steps else []
        for phase in ("single", "multi"):
            data = os.path.join(base, f"data-{phase}")
            with Server(data) as server:
                e = dict(env, PASTALOG_BENCH_SERVER=server.url)
                r = _child(["anchors", "--phase", phase, "--datadir", base] + extra, e, base,
                           errlog)
                r.update(tool="pastalog", phase=phase, rep=rep)
                r["server_rss_kb"] = server.rss_kb()
                results.append(r)
                log_line(log, f"pastalog rep{rep} {phase}", r, keys)
                if phase == "single":
                    r2 = _child(["read", "--model", f"{MODEL}-single", "--n", str(n_single)],
                                e, base, errlog)
                    r2.update(rep=rep)
                    results.append(r2)
                    log_line(log, f"pastalog rep{rep} read", r2, keys)
            # (e) after the server stopped: the store closed and checkpointed its WAL
            r["disk_apparent"] = dir_size(data)
            r["disk_files"] = sorted(os.listdir(data))
            r["n_points"] = n_single if phase == "single" else n_multi
        # baseline and variants, each once per rep
        down = dict(env, PASTALOG_BENCH_SERVER=f"http://127.0.0.1:{free_port()}",
                    PASTALOG_BENCH_DOWN="1")
        r = _child(["anchors", "--phase", "single", "--datadir", base] + extra, down, base,
                   errlog)
        r.update(tool="pastalog", phase="down", rep=rep)
        results.append(r)
        log_line(log, f"pastalog rep{rep} single, server down", r, keys)
        with Server(os.path.join(base, "data-pure")) as server:
            r = _child(["anchors", "--phase", "single", "--datadir", base] + extra,
                       dict(env, PASTALOG_BENCH_SERVER=server.url, PASTALOG_PURE_PYTHON="1"),
                       base, errlog)
        r.update(tool="pastalog", phase="pure", rep=rep)
        results.append(r)
        log_line(log, f"pastalog rep{rep} single, pure-Python write", r, keys)
        r = _child(["anchors", "--tool", "noop", "--phase", "single", "--datadir", base]
                   + extra, env, base, errlog)
        r.update(tool="noop", phase="single", rep=rep)
        results.append(r)
        log_line(log, f"harness only rep{rep}", r, keys)
        with Server(os.path.join(base, "data-direct")) as server:
            r = _child(["direct"] + (["--n", str(n)] if n else []),
                       dict(env, PASTALOG_BENCH_SERVER=server.url), base, errlog)
        r.update(rep=rep)
        results.append(r)
        log_line(log, f"pastalog rep{rep} direct loop", r, keys + ("untimed_mean_us",))
        with Server(os.path.join(base, "data-sweep")) as server:
            r = _child(["sweep"] + (["--n", str(n)] if n else []),
                       dict(env, PASTALOG_BENCH_SERVER=server.url), base, errlog)
        r.update(rep=rep)
        results.append(r)
        log_line(log, f"pastalog rep{rep} sweep of 100 Logs", r,
                 ("med_us", "p99_us", "sender_threads", "sockets", "rss_overhead_kb", "flushed"))
        shutil.rmtree(base, ignore_errors=True)
    return results


if __name__ == "__main__":
    worker_main(sys.argv[1:])
