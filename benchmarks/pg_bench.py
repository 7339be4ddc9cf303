"""The PostgreSQL store against SQLite (issue 13), on a throwaway cluster of its own.

Same run, same machine, reported as ratios:

- ingest: 4 client processes (``server_bench.ingest_client``: binary batches of 10
  series over one keep-alive connection each) through 1, 2 and 4 servers on PostgreSQL,
  clients spread round robin (4 servers: one client each), against one server on
  SQLite; points/s from the first
  request to the last 200 (every answered point is committed); twice each, interleaved
  (once with ``--quick``), the best kept: other work on the machine only slows a run;
- bytes per point on PostgreSQL (``pg_total_relation_size`` of the point tables) and
  on SQLite (the database file) after that ingest;
- a chart query (``buckets=2000``, whole range) over a 10,000,000-point series on
  PostgreSQL, over HTTP and in the store, median of 20, checked exact against a numpy
  scan of the points;
- the anchor (``--mlflow``, on by default when its virtualenv can be made; ``--no-mlflow``
  skips it): MLflow's tracking server on the same cluster, 4 clients of
  ``log_batch`` with 1,000 metrics a call (``mlflow_anchor.py``), against pastalog's
  2 servers.

Writes its section of benchmarks/RESULTS.md (between ``<!-- pg_bench -->`` markers).
Usage: ``python -m benchmarks.pg_bench [--quick] [--no-mlflow]``
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np

from . import mlflow_anchor
from .util import ROOT, free_port

sys.path.insert(0, os.path.join(ROOT, "tests"))

from helpers import ServerProcess  # noqa: E402
from pg_cluster import PgCluster  # noqa: E402

MARK = "<!-- pg_bench -->"
CLIENTS = 4


def cpu_seconds(pids):
    """User + system CPU seconds the live processes ``pids`` have used so far."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:   # ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def database_pids(cluster):
    """The cluster's postmaster and its children (backends, WAL writer, ...)."""
    root = cluster.pid()
    kids = subprocess.run(["pgrep", "-P", str(root)], capture_output=True, text=True).stdout
    return [root, *map(int, kids.split())]


def ingest(servers, points, batch=10_000, cluster=None):
    """4 clients through ``servers``; with ``cluster``, the CPU seconds the servers and
    the database used meanwhile (``cpu_s``): a figure the machine's other load moves
    less than the wall time (backends that end during the run are not counted: the
    servers' pools keep theirs)."""
    pids = [s.proc.pid for s in servers]
    before = cpu_seconds(pids) + (cpu_seconds(database_pids(cluster)) if cluster else 0)
    env = dict(os.environ, PYTHONPATH=ROOT)
    procs = [subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server_bench", "ingest-client",
         servers[c % len(servers)].url, f"client{c}", str(points), str(batch), str(c)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for c in range(CLIENTS)]
    outs = [json.loads(p.communicate(timeout=1800)[0].strip().splitlines()[-1])
            for p in procs]
    total = sum(o["points"] for o in outs)
    wall = max(o["end"] for o in outs) - min(o["start"] for o in outs)
    cpu = cpu_seconds(pids) + (cpu_seconds(database_pids(cluster)) if cluster else 0) - before
    return {"points": total, "wall_s": round(wall, 2), "points_per_s": round(total / wall),
            "cpu_s": round(cpu, 2)}


def pg_bytes(url):
    """Bytes of the point tables as the ingest left them (with the dead row versions
    that merged chunks and updated cells leave until autovacuum reuses their room),
    and after ``VACUUM FULL`` (what the points themselves take)."""
    import psycopg

    tables = ("chunks", "agg", "series", "models")
    with psycopg.connect(url, autocommit=True) as conn:
        def size():
            return sum(conn.execute(f"SELECT pg_total_relation_size('{t}')").fetchone()[0]
                       for t in tables)
        before = size()
        conn.execute("VACUUM FULL " + ", ".join(tables))
        return before, size()


