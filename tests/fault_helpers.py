"""Shared pieces of the fault, fuzz and load tests.

Every test reads its size from ``PASTALOG_STRESS``: unset, the short version that
``make test`` runs; ``PASTALOG_STRESS=1`` (``make stress``), the long one.
"""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

from helpers import ROOT

__all__ = ["ROOT", "STRESS", "Child", "read_series", "rss_kib", "sized", "wait_for"]

STRESS = os.environ.get("PASTALOG_STRESS", "") not in ("", "0")


def sized(short, stress):
    """``short`` for ``make test``, ``stress`` under ``PASTALOG_STRESS=1``."""
    return stress if STRESS else short


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Poll ``predicate()`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_series(srv, model, series):
    """Raw points of one series as ``(steps, values, times)``, or ``None`` if absent."""
    query = urllib.parse.urlencode({"model": model, "series": series})
    status, got = srv.get_json(f"/api/v1/series?{query}")
    if status == 404:
        return None
    assert status == 200, (status, got)
    return got["steps"], got["values"], got["times"]


def rss_kib(pid):
    """Resident set size of a process, in KiB (from /proc)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


class Child:
    """``python -c code args...`` with pastalog importable; its stdout lines queued.

    ``expect(prefix, timeout)`` returns the JSON after the next stdout line that
    starts with ``prefix``; ``send(line)`` writes a line to its stdin.
    """

    def __init__(self, code, *args):
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, *map(str, args)], cwd=ROOT, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append),
                         daemon=True).start()

    @staticmethod
    def _pump(stream, put):
        for line in stream:
            put(line)
        put(None)

    def expect(self, prefix, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line from child {self.pid} within "
                                     f"{timeout}s; stderr: {self.err()[-2000:]}") from None
            if line is None:
                self.lines.put(None)
                raise AssertionError(f"child {self.pid} exited (rc={self.proc.wait()}) before "
                                     f"{prefix!r}; stderr: {self.err()[-2000:]}")
            if line.startswith(prefix):
                rest = line[len(prefix):].strip()
                return json.loads(rest) if rest else None

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def err(self):
        return "".join(x for x in list(self.stderr) if x)

    def kill(self):
        """kill -9, by pid."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.proc.wait()

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)
