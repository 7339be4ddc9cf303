"""Hostile clients against a real server for a while: memory and /healthz stay bounded.

Issue 10's goal figures for items 5 to 9: with each hostile client running (60 s
under ``PASTALOG_STRESS=1``, a few seconds in ``make test``), the server's RSS stays
under 300 MB and ``/healthz`` answers with p99 under 100 ms. Each test records its
figures in ``.cache/stress/bounds.json`` (or ``$PASTALOG_STRESS_REPORT``), which
``tests/stress_report.py`` prints (``make stress`` runs both).
"""
import http.client
import json
import multiprocessing
import os
import socket
import struct
import sys
import threading
import time

import pytest

from fault_helpers import STRESS, RawWebSocket, rss_kib, sized
from helpers import ROOT, ServerProcess
from pastalog.wire import CONTENT_TYPE, encode_batch

pytestmark = pytest.mark.stress_or_fault

DURATION = sized(4.0, 60.0)
RSS_GOAL_MB = 300
P99_GOAL_MS = 100
REPORT = os.environ.get("PASTALOG_STRESS_REPORT") or os.path.join(ROOT, ".cache", "stress",
                                                                   "bounds.json")


class Watch(threading.Thread):
    """Samples the server's RSS every 50 ms and times a fresh-connection /healthz."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.stop = srv, threading.Event()
        self.peak_kib, self.lat_ms, self.failed = 0, [], 0

    def cpu_seconds(self):
        with open(f"/proc/{self.srv.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self):
        self.started, self.cpu0 = time.monotonic(), self.cpu_seconds()
        self.load0 = os.getloadavg()[0]
        while not self.stop.is_set():
            self.peak_kib = max(self.peak_kib, rss_kib(self.srv.proc.pid))
            t = time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=5)
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                resp.read()
                conn.close()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
            took = (time.monotonic() - t) * 1e3
            self.lat_ms.append(took if ok else max(took, 5000.0))
            self.failed += not ok
            self.stop.wait(0.05)
        self.cpu_pct = 100 * (self.cpu_seconds() - self.cpu0) / (time.monotonic() - self.started)
        self.load1 = os.getloadavg()[0]

    def figures(self):
        lat = sorted(self.lat_ms)
        return {"peak_rss_mb": round(self.peak_kib / 1024, 1),
                "healthz_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
                "healthz_max_ms": round(lat[-1], 1), "healthz_probes": len(lat),
                "healthz_failed": self.failed, "server_cpu_pct": round(self.cpu_pct),
                "machine_load": round(max(self.load0, self.load1), 1),
                "cpus": os.cpu_count()}


def record(item, what, figures, **extra):
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    try:
        with open(REPORT) as fh:
            report = json.load(fh)
    except (OSError, ValueError):
        report = {}
    report[item] = {"what": what, "seconds": DURATION, "stress": STRESS, **figures, **extra}
    with open(REPORT, "w") as fh:
        json.dump(report, fh, indent=1, sort_keys=True)
    print(f"\nBOUNDS {item}: {what}: peak RSS {figures['peak_rss_mb']} MB, /healthz p99 "
          f"{figures['healthz_p99_ms']} ms (max {figures['healthz_max_ms']} ms, "
          f"{figures['healthz_probes']} probes, {figures['healthz_failed']} failed) {extra}")


def check(figures):
    """The goal figures under ``make stress``; the short run has too few probes for a
    p99 (one machine hiccup is its maximum), so there /healthz must only stay prompt."""
    assert figures["peak_rss_mb"] < RSS_GOAL_MB, figures
    assert figures["healthz_failed"] == 0, figures
    assert figures["healthz_p99_ms"] < (P99_GOAL_MS if STRESS else 1000), figures


def run_for(srv, attackers, counts, seconds=DURATION):
    """Run ``attackers`` (each ``fn(stop)``, in threads of a forked child process, so
    that they do not share a GIL with the watch) for ``seconds``; returns the watch's
    figures and updates ``counts`` with what the attackers counted in the child."""
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    parent_end, child_end = ctx.Pipe()

    def child():
        threads = [threading.Thread(target=fn, args=(stop,), daemon=True) for fn in attackers]
        for t in threads:
            t.start()
        stop.wait()
        for t in threads:
            t.join(15)
        child_end.send(dict(counts))

    watch = Watch(srv)
    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    watch.start()
    time.sleep(seconds)
    stop.set()
    if parent_end.poll(30):
        counts.update(parent_end.recv())
    proc.join(10)
    if proc.is_alive():
        proc.kill()
    watch.stop.set()
    watch.join(10)
    return watch.figures()


def quietly(fn):
    """Run ``fn`` until it returns, ignoring the connection errors a hostile client meets."""
    try:
        return fn()
    except (OSError, EOFError, ConnectionError, http.client.HTTPException):
        return None


# -- 5. websockets that stop reading, while points stream in ---------------------------

def post_batch(conn, port, body, timeout):
    """POST a binary batch on ``conn`` (a new connection when it is None): ``(conn,
    status)``, or ``(None, None)`` when the connection broke (the next call reconnects)."""
    try:
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("POST", "/api/v1/points", body, {"Content-Type": CONTENT_TYPE})
        resp = conn.getresponse()
        resp.read()
        return conn, resp.status
    except (OSError, http.client.HTTPException):
        return None, None


def heavy_writer(srv, counts, pause):
    """Posts 40,000-point binary batches (20 series of 2,000), then waits ``pause``."""

    def writer(stop):
        conn = None
        k = 0
        values = [0.123456789 * i for i in range(2000)]
        while not stop.is_set():
            body = encode_batch(f"b{k}", [("heavy", f"s{j}", range(k * 2000, (k + 1) * 2000),
                                           values, [1.7e9] * 2000) for j in range(20)])
            k += 1
            conn, status = post_batch(conn, srv.port, body, timeout=30)
            counts["batches"] += status == 200
            stop.wait(pause)

    return writer


WRITER_PAUSE = 0.25


def test_stuck_websockets_while_heavy_batches_stream(tmp_path):
    srv = ServerProcess(tmp_path / "data").start()
    stuck, counts = [], {"batches": 0}

    def stuck_browsers(stop):
        while not stop.is_set():   # 64 open at a time, never read; the oldest replaced
            ws = quietly(lambda: RawWebSocket(srv.port, rcvbuf=4096, timeout=5))
            if ws is not None:
                stuck.append(ws)
            while len(stuck) > 64:
                stuck.pop(0).close()
            stop.wait(0.2)

    try:
        figures = run_for(srv, [stuck_browsers, heavy_writer(srv, counts, WRITER_PAUSE)],
                          counts)
        counts["drops_logged"] = srv.log().count("fell")
    finally:
        srv.stop()
    record("item 5", "64 websockets that never read, replaced 5/s, while 40,000-point "
           f"batches stream in ({WRITER_PAUSE:g} s apart)", figures, **counts)
    check(figures)
    assert counts["batches"] > 0 and counts["drops_logged"] > 0


def test_the_same_batches_without_websockets_as_a_baseline(tmp_path):
    """Not a hostile client: what the ingest alone costs /healthz, for comparison."""
    srv = ServerProcess(tmp_path / "data").start()
    counts = {"batches": 0}
    try:
        figures = run_for(srv, [heavy_writer(srv, counts, WRITER_PAUSE)], counts)
    finally:
        srv.stop()
    record("item 5 baseline", "the same 40,000-point batches, no websockets (ingest alone; "
           "no goal)", figures, baseline=True, **counts)
    assert figures["peak_rss_mb"] < RSS_GOAL_MB and figures["healthz_failed"] == 0


# -- 6. huge incoming websocket frames, no token under --public-read ------------------

def frame_header(opcode, length, fin=True):
    b0 = (0x80 if fin else 0) | opcode
    return bytes([b0, 0x80 | 127]) + struct.pack("!Q", length) + b"abcd"


def test_huge_websocket_frames_without_a_token(tmp_path):
    srv = ServerProcess(tmp_path / "data", extra_args=["--token", "s3cret",
                                                       "--public-read"]).start()
    counts = {"sent_mb": 0, "closed_by_server": 0}

    def flooder(stop):
        chunk = b"x" * (1 << 20)
        while not stop.is_set():
            ws = quietly(lambda: RawWebSocket(srv.port, timeout=2))
            if ws is None:
                stop.wait(0.05)
                continue
            try:
                ws.sock.sendall(frame_header(1, int(2.5 * 2**30)))
                while not stop.is_set():
                    ws.sock.sendall(chunk)
                    counts["sent_mb"] += 1
            except OSError:
                counts["closed_by_server"] += 1
            finally:
                ws.close()
            stop.wait(0.05)

    try:
        figures = run_for(srv, [flooder] * 8, counts)
    finally:
        srv.stop()
    record("item 6", "8 clients announcing 2.5 GiB websocket frames and streaming them, "
           "reconnecting 50 ms after each close (--token with --public-read)", figures,
           **counts)
    check(figures)


# -- 7. stalled bodies, slow headers, idle sockets at the descriptor limit ------------

def test_stalled_bodies_and_slow_headers(tmp_path):
    srv = ServerProcess(tmp_path / "data").start()
    host = f"Host: 127.0.0.1:{srv.port}\r\n".encode()
    counts = {"bodies_started": 0, "slow_headers": 0}

    def staller(stop):
        chunk = b" " * 1_000_000
        while not stop.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            except OSError:
                stop.wait(0.1)
                continue
            try:
                sock.sendall(b"POST /data HTTP/1.1\r\n" + host + b"Content-Type: "
                             b"application/json\r\nContent-Length: 64000000\r\n\r\n")
                counts["bodies_started"] += 1
                for _ in range(63):                      # 63 MB, then stall
                    if stop.is_set():
                        break
                    sock.sendall(chunk)
                sock.settimeout(1)
                while not stop.is_set():                 # until the server gives up
                    try:
                        if not sock.recv(4096):
                            break
                    except socket.timeout:
                        continue
            except OSError:
                pass
            finally:
                sock.close()

    def slowloris(stop):
        socks = []
        while not stop.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", srv.port), timeout=1)
                sock.sendall(b"GET /healthz HTTP/1.1\r\n")
                socks.append(sock)
                counts["slow_headers"] += 1
            except OSError:
                pass
            for sock in list(socks):
                try:
                    sock.sendall(b"X")
                except OSError:
                    socks.remove(sock)
                    sock.close()
            while len(socks) > 100:
                socks.pop(0).close()
            stop.wait(0.2)
        for sock in socks:
            sock.close()

    try:
        figures = run_for(srv, [staller] * 40 + [slowloris], counts)
    finally:
        srv.stop()
    record("item 7a", "40 connections each sending 63 MB of a 64 MB body and stalling, "
           "reconnecting when cut off, plus 100 slow-header connections", figures, **counts)
    check(figures)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ulimit -n via sh")
def test_idle_sockets_past_the_descriptor_limit(tmp_path):
    wrapper = tmp_path / "python-256"
    wrapper.write_text(f'#!/bin/sh\nulimit -n 256\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    srv = ServerProcess(tmp_path / "data", python=str(wrapper)).start()
    counts = {"sockets_opened": 0}

    def idler(stop):
        socks = []
        while not stop.is_set():
            for _ in range(20):
                try:
                    socks.append(socket.create_connection(("127.0.0.1", srv.port),
                                                          timeout=2))
                    counts["sockets_opened"] += 1
                except OSError:
                    pass
            while len(socks) > 300:
                socks.pop(0).close()
            stop.wait(0.1)
        for sock in socks:
            sock.close()

    try:
        figures = run_for(srv, [idler], counts)
    finally:
        srv.stop()
    record("item 7b", "300 idle sockets, 200 new ones a second, under a 256-descriptor "
           "limit", figures, **counts)
    check(figures)


# -- 8. raw reads of a long series ------------------------------------------------------

def post_long_series(srv, model, name, points):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    for lo in range(0, points, 500_000):
        n = min(500_000, points - lo)
        body = encode_batch(f"{model}-{lo}", [(model, name, range(lo, lo + n),
                                                [0.5] * n, [1.7e9] * n)])
        conn.request("POST", "/api/v1/points", body, {"Content-Type": CONTENT_TYPE})
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        resp.read()
    conn.close()


def test_raw_reads_of_a_long_series(tmp_path):
    srv = ServerProcess(tmp_path / "data").start()
    points = int(sized(300_000, 4_000_000))
    post_long_series(srv, "long", "loss", points)
    counts = {"pages": 0, "points_read": 0}

    def reader(stop):   # reads the whole series again and again, page by page
        conn = None
        after = None
        while not stop.is_set():
            query = "/api/v1/series?model=long&series=loss" + (f"&after={after}" if after
                                                               else "")
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
                conn.request("GET", query)
                page = json.loads(conn.getresponse().read())
                counts["pages"] += 1
                counts["points_read"] += len(page["steps"])
                after = page["next"]
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                conn, after = None, None

    try:
        figures = run_for(srv, [reader] * 4, counts)
    finally:
        srv.stop()
    record("item 8", f"4 clients reading a {points:,}-point series raw, again and again "
           "(pages of 100,000 points)", figures, **counts)
    check(figures)
    assert counts["pages"] > 0


# -- 9. many series, and listings read while they are made -----------------------------

def test_series_up_to_the_cap_while_listings_are_read(tmp_path):
    cap = int(sized(5_000, 100_000))
    srv = ServerProcess(tmp_path / "data", extra_args=["--max-series", str(cap)]).start()
    counts = {"series_sent": 0, "refused_403": 0, "listings": 0}

    def creator(stop):   # 1,000 new one-point series a request, past the cap
        conn, k = None, 0
        while not stop.is_set():
            body = encode_batch(f"c{k}", [("many", f"s{k}-{j}", [0], [1.0], [1.7e9])
                                          for j in range(1000)])
            k += 1
            conn, status = post_batch(conn, srv.port, body, timeout=60)
            counts["series_sent"] += 1000 * (status == 200)
            counts["refused_403"] += status == 403

    def lister(stop):
        conn = None
        while not stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
                for path in ("/api/v1/models", "/api/v1/models/many"):
                    conn.request("GET", path)
                    conn.getresponse().read()
                    counts["listings"] += 1
            except (OSError, http.client.HTTPException):
                conn = None

    try:
        figures = run_for(srv, [creator, lister, lister], counts)
    finally:
        srv.stop()
    record("item 9", f"a client creating 1,000 series a request up to the cap ({cap:,}, "
           "--max-series) and past it, while 2 clients list models", figures, **counts)
    check(figures)
    assert counts["series_sent"] <= cap and counts["refused_403"] > 0
