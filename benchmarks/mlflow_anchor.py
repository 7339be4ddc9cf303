"""The anchor of issue 13: MLflow's tracking server on the same PostgreSQL.

``mlflow server --backend-store-uri postgresql://...`` (its default 4 workers) runs from
a virtualenv of its own under ``.peers/`` (made with ``peers.setup_peers``, from the
package registry: ``mlflow`` as ``peers.py`` pins it, plus ``psycopg2-binary``, which
its PostgreSQL URIs need), on a database of its own in the cluster pastalog's servers
use. Four client processes (the venv's Python running this file) each call
``MlflowClient.log_batch`` with 1,000 metrics per call (10 keys x 100 steps, as
pastalog's clients send 10 series) until they have sent their points; points/s is
all points over the wall time from the first call to the last answer. Every answered
batch is committed by the server (``synchronous_commit`` is on): durable, as
pastalog's figure is.

Usage: ``python -m benchmarks.mlflow_anchor [points per client]`` (standalone, with a
throwaway cluster); ``pg_bench`` calls :func:`run_anchor` on its own cluster.
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

__all__ = ["METRICS_PER_CALL", "PIN", "run_anchor", "setup_venv"]

#: The venv (under the peers' root), its label and its pins.
PIN = ("venv-mlflow-pg", "mlflow tracking server on PostgreSQL",
       ["mlflow==3.17.2", "psycopg2-binary==2.9.13"])
TOOL = "mlflow-pg"
METRICS_PER_CALL = 1000
KEYS = 10
CLIENTS = 4


def client(url, run_name, points):
    """One client process (in the mlflow venv): log ``points`` metrics, print timing."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    mc = MlflowClient(tracking_uri=url)
    run_id = _retry(lambda: mc.create_run(_experiment(mc), run_name=run_name).info.run_id)
    per = METRICS_PER_CALL // KEYS
    now = int(time.time() * 1000)
    calls = [[Metric(f"s{j}", 0.5 + 0.001 * ((k * per + i) % 997), now + k * per + i,
                     k * per + i) for j in range(KEYS) for i in range(per)]
             for k in range(points // METRICS_PER_CALL)]
    start = time.time()
    for metrics in calls:
        mc.log_batch(run_id, metrics=metrics)
    end = time.time()
    mc.set_terminated(run_id)
    print(json.dumps({"start": start, "end": end,
                      "points": len(calls) * METRICS_PER_CALL}), flush=True)


def _experiment(mc):
    exp = mc.get_experiment_by_name("anchor")
    if exp:
        return exp.experiment_id
    try:
        return mc.create_experiment("anchor")
    except Exception:   # noqa: BLE001 (another client created it first)
        return mc.get_experiment_by_name("anchor").experiment_id


def _retry(fn, tries=5):
    """The set-up calls, again after a broken answer (seen once at load 10: a worker
    that was still starting cut its reply); the timed calls are never retried here."""
    for attempt in range(tries):
        try:
            return fn()
        except Exception:   # noqa: BLE001 (MlflowException wraps the transport's errors)
            if attempt == tries - 1:
                raise
            time.sleep(1 + attempt)


def setup_venv(root=None, log=print):
    """Make (or reuse) the venv; returns its ``python`` or ``None`` with a logged reason."""
    from unittest import mock

    from . import peers

    root = root or peers.DEFAULT_ROOT
    if os.environ.get("CI"):
        log("[mlflow] not under CI: no venv is made there")
        return None
    with mock.patch.dict(peers.PEERS, {TOOL: PIN}):   # peers.py's venv maker, our pins
        status = peers.setup_peers(root, tools=[TOOL], log=log)[TOOL]
        python = peers.peer_python(root, TOOL)
    if status != "ok":
        log(f"[mlflow] {status}")
        return None
    return python


def _wait(url, proc, logfile, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(logfile, "rb") as fh:
                tail = fh.read()[-2000:].decode("utf-8", "replace")
            raise RuntimeError(f"mlflow server exited with {proc.returncode}: {tail}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"mlflow server did not answer within {timeout} s")


def _stop(server):
    """End the server and its workers (its own process group), by its pid."""
    for sig, wait in ((15, 20), (9, None)):
        if server.poll() is not None:
            return
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            pass


def run_anchor(python, db_url, work, points, port):
    """MLflow's server on ``db_url``, 4 clients of ``points`` metrics each.

    Returns ``{"points", "wall_s", "points_per_s", "version", "workers"}``.
    """
    home = os.path.join(work, "mlflow")
    os.makedirs(home, exist_ok=True)
    mlflow = os.path.join(os.path.dirname(python), "mlflow")
    url = f"http://127.0.0.1:{port}"
    # SQLAlchemy 2.1 takes a bare postgresql:// for psycopg 3: name the driver we pin
    db_url = db_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    logfile = os.path.join(home, "server.log")
    log = open(logfile, "wb")
    env = dict(os.environ, MLFLOW_TRACKING_URI=url, PYTHONPATH="")
    server = subprocess.Popen(
        [mlflow, "server", "--backend-store-uri", db_url, "--host", "127.0.0.1",
         "--port", str(port), "--default-artifact-root", os.path.join(home, "artifacts")],
        cwd=home, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait(url, server, logfile)
        version = subprocess.run([python, "-c", "import mlflow; print(mlflow.__version__)"],
                                 capture_output=True, text=True, env=env).stdout.strip()
        procs = [subprocess.Popen([python, os.path.abspath(__file__), "client", url,
                                   f"client{c}", str(points)], cwd=home, env=env,
                                  stdout=subprocess.PIPE, text=True)
                 for c in range(CLIENTS)]
        outs = []
        for p in procs:
            out = p.communicate(timeout=3600)[0].strip().splitlines()
            if p.returncode or not out:
                with open(logfile, "rb") as fh:
                    tail = fh.read()[-1500:].decode("utf-8", "replace")
                raise RuntimeError(f"an mlflow client failed (exit {p.returncode}); "
                                   f"the server's log ends: {tail}")
            outs.append(json.loads(out[-1]))
    finally:
        _stop(server)
        log.close()
    total = sum(o["points"] for o in outs)
    wall = max(o["end"] for o in outs) - min(o["start"] for o in outs)
    return {"points": total, "wall_s": round(wall, 2), "points_per_s": round(total / wall),
            "version": version, "workers": 4}


def main(argv):
    import shutil
    import tempfile

    from .util import ROOT, free_port

    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from pg_cluster import PgCluster

    points = int(argv[0]) if argv else 20_000
    python = setup_venv()
    if python is None:
        return 1
    work = tempfile.mkdtemp(prefix="pastalog-mlflow-")
    cluster = PgCluster(free_port()).start()
    try:
        print(json.dumps(run_anchor(python, cluster.create_database("mlflow"), work,
                                    points, free_port())))
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(main(sys.argv[1:]))
