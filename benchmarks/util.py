"""Helpers shared by the benchmarks: a server subprocess, RSS, sizes, percentiles."""
import json
import math
import os
import statistics
import sys
import urllib.error
import urllib.request

__all__ = ["ROOT", "Server", "dir_size", "fresh", "free_port", "get_json", "log_line",
           "median", "pct", "proc_status_kb"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from helpers import ServerProcess, free_port  # noqa: E402  (one server starter for all)


_LAUNCHER = ("import os, sys\n"
             "pid = os.fork()\n"
             "if pid == 0:\n"
             "    os.execv(sys.argv[1], sys.argv[1:])\n"
             "sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n")


def fresh(cmd):
    """``cmd`` behind a small fork-and-exec launcher, for children whose RSS we report.

    Linux keeps ``ru_maxrss`` across exec, and Python starts children with vfork: a
    child started straight from this (large) process would report *our* peak RSS as
    its own. Forked from a 10 MB interpreter instead, it starts from that launcher's.
    """
    return [sys.executable, "-S", "-c", _LAUNCHER] + list(cmd)


def pct(sorted_vals, q):
    """Nearest-rank percentile of an already sorted list (as anchors.py computes it)."""
    if not len(sorted_vals):
        return None
    k = min(len(sorted_vals) - 1, max(0, int(math.ceil(q * len(sorted_vals))) - 1))
    return sorted_vals[k]


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def dir_size(path):
    """Apparent bytes of every file under ``path``."""
    total = 0
    for dp, _dn, fn in os.walk(path):
        for f in fn:
            try:
                total += os.lstat(os.path.join(dp, f)).st_size
            except OSError:
                pass
    return total


def proc_status_kb(pid, key):
    """``VmRSS``/``VmHWM``/... of a process in kB, or None."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def get_json(url, timeout=120):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def log_line(log, label, result, keys):
    brief = {k: (round(v, 3) if isinstance(v, float) else v)
             for k in keys if (v := result.get(k)) is not None}
    log(f"[{label}] {json.dumps(brief)}")


class Server(ServerProcess):
    """The tests' ``ServerProcess``, logging beside (not into) the measured data dir."""

    def __init__(self, data_dir, *, port=None, python=sys.executable):
        port = port or free_port()
        super().__init__(data_dir, port=port, python=python, log_path=os.path.join(
            str(data_dir), "..", f"server-{port}.log"))

    def start(self, timeout=30):
        return super().start(timeout)

    @property
    def pid(self):
        return self.proc.pid

    def rss_kb(self):
        return proc_status_kb(self.proc.pid, "VmRSS")

    def hwm_kb(self):
        return proc_status_kb(self.proc.pid, "VmHWM")

    def stop(self, timeout=60):
        """As ServerProcess.stop, with time for a large store's final checkpoint."""
        super().stop(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def write_section(title, text, path):
    """Replace the section ``title`` (``text`` starts with it) at the end of RESULTS.md,
    or append it: what a benchmark run on its own (torch_bench, histogram_bench) writes.
    ``report.py`` keeps these sections (``KEPT_SECTIONS``) when it rewrites the rest."""
    with open(path, encoding="utf-8") as f:
        old = f.read()
    if "\n" + title + "\n" in old:
        head, _, rest = old.partition("\n" + title + "\n")
        ends = [i for i in (rest.find("\n## "), rest.find("\n<!-- ")) if i >= 0]
        tail = rest[min(ends):] if ends else ""     # the next section, or a marked block
    else:
        head, tail = old, ""
    with open(path, "w", encoding="utf-8") as f:
        f.write(head.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n" + tail)
