# Vendored from /work/shared/peers/bench_anchors.py (our own shared file, by the
# pastalog team): the script that measured the peer table in issue 5. Kept verbatim
# below this header so that the peers' figures in benchmarks/RESULTS.md come from the
# exact same workloads, harness and child-process recipe. benchmarks/peers.py drives
# its "worker" sub-command under each peer's virtualenv; benchmarks/client_bench.py
# runs the same worker loop with a pastalog adapter. Do not edit: re-copy instead.
#!/usr/bin/env python3
"""bench_anchors.py - performance anchors for scalar-logging tools used in NN training.

Measures, with one identical workload per tool, the cost a training loop pays to log
scalars with: tensorboardX (+ tensorboard EventAccumulator read-back), trackio (local),
aim, mlflow (file store, sqlite store, sqlite store + async logging), wandb (offline) and
visdom (server on 127.0.0.1), plus "physical floor" figures for this machine.

The script installs nothing. Create one venv per tool (their pins conflict); never torch:

  R=${PEERS_ROOT:-$PWD/.peers}
  python3 -m venv $R/venv-tbx     && $R/venv-tbx/bin/pip install tensorboardX==2.6.5 tensorboard==2.21.0
  python3 -m venv $R/venv-tbx-crc && $R/venv-tbx-crc/bin/pip install tensorboardX==2.6.5 tensorboard==2.21.0 crc32c==2.9.post0
  python3 -m venv $R/venv-trackio && $R/venv-trackio/bin/pip install trackio==0.43.0
  python3 -m venv $R/venv-aim     && $R/venv-aim/bin/pip install aim==3.29.1
  python3 -m venv $R/venv-mlflow  && $R/venv-mlflow/bin/pip install mlflow==3.17.2
  python3 -m venv $R/venv-wandb   && $R/venv-wandb/bin/pip install wandb==0.31.0
  python3 -m venv $R/venv-visdom  && $R/venv-visdom/bin/pip install "setuptools<81" wheel \
      && $R/venv-visdom/bin/pip install --no-build-isolation visdom==0.2.4
  # (visdom's sdist imports pkg_resources, gone from setuptools>=81: build isolation fails)

Usage (orchestrator runs under any python3 >= 3.10, stdlib only):

  python3 bench_anchors.py run    --root $R [--tools tbx,trackio,...] [--reps 3]
                                  [--out results.json] [--check-every 100 (visdom)]
  python3 bench_anchors.py floors --root $R [--reps 3] [--out floors.json]
  python3 bench_anchors.py table  results.json [floors.json]      # markdown summary
  python3 bench_anchors.py netcheck --root $R      # strace connect() audit

Internally each measurement runs in a fresh child process ("worker" sub-command) with
the tool's venv python, cwd = a fresh data dir, a hard 600 s wall limit (process group
killed by its PID) and a soft in-loop deadline (the loop stops and reports how far it got).

Workloads (per tool, per rep):
  single : 100,000 calls, one series "loss", step 0..99,999. Each call timed with
           perf_counter_ns; then close/finish. durable_s = loop + close.
  multi  : 10 series x 10,000 steps, one call per step with a dict where the API allows
           (wandb/trackio/aim/mlflow/visdom), tensorboardX: 10 add_scalar calls per step.
  read   : fresh process loads all 100,000 points of "loss" with the tool's own reader.
Peak RSS = getrusage(RUSAGE_SELF).ru_maxrss of the logging process; helper processes
(wandb-core, visdom server) are reported separately from /proc/<pid>/status VmHWM.
"""
import argparse
import json
import math
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.abspath(__file__)
N_SINGLE = 100_000
N_SERIES = 10
N_MULTI_STEPS = 10_000
SOFT_DEADLINE_S = 570.0      # in-loop soft deadline (the loop stops, reports progress)
HARD_LIMIT_S = 600           # child process wall limit (killed, reported as > 10 min)

TOOLS = {
    # name: venv dir name
    "tbx": "venv-tbx",
    "tbx-crc32c": "venv-tbx-crc",   # same, plus the optional native `crc32c` package
    "trackio": "venv-trackio",
    "aim": "venv-aim",
    "mlflow-file": "venv-mlflow",
    "mlflow-sqlite": "venv-mlflow",
    "mlflow-sqlite-async": "venv-mlflow",
    "wandb-offline": "venv-wandb",
    "visdom": "venv-visdom",
}

# Everything that could phone home is switched off; all tools run local-only.
OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "WANDB_DISABLE_GIT": "true",
    "WANDB_DISABLE_CODE": "true",
    "AIM_UI_TELEMETRY_ENABLED": "0",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "PYTHONUNBUFFERED": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def values(n, seed=0):
    rnd = random.Random(seed)
    return [rnd.random() for _ in range(n)]


