"""Workloads (f), (g), (i): the server under load, fed through the batch endpoint.

Bodies are the documented binary batch format (docs/API.md, ``POST /api/v1/points``,
``application/vnd.pastalog.batch``), built with numpy here so that generating 100
million points costs the server's time, not ours; they are sent over one keep-alive
connection per sender (``TCP_NODELAY``), see ``Poster``.

- (f) ``ingest``: 4 client processes, each its own model with 10 series, post
  batches for a fixed number of points; points/s = all points / wall time from the
  first request to the last 200. Two batch sizes: 10,000 points (the client's
  ``batch_points``, what a ``Log`` sends when it keeps up) and 200,000 (its largest
  request, what it sends with a backlog).
- (g) ``chart``: one 10,000,000-point series; ``GET /api/v1/series?buckets=2000``
  over the whole range and over the last 1% (medians of 20 requests each), each
  answer checked bucket by bucket against numpy's min/max/count/first/last of the
  generated points; then, with the server stopped, the same queries on ``Store``.
- (i) ``capacity``: 1,000 series x 100,000 points (100M, ``--points`` scales it)
  posted by 2 sender threads; the generation rate, then the server's RSS.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid

import numpy as np

from .util import ROOT, Server, dir_size, get_json, log_line, median, pct

__all__ = ["batch_body", "run_capacity", "run_chart", "run_ingest"]

CTYPE = "application/vnd.pastalog.batch"


def batch_body(series, batch_id=None):
    """A binary batch body: ``series`` is a list of (model, name, steps, values, times)."""
    head = {"batch": batch_id or uuid.uuid4().hex,
            "series": [[m, n, int(len(s))] for m, n, s, _, _ in series]}
    raw = json.dumps(head).encode()
    parts = [b"PLB1", struct.pack("<I", len(raw)), raw]
    for _, _, steps, values, times in series:
        parts += [np.ascontiguousarray(steps, "<i8").tobytes(),
                  np.ascontiguousarray(values, "<f8").tobytes(),
                  np.ascontiguousarray(times, "<f8").tobytes()]
    return b"".join(parts)


def _walk(rng, n, start=0.0):
    """A noisy, decaying training-like curve."""
    return start + np.cumsum(rng.standard_normal(n)) * 0.01 + rng.random(n)


class Poster:
    """POSTs batch bodies over one keep-alive connection (``TCP_NODELAY``).

    It does not trust the response's ``Content-Length``: with several clients at once
    the server once answered with the length of *another* request's body (bottle's
    thread-local request/response shared by all greenlets; fixed in 08b35ee by
    monkey-patching at server start), which left ``http.client`` waiting for bytes that
    never came. The body is read up to its closing brace instead, and answers whose
    length is wrong are counted (``bad_length``) and reported, as a regression guard.
    """

    def __init__(self, url, timeout=600):
        from urllib.parse import urlsplit
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host = parts.netloc
        self.buf = b""
        self.requests = 0
        self.bad_length = 0

    def post(self, body, path="/api/v1/points"):
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: {CTYPE}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.sock.sendall(head + body if len(body) < 65536 else head)
        if len(body) >= 65536:
            self.sock.sendall(body)
        while b"\r\n\r\n" not in self.buf:
            self._recv()
        header, _, self.buf = self.buf.partition(b"\r\n\r\n")
        while b"}" not in self.buf:
            self._recv()
        reply, _, self.buf = self.buf.partition(b"}")
        reply += b"}"
        self.requests += 1
        length = [line.split(b":", 1)[1] for line in header.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")]
        if length and int(length[0]) != len(reply):
            self.bad_length += 1
        doc = json.loads(reply)
        if not doc.get("ok"):
            raise RuntimeError(f"POST {path}: {header[:40]!r} {reply[:200]!r}")
        return doc

    def _recv(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buf += data

    def close(self):
        self.sock.close()


# -- (f) ingest from 4 processes -------------------------------------------------------

def ingest_client(url, model, points, batch, series=10, seed=0):
    """One client process: posts ``points`` points in batches of ``batch``.

    Bodies are encoded before the clock starts, and the clock stops at the last 200.
    """
    rng = np.random.default_rng(seed)
    per = batch // series
    bodies = []
    t0 = time.time()
    for k in range(points // batch):
        steps = np.arange(k * per, (k + 1) * per, dtype=np.int64)
        times = t0 + steps * 1e-3
        bodies.append(batch_body([(model, f"s{j}", steps, _walk(rng, per), times)
                                  for j in range(series)]))
    poster = Poster(url)
    poster.post(batch_body([]))  # connected before the clock starts
    sent = 0
    start = time.time()
    for body in bodies:
        sent += poster.post(body)["points"]
    end = time.time()
    poster.close()
    return {"start": start, "end": end, "points": sent, "requests": poster.requests,
            "bad_length": poster.bad_length}


def run_ingest(work, clients=4, points_per_client=2_500_000, batches=(10_000, 200_000),
               reps=3, log=print):
    """(f): sustained ingest; returns one row per (batch size, rep)."""
    rows = []
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for batch in batches:
        for rep in range(reps):
            data = os.path.join(work, f"ingest-{batch}-{rep}")
            shutil.rmtree(data, ignore_errors=True)
            with Server(data) as server:
                procs = [subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.server_bench", "ingest-client",
                     server.url, f"client{c}", str(points_per_client), str(batch), str(c)],
                    cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
                    for c in range(clients)]
                outs = []
                for p in procs:
                    out, _ = p.communicate(timeout=1200)
                    outs.append(json.loads(out.strip().splitlines()[-1]))
                rss = server.hwm_kb()
                stored = get_json(server.url + "/healthz")["points"]
            start = min(o["start"] for o in outs)
            end = max(o["end"] for o in outs)
            total = sum(o["points"] for o in outs)
            bad = sum(o["bad_length"] for o in outs)
            row = {"batch": batch, "rep": rep, "clients": clients, "points": total,
                   "stored": stored, "wall_s": end - start, "points_per_s": total / (end - start),
                   "server_hwm_kb": rss, "bad_content_length": bad,
                   "requests": sum(o["requests"] for o in outs)}
            rows.append(row)
            log_line(log, f"ingest batch={batch} rep{rep}", row,
                     ("points", "stored", "wall_s", "points_per_s", "bad_content_length"))
            shutil.rmtree(data, ignore_errors=True)
    return rows


# -- (g) chart queries over 10M points -------------------------------------------------

def _expected(steps, values, x0, x1, level):
    """min/max/count/first/last per non-empty bucket of the raw points (numpy)."""
    keep = (steps >= x0 >> level << level) & (steps <= ((x1 >> level) + 1 << level) - 1)
    s, v = steps[keep], values[keep]
    cells = s >> level
    starts = np.flatnonzero(np.concatenate(([True], cells[1:] != cells[:-1])))
    ends = np.concatenate((starts[1:], [len(s)])) - 1
    return {"x0": (cells[starts] << level).tolist(), "count": (ends - starts + 1).tolist(),
            "min": np.fmin.reduceat(v, starts).tolist(), "max": np.fmax.reduceat(v, starts).tolist(),
            "first": v[starts].tolist(), "last": v[ends].tolist()}


def _check(got, want):
    """Names of the columns where the answer differs from the scan (empty: exact)."""
    bad = []
    for key, col in want.items():
        if [float(x) for x in got[key]] != [float(x) for x in col]:
            bad.append(key)
    return bad


def run_chart(work, points=10_000_000, queries=20, log=print):
    """(g): returns a dict with the HTTP and in-store timings and the exactness checks."""
    import urllib.parse
    import urllib.request

    from pastalog.server.store import Store

    data = os.path.join(work, "chart")
    shutil.rmtree(data, ignore_errors=True)
    rng = np.random.default_rng(7)
    steps = np.arange(points, dtype=np.int64)
    values = _walk(rng, points, 3.0)
    times = 1.7e9 + steps * 1e-3
    out = {"points": points}
    per_req = 1_000_000
    ranges = {"whole": (0, points - 1), "last1pct": (points - points // 100, points - 1)}
    with Server(data) as server:
        poster = Poster(server.url)
        t = time.perf_counter()
        for lo in range(0, points, per_req):
            hi = min(points, lo + per_req)
            poster.post(batch_body([("chart", "loss", steps[lo:hi], values[lo:hi],
                                     times[lo:hi])]))
        out["generate_s"] = time.perf_counter() - t
        poster.close()
        for label, (x0, x1) in ranges.items():
            q = urllib.parse.urlencode({"model": "chart", "series": "loss", "buckets": 2000,
                                        "x0": x0, "x1": x1})
            url = f"{server.url}/api/v1/series?{q}"
            lat, fetch = [], []
            for _ in range(queries):
                t = time.perf_counter()
                with urllib.request.urlopen(url, timeout=60) as resp:
                    raw = resp.read()
                fetch.append(time.perf_counter() - t)
                doc = json.loads(raw)
                lat.append(time.perf_counter() - t)
            lat.sort()
            level = doc["level"]
            b = doc["buckets"]
            want = _expected(steps, values, x0, x1, level)
            out[label] = {"x0": x0, "x1": x1, "med_ms": median(lat) * 1e3,
                          "p99_ms": pct(lat, 0.99) * 1e3, "min_ms": lat[0] * 1e3,
                          "fetch_med_ms": median(fetch) * 1e3,
                          "buckets": len(b["x0"]), "level": level, "bytes": len(raw),
                          "mismatch": _check(b, want)}
        out["server_rss_kb"] = server.rss_kb()
    store = Store(data)
    try:
        for label, (x0, x1) in ranges.items():
            lat = []
            for _ in range(queries):
                t = time.perf_counter()
                store.read_buckets("chart", "loss", 2000, x0, x1)
                lat.append(time.perf_counter() - t)
            out[label]["store_med_ms"] = median(lat) * 1e3
    finally:
        store.close()
    for label in ranges:
        log_line(log, f"chart {label}", out[label],
                 ("med_ms", "p99_ms", "store_med_ms", "buckets", "level", "mismatch"))
    shutil.rmtree(data, ignore_errors=True)
    return out


# -- (i) 100M points over 1,000 series -------------------------------------------------

def run_capacity(work, points=100_000_000, series=1000, senders=2, log=print):
    """(i): generation rate, then the server's RSS holding ``points`` points."""
    data = os.path.join(work, "capacity")
    shutil.rmtree(data, ignore_errors=True)
    per_series = points // series
    group = max(1, min(series, 1_000_000 // per_series))  # about 1M points a request
    jobs = list(range(0, series, group))
    lock = threading.Lock()
    errors = []
    bad = []
    out = {"points": per_series * series, "series": series, "senders": senders,
           "points_per_request": group * per_series}
    with Server(data) as server:
        rss0 = server.rss_kb()

        def sender(seed):
            rng = np.random.default_rng(seed)
            poster = Poster(server.url)
            try:
                while True:
                    with lock:
                        if not jobs or errors:
                            return
                        first = jobs.pop(0)
                    steps = np.arange(per_series, dtype=np.int64)
                    times = 1.7e9 + steps * 0.5
                    body = batch_body([("capacity", f"layer{j // 10}/s{j % 10}", steps,
                                        _walk(rng, per_series), times)
                                       for j in range(first, min(series, first + group))])
                    poster.post(body)
            except Exception as exc:  # reported below, and the run stops
                errors.append(repr(exc))
            finally:
                bad.append(poster.bad_length)
                poster.close()

        threads = [threading.Thread(target=sender, args=(k,)) for k in range(senders)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        samples = []
        while any(th.is_alive() for th in threads):
            time.sleep(1)
            samples.append(server.rss_kb())
        for th in threads:
            th.join()
        out["generate_s"] = time.perf_counter() - t
        if errors:
            raise RuntimeError(f"capacity run failed: {errors[0]}")
        out["points_per_s"] = out["points"] / out["generate_s"]
        out["bad_content_length"] = sum(bad)
        out["stored"] = get_json(server.url + "/healthz", timeout=600)["points"]
        time.sleep(1)
        out["rss_idle_start_kb"] = rss0
        out["rss_after_ingest_kb"] = server.rss_kb()
        out["hwm_during_ingest_kb"] = server.hwm_kb()
        out["rss_median_during_ingest_kb"] = median(samples)
        t = time.perf_counter()
        models = get_json(server.url + "/api/v1/models", timeout=600)
        out["models_listing_s"] = time.perf_counter() - t
        out["models_listing_series"] = sum(len(m["series"]) for m in models["models"])
        for j in range(0, series, max(1, series // 20)):
            get_json(f"{server.url}/api/v1/series?model=capacity&series=layer{j // 10}/s{j % 10}"
                     f"&buckets=2000")
        out["rss_after_queries_kb"] = server.rss_kb()
        out["hwm_end_kb"] = server.hwm_kb()
    out["disk_bytes"] = dir_size(data)
    out["disk_per_point"] = out["disk_bytes"] / out["points"]
    log_line(log, "capacity", out, ("points", "generate_s", "points_per_s", "stored",
                                    "rss_after_ingest_kb", "hwm_during_ingest_kb",
                                    "rss_after_queries_kb", "disk_per_point"))
    shutil.rmtree(data, ignore_errors=True)
    return out


if __name__ == "__main__":
    if sys.argv[1] == "ingest-client":
        url, model, points, batch, seed = sys.argv[2:7]
        print(json.dumps(ingest_client(url, model, int(points), int(batch), seed=int(seed))))
