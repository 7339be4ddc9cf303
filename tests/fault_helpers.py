"""Shared pieces of the fault, fuzz and load tests.

Every test reads its size from ``PASTALOG_STRESS``: unset, the short version that
``make test`` runs; ``PASTALOG_STRESS=1`` (``make stress``), the long one.
"""
import json
import os
import queue
import signal
import socket
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


class RawWebSocket:
    """A minimal websocket reader over a plain socket.

    websocket-client spends about 0.7 s receiving one 1.5 MB message here, which
    would measure the test, not the server; this reads frames with ``recv_into``.
    ``rcvbuf`` sets ``SO_RCVBUF`` before connecting (a browser that stops reading).
    """

    def __init__(self, port, path="/ws", *, rcvbuf=None, timeout=30):
        import base64

        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n".encode())
        self._buf = bytearray()
        while b"\r\n\r\n" not in self._buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the websocket handshake")
            self._buf += chunk
        head, _, rest = bytes(self._buf).partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(f"no websocket upgrade: {head[:200]!r}")
        self._buf = bytearray(rest)

    def _exactly(self, n):
        while len(self._buf) < n:
            chunk = self.sock.recv(max(1 << 20, n - len(self._buf)))
            if not chunk:
                raise EOFError("the server closed the connection")
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def recv(self):
        """One message as ``(opcode, payload bytes)``; EOFError when the peer closed."""
        parts, first_op = [], None
        while True:
            b0, b1 = self._exactly(2)
            op, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._exactly(2), "big")
            elif n == 127:
                n = int.from_bytes(self._exactly(8), "big")
            mask = self._exactly(4) if b1 & 0x80 else None
            payload = self._exactly(n)
            if mask:
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            if op >= 8:                       # control frames may interleave
                if op == 8:
                    return op, payload
                continue
            first_op = first_op or op
            parts.append(payload)
            if b0 & 0x80:
                return first_op, b"".join(parts)

    def events(self):
        """The next text message, decoded (a list of events); EOFError on close."""
        op, payload = self.recv()
        if op == 8:
            raise EOFError(f"close frame {payload[:2].hex()}")
        return json.loads(payload)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