def rss_now_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_name(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def descendants(root_pid):
    """PIDs of all live descendants of root_pid (from /proc/*/stat)."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            ppid = int(s[s.rfind(")") + 2:].split()[1])
            parent[int(d)] = ppid
        except (OSError, ValueError, IndexError):
            continue
    out, frontier = [], {root_pid}
    while frontier:
        nxt = {p for p, pp in parent.items() if pp in frontier}
        out.extend(sorted(nxt))
        frontier = nxt
    return out


def dir_size(path):
    apparent = blocks = nfiles = 0
    for dp, _dn, fn in os.walk(path):
        for f in fn:
            p = os.path.join(dp, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            apparent += st.st_size
            blocks += st.st_blocks * 512
            nfiles += 1
    return apparent, blocks, nfiles


def pct(sorted_vals, q):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(math.ceil(q * len(sorted_vals))) - 1))
    return sorted_vals[k]


def lat_stats(lat_ns, n_done, loop_ns):
    s = sorted(lat_ns[:n_done])
    if not s:
        return {}
    return {
        "med_us": s[len(s) // 2] / 1e3,
        "p99_us": pct(s, 0.99) / 1e3,
        "p999_us": pct(s, 0.999) / 1e3,
        "max_us": s[-1] / 1e3,
        "mean_us": loop_ns / n_done / 1e3,
        "sum_timed_s": sum(s) / 1e9,
    }


# --------------------------------------------------------------------------------------
# Tool adapters (run inside the worker, under the tool's own venv)
# --------------------------------------------------------------------------------------
class Adapter:
    multi_is_dict = True
    helper_pids = ()

    def close(self):
        pass

    def stop(self):  # after measurement: tear down helper processes (not timed)
        pass


def make_adapter(tool, datadir, phase):
    if tool.startswith("tbx"):
        return TbxAdapter(datadir, phase)
    if tool == "trackio":
        return TrackioAdapter(datadir, phase)
    if tool == "aim":
        return AimAdapter(datadir, phase)
    if tool.startswith("mlflow"):
        return MlflowAdapter(tool, datadir, phase)
    if tool == "wandb-offline":
        return WandbAdapter(datadir, phase)
    if tool == "visdom":
        return VisdomAdapter(datadir, phase)
    raise SystemExit(f"unknown tool {tool}")


class TbxAdapter(Adapter):
    multi_is_dict = False  # add_scalars() would open one event file per tag; use add_scalar x10

    def __init__(self, datadir, phase):
        t = time.perf_counter()
        from tensorboardX import SummaryWriter
        import tensorboardX
        self.version = tensorboardX.__version__
        self.t_import = time.perf_counter() - t
        t = time.perf_counter()
        self.w = SummaryWriter(logdir=os.path.join(datadir, "tb"))  # defaults: max_queue=10, flush_secs=120
        self.t_init = time.perf_counter() - t

    def log1(self, step, v):
        self.w.add_scalar("loss", v, step)

    def logm(self, step, d):
        w = self.w
        for k, v in d.items():
            w.add_scalar(k, v, step)

    def close(self):
        self.w.close()


class TrackioAdapter(Adapter):
    def __init__(self, datadir, phase):
        os.environ["TRACKIO_DIR"] = os.path.join(datadir, "trackio")
        os.environ.setdefault("TRACKIO_STORAGE_MODE", "sqlite")
        t = time.perf_counter()
        import trackio
        self.version = trackio.__version__ if hasattr(trackio, "__version__") else "?"
        self.t_import = time.perf_counter() - t
        self.trackio = trackio
        t = time.perf_counter()
        self.run = trackio.init(project="bench", name="run-" + phase, embed=False,
                                auto_log_cpu=False, auto_log_gpu=False)
        self.t_init = time.perf_counter() - t

    def log1(self, step, v):
        self.trackio.log({"loss": v}, step=step)

    def logm(self, step, d):
        self.trackio.log(d, step=step)

    def close(self):
        self.trackio.finish()


class AimAdapter(Adapter):
    def __init__(self, datadir, phase):
        t = time.perf_counter()
        import aim
        from aim import Run
        from aim.__version__ import __version__ as v
        self.version = v
        self.t_import = time.perf_counter() - t
        t = time.perf_counter()
        self.run = Run(repo=os.path.join(datadir, "aimrepo"), experiment="bench",
                       system_tracking_interval=None, log_system_params=False,
                       capture_terminal_logs=False)
        self.t_init = time.perf_counter() - t

    def log1(self, step, v):
        self.run.track(v, name="loss", step=step)

    def logm(self, step, d):
        self.run.track(d, step=step)

    def close(self):
        # run.close() alone leaves the RocksDB memtables/WAL open; they are flushed when
        # the containers are garbage-collected (normally at interpreter exit).
        import gc
        self.run.close()
        self.run = None
        gc.collect()


class MlflowAdapter(Adapter):
    def __init__(self, tool, datadir, phase):
        if tool == "mlflow-file":
            # mlflow 3.x refuses the file store ("maintenance mode") unless opted in
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
            os.environ["MLFLOW_TRACKING_URI"] = "file://" + os.path.join(datadir, "mlruns")
        else:
            os.environ["MLFLOW_TRACKING_URI"] = "sqlite:///" + os.path.join(datadir, "mlflow.db")
        if tool == "mlflow-sqlite-async":
            os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "true"
        t = time.perf_counter()
        import mlflow
        self.version = mlflow.__version__
        self.t_import = time.perf_counter() - t
        self.mlflow = mlflow
        t = time.perf_counter()
        mlflow.set_experiment("bench")
        self.run = mlflow.start_run(run_name="run-" + phase)
        self.t_init = time.perf_counter() - t

    def log1(self, step, v):
        self.mlflow.log_metric("loss", v, step=step)

    def logm(self, step, d):
        self.mlflow.log_metrics(d, step=step)

    def close(self):
        self.mlflow.end_run()  # end_run() flushes async logging queues


class WandbAdapter(Adapter):
    def __init__(self, datadir, phase):
        for k in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR",
                  "WANDB_ARTIFACT_DIR"):
            os.environ[k] = datadir
        t = time.perf_counter()
        import wandb
        self.version = wandb.__version__
        self.t_import = time.perf_counter() - t
        self.wandb = wandb
        t = time.perf_counter()
        # stats/meta off: the system monitor would also probe cloud metadata endpoints
        settings = wandb.Settings(mode="offline", x_disable_stats=True, x_disable_meta=True,
                                  x_disable_machine_info=True, console="off", silent=True,
                                  disable_git=True, disable_code=True, save_code=False,
                                  x_save_requirements=False)
        self.run = wandb.init(project="bench", name="run-" + phase, dir=datadir,
                              mode="offline", settings=settings)
        self.t_init = time.perf_counter() - t
        self.helper_pids = tuple(descendants(os.getpid()))

    def log1(self, step, v):
        self.run.log({"loss": v}, step=step)

    def logm(self, step, d):
        self.run.log(d, step=step)

    def close(self):
        self.helper_pids = tuple(descendants(os.getpid()))
        self.run.finish()

    def stop(self):
        self.wandb.teardown()  # stops the wandb-core service process


def start_visdom_server(datadir):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    envdir = os.path.join(datadir, "visdom_env") + "/"
    os.makedirs(envdir, exist_ok=True)
    log = open(os.path.join(datadir, "visdom_server.log"), "w")
    # run_server.main() directly: `python -m visdom.server` first tries to download
    # JS/CSS from unpkg/cdn.plot.ly/d3js.org, which we must not (and cannot) reach.
    proc = subprocess.Popen(
        [sys.executable, "-c", "from visdom.server.run_server import main; main()",
         "-port", str(port), "-bind_local", "-env_path", envdir, "-logging_level", "WARNING"],
        stdout=log, stderr=subprocess.STDOUT, cwd=datadir)
    import urllib.request
    import urllib.error
    t0 = time.perf_counter()
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
            break
        except urllib.error.HTTPError:
            break  # offline the index page 403s (its JS/CSS were never downloaded): it is up
        except Exception:
            if proc.poll() is not None or time.perf_counter() - t0 > 60:
                raise RuntimeError("visdom server did not start; see visdom_server.log")
            time.sleep(0.1)
    return proc, port, time.perf_counter() - t0


class VisdomAdapter(Adapter):
    def __init__(self, datadir, phase):
        t = time.perf_counter()
        import visdom
        import numpy as np
        self.np = np
        self.version = getattr(visdom, "__version__", "?")
        self.t_import = time.perf_counter() - t
        t = time.perf_counter()
        self.proc, self.port, self.t_server = start_visdom_server(datadir)
        self.helper_pids = (self.proc.pid,)
        self.vis = visdom.Visdom(server="http://127.0.0.1", port=self.port, env="bench",
                                 use_incoming_socket=False, raise_exceptions=True)
        self.t_init = time.perf_counter() - t
        self.keys = None

    def log1(self, step, v):
        self.vis.line(X=[step], Y=[v], win="loss", env="bench",
                      update=None if step == 0 else "append", opts={"title": "loss"})

    def logm(self, step, d):
        np = self.np
        if self.keys is None:
            self.keys = list(d)
        y = np.array([[d[k] for k in self.keys]])
        x = np.full((1, len(self.keys)), step)
        self.vis.line(X=x, Y=y, win="multi", env="bench",
                      update=None if step == 0 else "append",
                      opts={"legend": self.keys} if step == 0 else None)

    def close(self):
        self.vis.save(["bench"])  # the only way visdom persists data to disk

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------- read-back (each tool's own reader) -----------------------
def read_tool(tool, datadir):
    """Returns (version, t_import, t_read, n_points, extra)."""
    if tool.startswith("tbx"):
        t = time.perf_counter()
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        import tensorboard
        ti = time.perf_counter() - t
        t = time.perf_counter()
        ea = EventAccumulator(os.path.join(datadir, "tb"), size_guidance={"scalars": 0})
        ea.Reload()
        pts = ea.Scalars("loss")
        tr = time.perf_counter() - t
        return "tensorboard " + tensorboard.__version__, ti, tr, len(pts), {}
    if tool == "trackio":
        os.environ["TRACKIO_DIR"] = os.path.join(datadir, "trackio")
        t = time.perf_counter()
        from trackio.sqlite_storage import SQLiteStorage
        ti = time.perf_counter() - t
        t = time.perf_counter()
        logs = SQLiteStorage.get_logs("bench", "run-single")  # what the dashboard calls
        n = sum(1 for r in logs if "loss" in r)
        tr = time.perf_counter() - t
        return "trackio", ti, tr, n, {}
    if tool == "aim":
        t = time.perf_counter()
        from aim import Repo
        from aim.sdk.index_manager import RepoIndexManager
        ti = time.perf_counter() - t
        t = time.perf_counter()
        repo = Repo.from_path(os.path.join(datadir, "aimrepo"))
        # Repo queries only see runs merged into meta/index, which `aim up` (the UI)
        # does in a background thread; without it query_metrics() returns nothing.
        im = RepoIndexManager.get_index_manager(repo)
        for h in repo.list_all_runs():
            im.index(h)
        t_index = time.perf_counter() - t
        n = 0
        for m in repo.query_metrics("metric.name == 'loss'", report_mode=0):
            steps, cols = m.data.numpy()   # steps + (val, epoch, time) columns
            n += len(steps)
        tr = time.perf_counter() - t
        return "aim", ti, tr, n, {"index_s": t_index}
    if tool.startswith("mlflow"):
        if tool == "mlflow-file":
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
            os.environ["MLFLOW_TRACKING_URI"] = "file://" + os.path.join(datadir, "mlruns")
        else:
            os.environ["MLFLOW_TRACKING_URI"] = "sqlite:///" + os.path.join(datadir, "mlflow.db")
        t = time.perf_counter()
        from mlflow.tracking import MlflowClient
        ti = time.perf_counter() - t
        t = time.perf_counter()
        c = MlflowClient()
        exp = c.get_experiment_by_name("bench")
        runs = c.search_runs([exp.experiment_id], filter_string="attributes.run_name = 'run-single'")
        hist = c.get_metric_history(runs[0].info.run_id, "loss")
        tr = time.perf_counter() - t
        return "mlflow", ti, tr, len(hist), {}
    if tool == "wandb-offline":
        t = time.perf_counter()
        from wandb.proto import wandb_internal_pb2 as pb
        ti = time.perf_counter() - t
        import glob
        t = time.perf_counter()
        files = glob.glob(os.path.join(datadir, "wandb", "offline-run-*", "run-*.wandb"))
        n = 0
        for path in files:
            for raw in iter_leveldb_log(path):
                rec = pb.Record()
                rec.ParseFromString(raw)
                if rec.WhichOneof("record_type") == "history":
                    for item in rec.history.item:
                        key = item.key or "/".join(item.nested_key)
                        if key == "loss":
                            float(json.loads(item.value_json))
                            n += 1
        tr = time.perf_counter() - t
        return "wandb", ti, tr, n, {"files": len(files)}
    if tool == "visdom":
        t = time.perf_counter()
        import visdom
        ti = time.perf_counter() - t
        proc, port, t_srv = start_visdom_server(datadir)
        try:
            vis = visdom.Visdom(server="http://127.0.0.1", port=port, env="bench",
                                use_incoming_socket=False, raise_exceptions=True)
            t = time.perf_counter()
            data = json.loads(vis.get_window_data(win="loss", env="bench"))
            n = len(data["content"]["data"][0]["y"])
            tr = time.perf_counter() - t
        finally:
            proc.terminate()
            proc.wait(10)
        return "visdom", ti, tr, n, {"server_start_s": t_srv}
    raise SystemExit(tool)


def iter_leveldb_log(path):
    """Minimal reader for W&B's .wandb transaction log (LevelDB log format:
    7-byte file header ':W&B'+magic+version, 32 KiB blocks, 7-byte record headers
    crc32c(4) len(2) type(1): 1=FULL 2=FIRST 3=MIDDLE 4=LAST)."""
    import struct
    block = 32768
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b":W&B":
        raise ValueError("not a W&B log")
    pos = 7
    buf = b""
    while pos + 7 <= len(data):
        left = block - (pos % block)
        if left < 7:
            pos += left
            continue
        _crc, ln, typ = struct.unpack_from("<IHB", data, pos)
        pos += 7
        chunk = data[pos:pos + ln]
        pos += ln
        if typ == 1:
            yield chunk
        elif typ == 2:
            buf = chunk
        elif typ == 3:
            buf += chunk
        elif typ == 4:
            yield buf + chunk
            buf = b""
        elif typ == 0 and ln == 0:
            pos += (block - (pos % block)) % block
        else:
            raise ValueError(f"bad record type {typ} at {pos}")


# ---------------------------------- worker --------------------------------------------
def worker(args):
    tool, phase, datadir = args.tool, args.phase, args.datadir
    n_single = args.n or N_SINGLE
    n_steps = args.steps or N_MULTI_STEPS
    res = {"tool": tool, "phase": phase, "pid": os.getpid()}
    if phase == "read":
        ver, ti, tr, n, extra = read_tool(tool, datadir)
        res.update(t_import_s=ti, read_s=tr, n_read=n, peak_rss_kb=resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss, **extra)
        print("RESULT " + json.dumps(res), flush=True)
        return
    vals = values(n_single if phase == "single" else n_steps * N_SERIES)
    if phase == "multi":
        keys = [f"s{j}" for j in range(N_SERIES)]
        dicts = [{k: vals[i * N_SERIES + j] for j, k in enumerate(keys)} for i in range(n_steps)]
    ad = make_adapter(tool, datadir, phase)
    res.update(version=ad.version, t_import_s=ad.t_import, t_init_s=ad.t_init,
               rss_after_init_kb=rss_now_kb())
    if hasattr(ad, "t_server"):
        res["server_start_s"] = ad.t_server
    pc = time.perf_counter_ns
    deadline = pc() + int(args.deadline * 1e9)
    every = args.check_every  # progress sample + soft-deadline check interval (calls)
    progress = []  # (calls_done, elapsed_s, median latency of the last `every` calls, us)
    if phase == "single":
        n, fn, arg = n_single, ad.log1, vals
    else:
        n, fn, arg = n_steps, ad.logm, dicts
    lat = [0] * n
    done = n
    t_start = pc()
    for i in range(n):
        t0 = pc()
        fn(i, arg[i])
        lat[i] = pc() - t0
        if i % every == every - 1:
            now = pc()
            progress.append((i + 1, (now - t_start) / 1e9,
                             sorted(lat[i - every + 1:i + 1])[every // 2] / 1e3))
            if now > deadline:
                done = i + 1
                break
    t_loop = pc() - t_start
    helper = {}
    hp = tuple(ad.helper_pids)
    t1 = pc()
    ad.close()
    t_close = pc() - t1
    hp = tuple(set(hp) | set(ad.helper_pids))
    for p in hp:
        hw = proc_hwm_kb(p)
        if hw:
            helper[f"{proc_name(p)}:{p}"] = hw
    ad.stop()
    res.update(n_calls=done, completed=done == n,
               n_points=done * (1 if phase == "single" else N_SERIES),
               loop_s=t_loop / 1e9, close_s=t_close / 1e9, durable_s=(t_loop + t_close) / 1e9,
               peak_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               helper_peak_rss_kb=helper,
               progress=progress[:: max(1, len(progress) // 20)] + progress[-1:],
               **lat_stats(lat, done, t_loop))
    print("RESULT " + json.dumps(res), flush=True)
    sys.stdout.flush()
    os._exit(0)  # skip atexit hooks that would re-flush/duplicate work after close


# ------------------------------- orchestrator -----------------------------------------
def run_child(pyexe, argv, cwd, env, limit=HARD_LIMIT_S, log_path=None):
    t0 = time.perf_counter()
    logf = open(log_path, "w") if log_path else subprocess.DEVNULL
    p = subprocess.Popen([pyexe, HERE] + argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=logf, start_new_session=True, text=True)
    try:
        out, _ = p.communicate(timeout=limit)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)   # our own child's process group, by its id
        out, _ = p.communicate()
        timed_out = True
    wall = time.perf_counter() - t0
    # whatever the worker spawned into its session (e.g. wandb-core) is ended with it
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    res = None
    for line in (out or "").splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
    if res is None:
        res = {"error": "no result", "rc": p.returncode, "timed_out": timed_out}
    res["child_wall_s"] = wall
    res["timed_out"] = timed_out
    return res


def cmd_run(args):
    root = os.path.abspath(args.root)
    tools = args.tools.split(",") if args.tools else list(TOOLS)
    env = dict(os.environ)
    env.update(OFFLINE_ENV)
    results = []
    if args.out and os.path.exists(args.out) and args.append:
        with open(args.out) as f:
            results = json.load(f)
    for tool in tools:
        py = os.path.join(root, TOOLS[tool], "bin", "python")
        if not os.path.exists(py):
            print(f"[skip] {tool}: {py} missing", flush=True)
            results.append({"tool": tool, "skipped": f"{py} missing"})
            continue
        phases = args.phases.split(",")
        for rep in range(args.reps):
            base = os.path.join(root, "data", tool, f"rep{rep}")
            shutil.rmtree(base, ignore_errors=True)
            for phase in phases:
                src_phase = "single" if phase == "read" else phase
                d = os.path.join(base, src_phase)
                os.makedirs(d, exist_ok=True)
                argv = ["worker", "--tool", tool, "--phase", phase, "--datadir", d,
                        "--deadline", str(args.deadline)]
                if args.n:
                    argv += ["--n", str(args.n)]
                if args.steps:
                    argv += ["--steps", str(args.steps)]
                argv += ["--check-every", str(args.check_every)]
                r = run_child(py, argv, d, env, limit=args.limit,
                              log_path=os.path.join(base, f"{phase}.stderr"))
                r.update(tool=tool, phase=phase, rep=rep)
                if phase in ("single", "multi"):
                    r["disk_apparent"], r["disk_blocks"], r["disk_files"] = dir_size(d)
                results.append(r)
                brief = {k: r.get(k) for k in ("med_us", "p99_us", "mean_us", "durable_s",
                                                "close_s", "read_s", "n_read", "n_calls",
                                                "peak_rss_kb", "disk_apparent", "timed_out",
                                                "error")}
                print(f"[{tool} rep{rep} {phase}] " + json.dumps(
                    {k: (round(v, 3) if isinstance(v, float) else v)
                     for k, v in brief.items() if v is not None}), flush=True)
                if args.out:
                    with open(args.out, "w") as f:
                        json.dump(results, f, indent=1)
    return results


# ---------------------------------- floors --------------------------------------------
def floor_list_append(n=N_SINGLE):
    vals = values(n)
    pc = time.perf_counter_ns
    out = {}
    # bare loop, total/N
    buf = []
    ap = buf.append
    t0 = pc()
    for i in range(n):
        ap(vals[i])
    out["append_total_over_n_ns"] = (pc() - t0) / n
    # same harness as the tools (perf_counter_ns around each call)
    buf2 = []

    def log1(step, v, _ap=buf2.append):
        _ap((step, v))
    lat = [0] * n
    t0 = pc()
    for i in range(n):
        a = pc()
        log1(i, vals[i])
        lat[i] = pc() - a
    loop = pc() - t0
    s = sorted(lat)
    out.update(harness_med_ns=s[n // 2], harness_p99_ns=pct(s, 0.99),
               harness_mean_ns=loop / n)
    return out


def floor_sqlite(path, rows=1_000_000, pk=False):
    import sqlite3
    if os.path.exists(path):
        os.remove(path)
    for ext in ("-wal", "-shm"):
        if os.path.exists(path + ext):
            os.remove(path + ext)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    if pk:
        con.execute("CREATE TABLE points(run INTEGER, series INTEGER, step INTEGER, value REAL,"
                    " PRIMARY KEY(run, series, step)) WITHOUT ROWID")
    else:
        con.execute("CREATE TABLE points(run INTEGER, series INTEGER, step INTEGER, value REAL)")
    vals = values(rows)
    data = [(1, i % 10, i // 10, vals[i]) for i in range(rows)]
    t0 = time.perf_counter()
    con.execute("BEGIN")
    con.executemany("INSERT INTO points VALUES (?,?,?,?)", data)
    con.execute("COMMIT")
    dt = time.perf_counter() - t0
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = os.path.getsize(path)
    # read-back floor: one series' 100k points
    t0 = time.perf_counter()
    got = con.execute("SELECT step, value FROM points WHERE run=1 AND series=3 ORDER BY step"
                      ).fetchall()
    rd = time.perf_counter() - t0
    con.close()
    return {"rows": rows, "insert_s": dt, "rows_per_s": rows / dt, "db_bytes": size,
            "read_100k_s": rd, "read_n": len(got), "sqlite": sqlite3.sqlite_version}


def floor_sqlite_per_row_commits(path, rows=10_000, wal=True):
    """One INSERT+COMMIT per scalar (what a naive per-call durable store pays).
    wal=True: WAL + synchronous=NORMAL (no fsync per commit);
    wal=False: sqlite defaults (rollback journal, synchronous=FULL: fsyncs every commit,
    which is what mlflow's sqlite store runs with)."""
    import sqlite3
    for ext in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + ext):
            os.remove(path + ext)
    con = sqlite3.connect(path, isolation_level=None)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE points(run INTEGER, series INTEGER, step INTEGER, value REAL)")
    vals = values(rows)
    t0 = time.perf_counter()
    for i in range(rows):
        con.execute("INSERT INTO points VALUES (1,0,?,?)", (i, vals[i]))
    dt = time.perf_counter() - t0
    con.close()
    return {"rows": rows, "per_row_us": dt / rows * 1e6,
            "sync": "WAL NORMAL, autocommit" if wal else "DELETE journal FULL, autocommit"}


