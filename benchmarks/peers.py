"""The peers: one virtualenv per tool under a cache dir, and their workloads.

The pins and the offline settings are those of ``anchors.py`` (the script that
measured the issue's table), so our figures stay comparable with it. Venvs are made
from pyenv's Python 3.11 (``$PASTALOG_BENCH_PEER_PYTHON`` overrides it) with pip,
from the package registry only, on first use; never in CI, never torch.
"""
import json
import os
import shutil
import subprocess
import sys
import time

from . import anchors
from .util import ROOT, fresh

__all__ = ["PEERS", "peer_python", "run_peers", "setup_peers"]

#: tool (as anchors.py names it) -> (venv dir, label for the report, pip requirements)
PEERS = {
    "tbx": ("venv-tbx", "tensorboardX 2.6 `add_scalar`",
            ["tensorboardX==2.6.5", "tensorboard==2.21.0"]),
    "trackio": ("venv-trackio", "trackio `log`", ["trackio==0.43.0"]),
    "aim": ("venv-aim", "aim `Run.track`", ["aim==3.29.1"]),
    "wandb-offline": ("venv-wandb", "wandb offline `log`", ["wandb==0.31.0"]),
    "mlflow-file": ("venv-mlflow", "mlflow (file store) `log_metric`", ["mlflow==3.17.2"]),
}

DEFAULT_ROOT = os.path.join(ROOT, ".peers")


def base_python():
    """The interpreter the peer venvs are made from."""
    env = os.environ.get("PASTALOG_BENCH_PEER_PYTHON")
    if env:
        return env
    pyenv = "/root/.pyenv/versions/3.11.7/bin/python"
    home = os.path.expanduser("~/.pyenv/versions/3.11.7/bin/python")
    for cand in (home, pyenv):
        if os.path.exists(cand):
            return cand
    return shutil.which("python3.11") or sys.executable


def peer_python(root, tool):
    return os.path.join(root, PEERS[tool][0], "bin", "python")


def _stamp(root, tool):
    return os.path.join(root, PEERS[tool][0], ".bench-pins")


def setup_peers(root=DEFAULT_ROOT, tools=None, log=print):
    """Create (or reuse) each peer's venv; returns {tool: "ok" | error text}."""
    if os.environ.get("CI"):
        raise SystemExit("refusing to install peers under CI (CI is set)")
    os.makedirs(root, exist_ok=True)
    status = {}
    for tool in tools or PEERS:
        venv, _, reqs = PEERS[tool]
        path = os.path.join(root, venv)
        stamp = _stamp(root, tool)
        want = " ".join(reqs)
        if os.path.exists(stamp) and open(stamp).read().strip() == want:
            status[tool] = "ok"
            continue
        t0 = time.monotonic()
        log(f"[peers] creating {path} with {want}")
        logfile = os.path.join(root, f"install-{tool}.log")
        with open(logfile, "w") as out:
            steps = []
            if not os.path.exists(os.path.join(path, "bin", "python")):
                steps.append([base_python(), "-m", "venv", path])
            pip = [os.path.join(path, "bin", "python"), "-m", "pip", "install", "-q",
                   "--disable-pip-version-check"]
            steps.append(pip + ["--upgrade", "pip"])
            steps.append(pip + reqs)
            rc = 0
            for cmd in steps:
                rc = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT)
                if rc:
                    break
        if rc:
            status[tool] = f"install failed (see {logfile})"
            log(f"[peers] {tool}: {status[tool]}")
            continue
        with open(stamp, "w") as fh:
            fh.write(want + "\n")
        status[tool] = "ok"
        log(f"[peers] {tool} ready in {time.monotonic() - t0:.0f} s")
    return status


def run_peers(root=DEFAULT_ROOT, tools=None, reps=3, n=0, steps=0, log=print):
    """Run anchors.py's workloads for each installed peer; returns its result rows.

    anchors.py's own ``run`` command is the orchestrator (a small, fresh process, as
    when it measured the issue's table: its children's ``ru_maxrss`` must not start
    from a large parent's, see ``util.fresh``).
    """
    root = os.path.abspath(root)
    results = []
    for tool in tools or PEERS:
        py = peer_python(root, tool)
        if not os.path.exists(py):
            log(f"[peers] skip {tool}: {py} missing (run --setup-peers)")
            results.append({"tool": tool, "skipped": f"{py} missing"})
            continue
        out = os.path.join(root, f"results-{tool}.json")
        cmd = [sys.executable, anchors.__file__, "run", "--root", root, "--tools", tool,
               "--reps", str(reps), "--out", out]
        if n:
            cmd += ["--n", str(n)]
        if steps:
            cmd += ["--steps", str(steps)]
        with subprocess.Popen(fresh(cmd), stdout=subprocess.PIPE, text=True) as p:
            for line in p.stdout:
                log("[peers] " + line.rstrip()[:300])
        try:
            with open(out) as fh:
                rows = json.load(fh)
        except (OSError, ValueError) as exc:
            rows = [{"tool": tool, "error": f"no results ({exc})"}]
        results.extend(rows)
        shutil.rmtree(os.path.join(root, "data", tool), ignore_errors=True)
    return results


if __name__ == "__main__":  # python -m benchmarks.peers: set up only
    print(json.dumps(setup_peers()))