def chart(url, work, points):
    from pastalog.server.store import Store
    from pastalog.server.store.pyramid import aggregate, bucket_level

    rng = np.random.default_rng(1)
    steps = np.arange(points, dtype=np.int64)
    values = 2.5 * np.exp(-steps / (points / 3)) + rng.normal(0, 0.05, points)
    times = 1.7e9 + steps * 0.01
    with Store(url) as store:
        t0 = time.perf_counter()
        for lo in range(0, points, 200_000):
            store.write_points([("big", "loss", steps[lo:lo + 200_000],
                                 values[lo:lo + 200_000], times[lo:lo + 200_000])])
        write_s = time.perf_counter() - t0
        in_store = []
        for _ in range(20):
            t = time.perf_counter()
            got = store.read_buckets("big", "loss", 2000)
            in_store.append(time.perf_counter() - t)
        level = bucket_level(0, points - 1, 2000)
        want = aggregate(steps, values, times, level)
        exact = all(np.array_equal(got["agg"][k], want[k]) for k in
                    ("cell", "count", "vmin", "vmax", "first", "last"))
    server = ServerProcess(os.path.join(work, "chart-srv"), extra_args=["--store", url]).start()
    try:
        http = []
        for _ in range(20):
            t = time.perf_counter()
            with urllib.request.urlopen(server.url + "/api/v1/series?model=big&series=loss"
                                        "&buckets=2000", timeout=60) as resp:
                body = resp.read()
            http.append(time.perf_counter() - t)
    finally:
        server.stop()
    return {"points": points, "write_s": round(write_s, 1),
            "http_median_ms": round(float(np.median(http)) * 1e3, 1),
            "store_median_ms": round(float(np.median(in_store)) * 1e3, 1),
            "response_bytes": len(body), "exact": exact}


def main(argv=()):
    quick = "--quick" in argv
    reps = 1 if quick else 2
    per_client = 250_000 if quick else 1_000_000
    chart_points = 1_000_000 if quick else 10_000_000
    mlflow_points = 3_000 if quick else 10_000   # per client: MLflow is far slower
    mlflow_python = None if "--no-mlflow" in argv else mlflow_anchor.setup_venv()
    work = tempfile.mkdtemp(prefix="pastalog-pgbench-")
    cluster = PgCluster(free_port()).start()
    results = {"per_client": per_client}
    started = []
    try:
        def servers(n, store):
            out = []
            for k in range(n):
                extra = ["--store", store] if "://" in store else []
                data = os.path.join(work, f"srv-{len(started)}") if extra else store
                out.append(ServerProcess(data, extra_args=extra).start())
                started.append(out[-1])
            return out

        runs = {}
        for rep in range(reps):   # interleaved, so that a burst of other load hits one
            sqlite_dir = os.path.join(work, f"sqlite-{rep}")
            srv = servers(1, sqlite_dir)
            runs.setdefault("sqlite_1", []).append(ingest(srv, per_client))
            for s in srv:
                s.stop()
            if rep == 0:
                results["sqlite_bytes_per_point"] = round(
                    os.path.getsize(os.path.join(sqlite_dir, "pastalog.sqlite3"))
                    / runs["sqlite_1"][0]["points"], 2)
            for n in (1, 2, 4):
                url = cluster.create_database(f"ingest{n}_{rep}")
                srv = servers(n, url)
                runs.setdefault(f"pg_{n}", []).append(ingest(srv, per_client, cluster=cluster))
                for s in srv:
                    s.stop()
                if n == 1 and rep == 0:
                    before, after = pg_bytes(url)
                    points = runs["pg_1"][0]["points"]
                    results["pg_bytes_per_point"] = round(before / points, 2)
                    results["pg_bytes_per_point_vacuumed"] = round(after / points, 2)
        for key, rows in runs.items():   # the best of the reps, and all of them
            results[key] = dict(max(rows, key=lambda row: row["points_per_s"]),
                                reps=[row["points_per_s"] for row in rows])
        results["reps"] = reps
        results["chart"] = chart(cluster.create_database("chart"), work, chart_points)
        print(json.dumps(results), flush=True)   # kept in the log if the anchor fails
        if mlflow_python:
            try:
                results["mlflow"] = mlflow_anchor.run_anchor(
                    mlflow_python, cluster.create_database("mlflow"), work, mlflow_points,
                    free_port())
            except RuntimeError as exc:
                print(f"[mlflow] {exc}", flush=True)
                results["mlflow_error"] = str(exc).splitlines()[0]
    finally:
        for s in started:
            s.stop()
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=1))
    write_section(results)
    return results


def mlflow_lines(r):
    """The anchor's lines of the report."""
    m = r.get("mlflow")
    if not m:
        if r.get("mlflow_error"):
            return f"- the anchor (MLflow's tracking server) failed: {r['mlflow_error']}"
        return ("- MLflow's tracking server on the same PostgreSQL (the anchor): not run "
                "(`--no-mlflow`, or its virtualenv could not be made)")
    return (f"- the anchor: MLflow {m['version']}'s tracking server (`mlflow server\n"
            f"  --backend-store-uri postgresql://...`, its default {m['workers']} workers) "
            f"on the same\n  cluster, {CLIENTS} clients of `log_batch` with "
            f"{mlflow_anchor.METRICS_PER_CALL:,} metrics a call, {m['points']:,} points\n"
            f"  in all: {m['points_per_s']:,} points/s durable; pastalog through 2 servers "
            f"is {r['pg_2']['points_per_s'] / m['points_per_s']:,.0f}x that.")