def floor_jsonl(path, n=N_SINGLE):
    vals = values(n)
    t0 = time.perf_counter()
    with open(path, "w") as f:
        w = f.write
        for i in range(n):
            w('{"s":"loss","step":%d,"v":%r}\n' % (i, vals[i]))
        f.flush()
        os.fsync(f.fileno())
    dt = time.perf_counter() - t0
    t0 = time.perf_counter()
    with open(path) as f:
        pts = [json.loads(line) for line in f]
    rd = time.perf_counter() - t0
    return {"write_fsync_s": dt, "per_call_us": dt / n * 1e6, "bytes": os.path.getsize(path),
            "read_json_s": rd, "n": len(pts)}


_HTTP_SERVER_CODE = r"""
import sys, json, socket
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
NODELAY = sys.argv[1] == "1"
store = []
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup()
        if NODELAY:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        d = json.loads(body)
        store.extend(d if isinstance(d, list) else [d])
        out = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def floor_http(nodelay=True, n_calls=10_000, n_batch=N_SINGLE):
    """Per-scalar synchronous HTTP/1.1 keep-alive POST (stdlib http.client) to a stdlib
    ThreadingHTTPServer on 127.0.0.1, then one POST carrying 100k points as JSON.
    nodelay=False is the naive setup: http.client sends headers and body in two send()s
    and the server writes headers and body separately, so Nagle + delayed ACK stall each
    request (~40 ms on Linux); keep n_calls small for it."""
    import http.client
    import socket
    p = subprocess.Popen([sys.executable, "-c", _HTTP_SERVER_CODE, "1" if nodelay else "0"],
                         stdout=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline())
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.connect()
        if nodelay:
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        vals = values(max(n_calls, n_batch))
        hdr = {"Content-Type": "application/json"}
        pc = time.perf_counter_ns
        lat = [0] * n_calls
        t0 = pc()
        for i in range(n_calls):
            a = pc()
            c.request("POST", "/log", json.dumps({"s": "loss", "step": i, "v": vals[i]}), hdr)
            c.getresponse().read()
            lat[i] = pc() - a
        loop = pc() - t0
        s = sorted(lat)
        out = {"nodelay": nodelay, "calls": n_calls, "med_us": s[n_calls // 2] / 1e3,
               "p99_us": pct(s, .99) / 1e3, "mean_us": loop / n_calls / 1e3}
        if n_batch:
            body = json.dumps([{"s": "loss", "step": i, "v": vals[i]} for i in range(n_batch)])
            t1 = time.perf_counter()
            c.request("POST", "/log", body, hdr)
            c.getresponse().read()
            out.update(batch_points=n_batch, batch_post_s=time.perf_counter() - t1,
                       batch_bytes=len(body))
        c.close()
        return out
    finally:
        p.terminate()
        p.wait(10)


def cmd_floors(args):
    root = os.path.abspath(args.root)
    d = os.path.join(root, "data", "floors")
    os.makedirs(d, exist_ok=True)
    runs = []
    for rep in range(args.reps):
        r = {"rep": rep}
        r["list_append"] = floor_list_append()
        r["sqlite_1M_wal_heap"] = floor_sqlite(os.path.join(d, "heap.db"))
        r["sqlite_1M_wal_pk"] = floor_sqlite(os.path.join(d, "pk.db"), pk=True)
        r["sqlite_per_row_commit"] = floor_sqlite_per_row_commits(os.path.join(d, "rowc.db"))
        r["sqlite_per_row_commit_full"] = floor_sqlite_per_row_commits(
            os.path.join(d, "rowf.db"), rows=2000, wal=False)
        r["jsonl_100k_fsync"] = floor_jsonl(os.path.join(d, "pts.jsonl"))
        r["http_localhost"] = floor_http(nodelay=True)
        r["http_localhost_naive"] = floor_http(nodelay=False, n_calls=50, n_batch=0)
        print(json.dumps(r), flush=True)
        runs.append(r)
    out = {"python": sys.version.split()[0], "runs": runs}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
    return out


# ---------------------------------- net audit -----------------------------------------
def cmd_netcheck(args):
    """Run each tool at small N under strace and list every connect() target that is
    not AF_UNIX / loopback. (Audits the offline settings above.)"""
    import re
    root = os.path.abspath(args.root)
    env = dict(os.environ)
    env.update(OFFLINE_ENV)
    tools = args.tools.split(",") if args.tools else list(TOOLS)
    report = {}
    for tool in tools:
        py = os.path.join(root, TOOLS[tool], "bin", "python")
        d = os.path.join(root, "data", "netcheck", tool)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        trace = os.path.join(d, "strace.txt")
        cmd = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", trace, py,
               HERE, "worker", "--tool", tool, "--phase", "single", "--datadir", d,
               "--n", "2000", "--deadline", "120", "--check-every", "100"]
        subprocess.run(cmd, cwd=d, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=300, start_new_session=True)
        inet = []
        with open(trace) as f:
            for line in f:
                if "sin_family=AF_INET" in line or "sin6_family=AF_INET6" in line:
                    m = re.search(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"', line)
                    addr = (m.group(1) or m.group(2)) if m else "?"
                    if not (addr.startswith("127.") or addr == "::1"):
                        inet.append(line.strip()[:200])
        report[tool] = {"non_loopback_connects": inet}
        print(tool, json.dumps(report[tool]), flush=True)
    return report


# ---------------------------------- table ---------------------------------------------
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def cmd_table(args):
    with open(args.results) as f:
        results = json.load(f)
    by = {}
    for r in results:
        if "phase" in r:
            by.setdefault((r["tool"], r["phase"]), []).append(r)
    tools = []
    for r in results:
        if r.get("tool") not in tools:
            tools.append(r["tool"])

    def fmt(x, nd=1):
        if x is None:
            return "-"
        if isinstance(x, float):
            if abs(x) >= 100:
                return f"{x:,.0f}"
            return f"{x:.{nd}f}"
        return str(x)

    lines = ["| tool | version | import+init s | single med us | p99 us | mean us | "
             "single durable s (close s) | multi durable s (close s) | read 100k s | "
             "read n | disk (single) | peak RSS MB (logger) | helper RSS MB |",
             "|" + "---|" * 13]
    for t in tools:
        s = by.get((t, "single"), [])
        m = by.get((t, "multi"), [])
        rd = by.get((t, "read"), [])
        if not s:
            continue
        ok = [x for x in s if x.get("completed")]
        partial = not ok
        src = ok or s
        helper = med([sum(x.get("helper_peak_rss_kb", {}).values()) / 1024 for x in src
                      if x.get("helper_peak_rss_kb")])
        def dur(rs):
            done = [x for x in rs if x.get("completed")]
            if not done:
                x = rs[0] if rs else {}
                if not x:
                    return "-"
                return f"> {x.get('loop_s', 0):.0f} (stopped at {x.get('n_calls')} calls)"
            return f"{med([x['durable_s'] for x in done]):.2f} ({med([x['close_s'] for x in done]):.2f})"
        lines.append("| " + " | ".join([
            t, str(src[0].get("version", "?")),
            fmt(med([x.get("t_import_s", 0) + x.get("t_init_s", 0) for x in src]), 2),
            fmt(med([x.get("med_us") for x in src])), fmt(med([x.get("p99_us") for x in src])),
            fmt(med([x.get("mean_us") for x in src])),
            dur(s), dur(m),
            fmt(med([x.get("read_s") for x in rd]), 2),
            fmt(med([x.get("n_read") for x in rd])),
            fmt(med([x.get("disk_apparent") for x in src]) / 1e6 if src else None, 2) + " MB",
            fmt(med([x.get("peak_rss_kb") for x in src]) / 1024),
            fmt(helper),
        ]) + (" (partial)" if partial else "") + " |")
    print("\n".join(lines))
    print()
    lines = ["| tool | multi: med us / step-call | p99 us | mean us | durable s | points/s to durable"
             " | disk (multi) | peak RSS MB | single: points/s to durable | read: import s | "
             "read: index s (aim) |", "|" + "---|" * 11]
    for t in tools:
        s = by.get((t, "single"), [])
        m = by.get((t, "multi"), [])
        rd = by.get((t, "read"), [])
        if not m:
            continue
        mo = [x for x in m if x.get("completed")] or m
        so = [x for x in s if x.get("completed")] or s
        lines.append("| " + " | ".join([
            t, fmt(med([x.get("med_us") for x in mo])), fmt(med([x.get("p99_us") for x in mo])),
            fmt(med([x.get("mean_us") for x in mo])),
            fmt(med([x.get("durable_s") for x in mo]), 2),
            fmt(med([x["n_points"] / x["durable_s"] for x in mo if x.get("durable_s")])),
            fmt(med([x.get("disk_apparent") for x in mo]) / 1e6, 2) + " MB",
            fmt(med([x.get("peak_rss_kb") for x in mo]) / 1024),
            fmt(med([x["n_points"] / x["durable_s"] for x in so if x.get("durable_s")])),
            fmt(med([x.get("t_import_s") for x in rd]), 2),
            fmt(med([x.get("index_s") for x in rd]), 2),
        ]) + (" (partial)" if not any(x.get("completed") for x in m) else "") + " |")
    print("\n".join(lines))
    if args.floors:
        with open(args.floors) as f:
            fl = json.load(f)["runs"]
        g = lambda *ks: med([_dig(r, ks) for r in fl])
        print()
        print(f"- list.append 100k floats: {g('list_append','append_total_over_n_ns'):.0f} ns/call "
              f"(bare loop); same per-call timing harness as tools: median "
              f"{g('list_append','harness_med_ns'):.0f} ns, p99 {g('list_append','harness_p99_ns'):.0f} ns")
        print(f"- sqlite3 executemany 1M rows, 1 txn, WAL, heap table: "
              f"{g('sqlite_1M_wal_heap','rows_per_s'):,.0f} rows/s "
              f"({g('sqlite_1M_wal_heap','db_bytes')/1e6:.1f} MB); with PRIMARY KEY(run,series,step)"
              f" WITHOUT ROWID: {g('sqlite_1M_wal_pk','rows_per_s'):,.0f} rows/s "
              f"({g('sqlite_1M_wal_pk','db_bytes')/1e6:.1f} MB); read one 100k series back: "
              f"heap {g('sqlite_1M_wal_heap','read_100k_s'):.3f} s, pk {g('sqlite_1M_wal_pk','read_100k_s'):.3f} s")
        print(f"- sqlite autocommit INSERT per scalar (WAL, synchronous=NORMAL): "
              f"{g('sqlite_per_row_commit','per_row_us'):.1f} us/row")
        if g('sqlite_per_row_commit_full', 'per_row_us'):
            print(f"- sqlite autocommit INSERT per scalar, sqlite defaults (rollback journal, "
                  f"synchronous=FULL, fsync per commit): "
                  f"{g('sqlite_per_row_commit_full','per_row_us'):.0f} us/row")
        print(f"- JSONL append 100k lines + fsync: {g('jsonl_100k_fsync','write_fsync_s'):.3f} s "
              f"({g('jsonl_100k_fsync','per_call_us'):.2f} us/pt, {g('jsonl_100k_fsync','bytes')/1e6:.1f} MB); "
              f"json.loads all back: {g('jsonl_100k_fsync','read_json_s'):.3f} s")
        print(f"- same, naive (no TCP_NODELAY; headers and body in separate send()s): median "
              f"{g('http_localhost_naive','med_us'):,.0f} us per call (Nagle + delayed ACK)")
        print(f"- HTTP/1.1 keep-alive POST per scalar (TCP_NODELAY both ends) to stdlib ThreadingHTTPServer on 127.0.0.1: "
              f"median {g('http_localhost','med_us'):.0f} us, p99 {g('http_localhost','p99_us'):.0f} us; "
              f"one POST of 100k points as JSON ({g('http_localhost','batch_bytes')/1e6:.1f} MB): "
              f"{g('http_localhost','batch_post_s'):.2f} s")


def _dig(d, ks):
    for k in ks:
        d = d.get(k) if isinstance(d, dict) else None
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--tool", required=True)
    w.add_argument("--phase", required=True, choices=["single", "multi", "read"])
    w.add_argument("--datadir", required=True)
    w.add_argument("--n", type=int, default=0)
    w.add_argument("--steps", type=int, default=0)
    w.add_argument("--deadline", type=float, default=SOFT_DEADLINE_S)
    w.add_argument("--check-every", type=int, default=1000)
    r = sub.add_parser("run")
    r.add_argument("--root", default=os.path.join(os.getcwd(), ".peers"))
    r.add_argument("--tools", default="")
    r.add_argument("--phases", default="single,read,multi")
    r.add_argument("--reps", type=int, default=3)
    r.add_argument("--n", type=int, default=0, help="override 100,000 (smoke tests)")
    r.add_argument("--steps", type=int, default=0, help="override 10,000 (smoke tests)")
    r.add_argument("--deadline", type=float, default=SOFT_DEADLINE_S)
    r.add_argument("--limit", type=int, default=HARD_LIMIT_S)
    r.add_argument("--check-every", type=int, default=1000,
                   help="calls between deadline checks; use 100 for visdom (calls of ~0.1 s)")
    r.add_argument("--out", default="")
    r.add_argument("--append", action="store_true", help="append to existing --out file")
    f = sub.add_parser("floors")
    f.add_argument("--root", default=os.path.join(os.getcwd(), ".peers"))
    f.add_argument("--reps", type=int, default=3)
    f.add_argument("--out", default="")
    n = sub.add_parser("netcheck")
    n.add_argument("--root", default=os.path.join(os.getcwd(), ".peers"))
    n.add_argument("--tools", default="")
    t = sub.add_parser("table")
    t.add_argument("results")
    t.add_argument("floors", nargs="?")
    a = ap.parse_args()
    {"worker": worker, "run": cmd_run, "floors": cmd_floors, "netcheck": cmd_netcheck,
     "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
