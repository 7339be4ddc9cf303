"""The server's memory, time and descriptors stay bounded whatever one client does.

Issue 10 items 5 (a websocket that stops reading), 6 (huge incoming websocket frames),
7 (stalled bodies, slow headers, idle sockets, descriptors) and 12 (malformed input).
Short versions: each a few seconds against a real server subprocess with small limits.
The 60 s hostile clients are in ``test_bounds_hostile.py`` (``make stress``).
"""
import base64
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.request

import pytest

from fault_helpers import RawWebSocket, rss_kib, wait_for
from helpers import ServerProcess

FAST = ["--idle-timeout", "1", "--header-timeout", "1", "--body-timeout", "2"]


def connect(srv, timeout=10):
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def closed_within(sock, seconds):
    """Read until EOF/reset; the seconds it took, or ``None`` if still open."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - start
    return None


def healthz_ms(srv, timeout=5):
    t = time.monotonic()
    with urllib.request.urlopen(srv.url + "/healthz", timeout=timeout) as resp:
        assert resp.status == 200
        resp.read()
    return (time.monotonic() - t) * 1e3


def host(srv):
    return f"Host: 127.0.0.1:{srv.port}\r\n".encode()


# -- 5. a websocket that stops reading ------------------------------------------------

def heavy_post(conn, k):
    values = [0.123456789 * i for i in range(2000)]
    doc = {"series": [{"model": "heavy", "name": f"s{j}",
                       "steps": list(range(k * 2000, (k + 1) * 2000)), "values": values}
                      for j in range(20)]}
    conn.request("POST", "/api/v1/points", json.dumps(doc),
                 {"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    resp.read()


def test_a_websocket_that_stops_reading_is_dropped_by_bytes_not_messages(make_server):
    srv = make_server(extra_args=["--ws-queue-mb", "4"]).start()
    stuck = RawWebSocket(srv.port, rcvbuf=4096)
    stuck.recv()                                       # hello
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    heavy_post(conn, 0)
    time.sleep(0.3)
    before = rss_kib(srv.proc.pid)
    for k in range(1, 41):                             # ~1.8 MB of events each: 72 MB
        heavy_post(conn, k)
    grown = (rss_kib(srv.proc.pid) - before) / 1024
    stuck.sock.settimeout(10)
    ended = None
    try:
        while ended is None:
            op, payload = stuck.recv()
            if op == 8:
                ended = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else "none"
    except (EOFError, ConnectionResetError):
        ended = "EOF"
    except socket.timeout:
        ended = None
    stuck.close()
    assert ended in (1013, "EOF"), f"the stuck websocket was never dropped ({ended!r})"
    assert grown < 40, f"the server grew {grown:.0f} MB holding a stuck websocket's queue"
    assert healthz_ms(srv) < 1000


def test_the_hub_counts_bytes_and_keeps_one_oversized_message():
    gevent = pytest.importorskip("gevent")
    import gevent.event

    from pastalog.server.hub import Hub

    class StuckSocket:
        """A websocket whose peer stopped reading: the first frame never goes out."""
        closed = False

        def __init__(self):
            self.writes, self.never = [], gevent.event.Event()

        def send(self, text):              # the hello
            pass

        def raw_write(self, data):
            self.writes.append(len(data))
            self.never.wait()

        def receive(self):
            gevent.sleep(3600)

        def send_frame(self, payload, opcode):
            self.writes.append(("close", payload))

    hub = Hub(max_queue_bytes=10_000)
    ws = StuckSocket()
    pump = gevent.spawn(hub.serve, ws)
    gevent.sleep(0.01)
    hub.publish([{"type": "points", "model": "m", "series": "s", "steps": list(range(5000))}])
    gevent.sleep(0.1)                      # alone over the bound, yet sent: it is all there is
    assert hub.subscribers == 1 and ws.writes, ws.writes
    hub.publish([{"type": "points", "model": "m", "series": "s", "steps": [1]}])
    gevent.sleep(0.05)                     # the unsent message counts: now over the bound
    assert hub.subscribers == 0 and hub.dropped == 1
    assert ws.closed and not any(isinstance(w, tuple) for w in ws.writes)  # cut mid-frame
    pump.join(1)
    assert pump.dead


def test_one_huge_write_reaches_a_browser_in_messages_of_bounded_size():
    gevent = pytest.importorskip("gevent")

    from pastalog.server import hub as hub_module

    class FastSocket:
        closed = False

        def __init__(self):
            self.frames, self.header = [], None

        def send(self, text):
            pass

        def raw_write(self, data):
            if self.header is None:
                self.header = data
            else:
                self.frames.append(json.loads(bytes(data)))
                self.header = None

        def receive(self):
            gevent.sleep(3600)

    hub = hub_module.Hub()
    ws = FastSocket()
    pump = gevent.spawn(hub.serve, ws)
    gevent.sleep(0.01)
    events = [{"type": "points", "model": "m", "series": f"s{i}", "steps": list(range(2000)),
               "values": [0.123456789] * 2000} for i in range(60)]   # ~3 MB in one write
    hub.publish(events)
    gevent.sleep(0.3)
    pump.kill()
    got = [e["series"] for frame in ws.frames for e in frame]
    assert got == [f"s{i}" for i in range(60)]
    sizes = [len(json.dumps(frame)) for frame in ws.frames]
    assert len(ws.frames) > 1 and max(sizes) < hub_module.MAX_SEND_BYTES + 100_000, sizes


# -- 6. incoming websocket frames -----------------------------------------------------

def frame(opcode, payload_len, fin=True, mask=b"abcd"):
    b0 = (0x80 if fin else 0) | opcode
    if payload_len < 126:
        head = bytes([b0, 0x80 | payload_len])
    elif payload_len < 65536:
        head = bytes([b0, 0x80 | 126]) + struct.pack("!H", payload_len)
    else:
        head = bytes([b0, 0x80 | 127]) + struct.pack("!Q", payload_len)
    return head + mask


def ws_end(ws, seconds):
    """The close code the server sent, "EOF", or None if the socket stayed open."""
    ws.sock.settimeout(seconds)
    try:
        while True:
            op, payload = ws.recv()
            if op == 8:
                return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else "none"
    except (EOFError, ConnectionResetError, BrokenPipeError):
        return "EOF"
    except socket.timeout:
        return None


def test_a_huge_announced_websocket_frame_is_refused_without_a_token(make_server):
    srv = make_server(extra_args=["--token", "s3cret", "--public-read"]).start()
    ws = RawWebSocket(srv.port)
    ws.recv()                                          # hello
    before = rss_kib(srv.proc.pid)
    ws.sock.sendall(frame(1, int(2.5 * 2**30)))
    sent = 0
    try:
        chunk = b"x" * (1 << 20)
        ws.sock.settimeout(2)
        while sent < 48 << 20:
            ws.sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass                                           # closed on us: what we want
    end = ws_end(ws, 3)
    grown = (rss_kib(srv.proc.pid) - before) / 1024
    ws.close()
    assert end in (1009, "EOF"), f"a 2.5 GiB frame was not refused (sent {sent >> 20} MiB)"
    assert sent < 48 << 20, "the server kept reading a frame over the cap"
    assert grown < 20, f"the server grew {grown:.0f} MB reading one frame"


def test_a_message_fragmented_past_the_cap_is_refused(server):
    ws = RawWebSocket(server.port)
    ws.recv()
    ws.sock.sendall(frame(1, 60_000, fin=False) + b"\0" * 60_000)
    ws.sock.sendall(frame(0, 60_000, fin=False) + b"\0" * 60_000)
    assert ws_end(ws, 3) in (1009, "EOF")
    ws.close()


def test_small_messages_from_the_page_are_still_fine(server):
    ws = RawWebSocket(server.port)
    ws.recv()
    for _ in range(20):
        ws.sock.sendall(frame(1, 5) + bytes(c ^ b"abcd"[i % 4] for i, c in enumerate(b"hello")))
    assert ws_end(ws, 0.5) is None
    ws.close()


# -- 7. read and idle timeouts, bodies in flight, descriptors -------------------------

def test_a_stalled_body_is_cut_off_after_the_body_timeout(make_server):
    srv = make_server(extra_args=FAST).start()
    sock = connect(srv)
    sock.sendall(b"POST /data HTTP/1.1\r\n" + host(srv) + b"Content-Type: application/json\r\n"
                 b"Content-Length: 10000000\r\n\r\n" + b" " * 1_000_000)
    took = closed_within(sock, 8)
    sock.close()
    assert took is not None and took < 5, "a stalled body held its connection"


def test_slow_headers_are_cut_off_after_the_header_timeout(make_server):
    srv = make_server(extra_args=FAST).start()
    sock = connect(srv)
    sock.sendall(b"GET /healthz HTTP/1.1\r\n")
    start = time.monotonic()
    try:
        for _ in range(30):                            # a header byte every 0.2 s
            sock.sendall(b"X")
            time.sleep(0.2)
            if time.monotonic() - start > 6:
                break
    except OSError:
        pass
    took = closed_within(sock, 6)
    sock.close()
    assert took is not None and time.monotonic() - start < 5, "slow headers held a connection"


def test_an_idle_keep_alive_connection_is_closed(make_server):
    srv = make_server(extra_args=FAST).start()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("GET", "/healthz")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200 and not resp.will_close
    took = closed_within(conn.sock, 6)
    conn.close()
    assert took is not None and took < 4, "an idle keep-alive connection stayed open"


def test_bodies_in_flight_are_bounded_in_bytes_and_healthz_answers(make_server):
    srv = make_server(extra_args=["--max-inflight-mb", "24", "--max-body-mb", "8",
                                  "--body-timeout", "30"]).start()
    before = rss_kib(srv.proc.pid)
    socks = []
    for _ in range(24):                                # 24 x 7.5 MB sent, then stalled
        sock = connect(srv)
        sock.setblocking(False)
        sock.sendall(b"POST /data HTTP/1.1\r\n" + host(srv) + b"Content-Length: 8000000\r\n"
                     b"Content-Type: application/json\r\n\r\n")
        socks.append(sock)
    chunk = b" " * 65536
    deadline = time.monotonic() + 4
    pending = {id(s): 7_500_000 for s in socks}
    while time.monotonic() < deadline and any(pending.values()):
        for s in socks:
            if pending[id(s)]:
                try:
                    pending[id(s)] -= s.send(chunk[: pending[id(s)]])
                except (BlockingIOError, OSError):
                    pass
        time.sleep(0.001)
    time.sleep(0.5)
    lat = sorted(healthz_ms(srv) for _ in range(50))
    grown = (rss_kib(srv.proc.pid) - before) / 1024
    for s in socks:
        s.close()
    assert grown < 60, f"the server held {grown:.0f} MB of stalled bodies"
    assert lat[-1] < 500, f"/healthz took {lat[-1]:.0f} ms"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ulimit -n via sh")
def test_healthz_answers_with_idle_sockets_at_the_descriptor_limit(tmp_path):
    wrapper = tmp_path / "python-256"
    wrapper.write_text(f'#!/bin/sh\nulimit -n 256\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    srv = ServerProcess(tmp_path / "data", python=str(wrapper)).start()
    idle = []
    try:
        for _ in range(300):
            idle.append(connect(srv))
        time.sleep(0.5)
        took = healthz_ms(srv, timeout=5)
        assert took < 1000, f"/healthz took {took:.0f} ms"
    finally:
        for s in idle:
            s.close()
        srv.stop()


# -- 12. malformed input: a 4xx or a quiet close, one log line at most ----------------

def exchange(srv, raw, timeout=5):
    sock = connect(srv, timeout)
    sock.sendall(raw)
    out = b""
    try:
        while b"\r\n\r\n" not in out:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    finally:
        sock.close()
    return out


@pytest.mark.parametrize("header", [b"Authorization: Bearer \xff\xfe", b"Origin: http://\xff",
                                    b"Cookie: pastalog_token=\xff"])
def test_non_utf8_headers_get_a_4xx_not_a_traceback(make_server, header):
    srv = make_server(extra_args=["--token", "s3cret"]).start()
    for method in (b"GET /api/v1/models", b"POST /data"):
        got = exchange(srv, method + b" HTTP/1.1\r\n" + host(srv) + header +
                       b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        status = int(got.split(b" ", 2)[1])
        assert 400 <= status < 500, got[:200]
    assert "Traceback" not in srv.log()


def test_aborted_uploads_close_quietly(server):
    before = len(server.log())
    for i in range(60):
        sock = connect(server)
        sock.sendall(b"POST /api/v1/points HTTP/1.1\r\n" + host(server) +
                     b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n" +
                     b"[" * 5000)
        sock.close()
    assert healthz_ms(server) < 1000
    time.sleep(0.3)
    grew = server.log()[before:] if len(server.log()) > before else ""
    assert "Traceback" not in grew and len(grew.splitlines()) <= 1, grew[-2000:]


def test_a_deeply_nested_batch_header_is_a_400(server):
    from pastalog.wire import CONTENT_TYPE, MAGIC

    header = b"[" * 100_000 + b"]" * 100_000
    status, got = server.request("POST", "/api/v1/points",
                                 MAGIC + len(header).to_bytes(4, "little") + header,
                                 {"Content-Type": CONTENT_TYPE})
    assert status == 400 and "nested" in got["error"], got
    assert "Traceback" not in server.log()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ulimit -n via sh")
def test_connections_waiting_for_the_body_budget_are_shed_too(tmp_path):
    wrapper = tmp_path / "python-256"
    wrapper.write_text(f'#!/bin/sh\nulimit -n 256\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    srv = ServerProcess(tmp_path / "data", python=str(wrapper),
                        extra_args=["--max-inflight-mb", "8", "--max-body-mb", "8"]).start()
    head = (b"POST /data HTTP/1.1\r\n" + host(srv) + b"Content-Type: application/json\r\n"
            b"Content-Length: 8000000\r\n\r\n")
    socks = []
    try:
        first = connect(srv)
        first.sendall(head + b" " * 1000)              # holds the whole budget, stalls
        socks.append(first)
        time.sleep(0.2)
        for _ in range(300):                           # each waits for the budget
            sock = connect(srv)
            sock.sendall(head)
            socks.append(sock)
        time.sleep(0.5)
        took = healthz_ms(srv, timeout=5)
        assert took < 1000, f"/healthz took {took:.0f} ms"
    finally:
        for s in socks:
            s.close()
        srv.stop()