def mlflow_row(r, base):
    """The anchor's row of the ingest table (none when it did not run)."""
    m = r.get("mlflow")
    if not m:
        return ""
    return (f"\n| MLflow tracking server ({m['workers']} workers), PostgreSQL "
            f"| {m['points_per_s']:,} | {m['points_per_s'] / base:.4f} | |")


def all_reps(r):
    return ";\n".join(f"{key} " + ", ".join(f"{x:,}" for x in r[key].get("reps", ()))
                      for key in ("sqlite_1", "pg_1", "pg_2", "pg_4"))


def ingest_row(label, row, base):
    """A row of the ingest table: points/s, the ratio to SQLite's, CPU s per 1M points."""
    cpu = f"{row['cpu_s'] / row['points'] * 1e6:.2f}" if "cpu_s" in row else ""
    return f"| {label} | {row['points_per_s']:,} | {row['points_per_s'] / base:.2f} | {cpu} |"


def mlflow_verdict(r):
    m = r.get("mlflow")
    if not m:
        return "not measured"
    ratio = r["pg_2"]["points_per_s"] / m["points_per_s"]
    return f"{'met' if ratio >= 20 else 'missed'}: {ratio:,.0f}x"


def write_section(r):
    base = r["sqlite_1"]["points_per_s"]
    c = r["chart"]
    text = f"""{MARK}
## PostgreSQL store (issue 13), `python -m benchmarks.pg_bench`

Same run, same 2-core machine for the database, the servers and the clients (shared
with other work: absolute figures are noisy, ratios less so). {CLIENTS} client processes,
{r['per_client']:,} points each, binary batches of 10,000 points (10 series); each
ingest ran {r.get('reps', 1)} times, interleaved, and the best is shown (all, points/s:
{all_reps(r)}).

| ingest | points/s | vs SQLite | CPU s per 1M points (servers + database) |
|---|---|---|---|
{ingest_row("1 server, SQLite", r["sqlite_1"], base)}
{ingest_row("1 server, PostgreSQL", r["pg_1"], base)}
{ingest_row("2 servers, PostgreSQL", r["pg_2"], base)}
{ingest_row("4 servers, PostgreSQL", r["pg_4"], base)}{mlflow_row(r, base)}

The CPU column (from `/proc`) moves less with the machine's other load than points/s
does: the clients' CPU is not in it, and neither is anything else running.

- bytes per point: PostgreSQL {r['pg_bytes_per_point']} as the ingest left the tables
  (chunks, pyramid, rows, indexes, with the dead row versions of merged chunks and
  updated cells that autovacuum recycles), {r['pg_bytes_per_point_vacuumed']} after
  `VACUUM FULL`; SQLite {r['sqlite_bytes_per_point']} (the database file).
- chart query, `buckets=2000`, whole range of a {c['points']:,}-point series on
  PostgreSQL: HTTP median {c['http_median_ms']} ms, in the store {c['store_median_ms']} ms,
  {c['response_bytes']:,} response bytes, exact against a numpy scan: {c['exact']}.
{mlflow_lines(r)}
- issue 13's targets on this machine: >= 500,000 points/s through 2 servers
  ({'met' if r['pg_2']['points_per_s'] >= 500_000 else 'missed'}:
  {r['pg_2']['points_per_s']:,}); 2 servers not slower than 1
  ({'met' if r['pg_2']['points_per_s'] >= 0.95 * r['pg_1']['points_per_s'] else 'missed'});
  chart <= 30 ms median, exact ({'met' if c['http_median_ms'] <= 30 and c['exact'] else 'missed'});
  <= 24 bytes a point ({'met' if r['pg_bytes_per_point_vacuumed'] <= 24 else 'missed'} after
  VACUUM FULL, {'met' if r['pg_bytes_per_point'] <= 24 else 'missed'} before);
  >= 20x MLflow's ingest ({mlflow_verdict(r)}).
{MARK}"""
    path = os.path.join(ROOT, "benchmarks", "RESULTS.md")
    old = open(path, encoding="utf-8").read()
    if MARK in old:
        head, _, rest = old.partition(MARK)
        _, _, tail = rest.partition(MARK)
        new = head + text + tail
    else:
        new = old.rstrip() + "\n\n" + text + "\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(new)


if __name__ == "__main__":
    main(sys.argv[1:])
