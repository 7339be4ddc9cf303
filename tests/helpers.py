"""A real pastalog server subprocess on a free 127.0.0.1 port.

Standard library only: the main tests, the legacy (Theano) tests and the benchmarks
all start their servers with ``ServerProcess``.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``python -m pastalog run`` on its own data dir; start, kill -9, restart."""

    def __init__(self, data_dir, *, port=None, extra_args=(), python=sys.executable,
                 log_path=None):
        self.data_dir = str(data_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_args = list(extra_args)
        self.python = python
        self.proc = None
        self.log_path = log_path or os.path.join(self.data_dir, f"server-{self.port}.log")

    def start(self, timeout=20):
        os.makedirs(self.data_dir, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.python, "-m", "pastalog", "run", str(self.port), "--data", self.data_dir,
             *self.extra_args], stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout}s: {self.log()}")

    def log(self):
        with open(self.log_path, "rb") as fh:
            return fh.read().decode("utf-8", "replace")[-3000:]

    def kill(self):
        """kill -9, as a crash would."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout=10):
        """SIGTERM (the store closes and checkpoints its WAL), kill -9 after ``timeout``."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def request(self, method, path, body=None, headers=None):
        """Return ``(status, parsed JSON or raw bytes)``."""
        data = body
        headers = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, bytearray)):
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, raw, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            status, raw, ctype = err.code, err.read(), err.headers.get("Content-Type", "")
        if "json" in ctype:
            return status, json.loads(raw)
        return status, raw

    def post_json(self, path, obj):
        return self.request("POST", path, obj)

    def get_json(self, path):
        return self.request("GET", path)

    def points(self, model, series):
        """``{step: value}`` of one series (one page of raw points); asserts a 200."""
        query = urllib.parse.urlencode({"model": model, "series": series})
        status, body = self.get_json("/api/v1/series?" + query)
        assert status == 200, (series, body)
        return dict(zip(body["steps"], body["values"]))

    def images(self, model, name):
        """The records of one image name, in step order; asserts a 200."""
        query = urllib.parse.urlencode({"model": model, "name": name})
        status, body = self.get_json("/api/v1/images?" + query)
        assert status == 200, (name, body)
        return body["images"]
