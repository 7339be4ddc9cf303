"""The guard at the door (issue 9.3, 10.11): Host allow-list, Origin, sessions.

In process through the WSGI app (webtest), except the websocket upgrade, which needs
a real server and socket.
"""
import base64
import os
import socket

import pytest
import webtest

from pastalog.server.app import make_app
from pastalog.server.guard import Guard
from pastalog.server.store import Store

POINT = {"modelName": "m", "pointType": "loss", "pointValue": 1.5, "globalStep": 0}


@pytest.fixture
def app(tmp_path):
    store = Store(tmp_path)
    store.write_points([("m", "loss", [0], [1.5], None)])
    yield webtest.TestApp(make_app(store, allowed_hosts=["gpu-box"]),
                          extra_environ={"HTTP_HOST": "127.0.0.1:8120"})
    store.close()


@pytest.mark.parametrize("host", ["127.0.0.1:8120", "localhost:8120", "[::1]:8120",
                                  "10.1.2.3", "gpu-box:8120", "GPU-BOX", "app.localhost:1",
                                  ""])
def test_names_of_this_server_are_answered(app, host):
    assert app.get("/api/v1/models", headers={"Host": host}).json["models"][0]["name"] == "m"


@pytest.mark.parametrize("host", ["evil.example:8120", "evil.example", "127.0.0.1.nip.io",
                                  "localhost.evil.example"])
def test_a_rebound_name_reads_nothing(app, host):
    """DNS rebinding: the attacker's name resolves to 127.0.0.1, the Host header keeps it."""
    for path in ("/api/v1/models", "/api/v1/series?model=m&series=loss", "/healthz", "/"):
        res = app.get(path, headers={"Host": host}, status=403)
        assert "--allow-host" in res.json["error"]
    app.post_json("/data", POINT, headers={"Host": host}, status=403)


def test_allow_host_star_allows_any(tmp_path):
    with Store(tmp_path) as store:
        app = webtest.TestApp(make_app(store, allowed_hosts=["*"]))
        assert app.get("/healthz", headers={"Host": "anything.example"}).json["ok"]


def test_origin_must_match_scheme_host_and_port(app):
    for origin in ("http://evil.example", "https://127.0.0.1:8120", "http://127.0.0.1:9999",
                   "null"):
        res = app.post_json("/data", POINT, headers={"Origin": origin}, status=403)
        assert "cross-origin" in res.json["error"]
    app.post_json("/data", POINT, headers={"Origin": "http://127.0.0.1:8120"}, status=200)
    # behind a TLS proxy, the scheme the browser used is the one that counts
    app.post_json("/data", POINT, headers={"Origin": "https://127.0.0.1:8120",
                                           "X-Forwarded-Proto": "https"}, status=200)


def test_sessions_are_signed_expiring_and_tied_to_the_token():
    guard = Guard(token="tok")
    session = guard.new_session(now=1000.0)
    assert "tok" not in session
    assert guard.session_valid(session, now=1001.0)
    assert not guard.session_valid(session, now=1000.0 + 31 * 24 * 3600)       # expired
    assert not Guard(token="other").session_valid(session, now=1001.0)          # other token
    forged = session[:-1] + ("1" if session[-1] == "0" else "0")
    assert not guard.session_valid(forged, now=1001.0)                           # forged
    assert not guard.session_valid("", now=1001.0)


def _upgrade(port, origin=None, host=None):
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET /ws HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}",
             "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
             "Sec-WebSocket-Version: 13"]
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")]
        while length and len(body) < length[0]:   # the refusal's body follows its headers
            body += sock.recv(4096)
        data = head + b"\r\n\r\n" + body
    return data.decode("latin-1")


def test_websocket_from_another_origin_is_refused_before_the_upgrade(server):
    assert " 101 " in _upgrade(server.port, origin=server.url).split("\r\n")[0]
    assert " 101 " in _upgrade(server.port).split("\r\n")[0]           # not a browser
    refused = _upgrade(server.port, origin="http://evil.example")
    assert refused.startswith("HTTP/1.1 403") and "cross-origin websocket refused" in refused
    refused = _upgrade(server.port, origin=f"https://127.0.0.1:{server.port}")
    assert refused.startswith("HTTP/1.1 403")
    refused = _upgrade(server.port, host="evil.example")
    assert refused.startswith("HTTP/1.1 403") and "--allow-host" in refused


def test_websocket_needs_the_token(make_server):
    srv = make_server(extra_args=["--token", "tok"]).start()
    assert _upgrade(srv.port, origin=srv.url).startswith("HTTP/1.1 401")
