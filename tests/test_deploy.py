"""docs/deploy.md's nginx configuration, as written, in front of two servers on one
PostgreSQL database (only its ports changed): writes and reads through it, websockets
through it, and a server that dies is routed around."""
import os
import re
import signal
import socket
import subprocess
import time

import pytest
import websocket

from helpers import ROOT, free_port

DOC = os.path.join(ROOT, "docs", "deploy.md")
NGINX = "/usr/sbin/nginx"
TOKEN = "s3cret-token"


def doc_block(lang):
    text = open(DOC, encoding="utf-8").read()
    blocks = re.findall(rf"```{lang}\n(.*?)```", text, re.S)
    assert len(blocks) == 1, f"docs/deploy.md should hold one {lang} block"
    return blocks[0]


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@pytest.fixture
def nginx(tmp_path):
    """Start nginx with the doc's site config (ports replaced); stopped by its pid."""
    procs = []

    def start(front, backends):
        site = doc_block("nginx").replace("127.0.0.1:8120", f"127.0.0.1:{front}")
        for old, new in zip((8121, 8122), backends):
            site = site.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}")
        (tmp_path / "pastalog.conf").write_text(site)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp_path / sub).mkdir()
        # what Debian's /etc/nginx/nginx.conf around conf.d/*.conf amounts to, in tmp_path
        (tmp_path / "nginx.conf").write_text(f"""
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    log_format upstream '$request_method $uri $upstream_addr $status';
    access_log {tmp_path}/access.log upstream;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/pastalog.conf;
}}
""")
        os.chmod(tmp_path, 0o755)
        proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(proc)
        wait_port(front)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_nginx_from_the_doc_balances_two_servers_websockets_included(make_server, pg_url,
                                                                     nginx, tmp_path):
    servers = [make_server(extra_args=["--store", pg_url, "--token", TOKEN]).start()
               for _ in range(2)]
    front = free_port()
    nginx(front, [s.port for s in servers])
    url = f"http://127.0.0.1:{front}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    import json
    import urllib.error
    import urllib.request

    def call(method, path, body=None):
        req = urllib.request.Request(url + path, method=method, headers={
            **auth, "Content-Type": "application/json"},
            data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())

    # a websocket through nginx, then writes through nginx: the live events arrive
    # whichever server took each write
    ws = websocket.create_connection(f"ws://127.0.0.1:{front}/ws?model=m",
                                     header=[f"Authorization: Bearer {TOKEN}"], timeout=10)
    assert json.loads(ws.recv())[0]["type"] == "hello"
    for i in range(20):
        status, body = call("POST", "/api/v1/points", {"batch": f"b{i}", "series": [
            {"model": "m", "name": "loss", "steps": [i], "values": [float(i)]}]})
        assert status == 200 and body["points"] == 1
    seen = []
    while len(seen) < 20:
        seen += [s for e in json.loads(ws.recv()) if e["type"] == "points" for s in e["steps"]]
    assert sorted(seen) == list(range(20))
    ws.close()
    status, got = call("GET", "/api/v1/series?model=m&series=loss")
    assert got["steps"] == list(range(20)) and got["seq"] == 20
    # least_conn sent the writes to the server without the websocket: every event
    # the websocket got crossed servers
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [line.split() for line in open(tmp_path / "access.log")]
        ws_to = {w[2] for w in lines if w[1] == "/ws"}
        if ws_to:
            break
        time.sleep(0.1)
    posts_to = {w[2] for w in lines if w[:2] == ["POST", "/api/v1/points"]}
    assert len(ws_to) == 1 and posts_to and not ws_to & posts_to, (ws_to, posts_to)
    assert ws_to | posts_to == {f"127.0.0.1:{s.port}" for s in servers}
    # one server dies: nginx routes around it, and a retried batch is stored once
    servers[0].kill()
    for i in range(20, 30):
        assert call("POST", "/api/v1/points", {"batch": f"b{i}", "series": [
            {"model": "m", "name": "loss", "steps": [i], "values": [float(i)]}]})[0] == 200
    assert call("POST", "/api/v1/points", {"batch": "b25", "series": [
        {"model": "m", "name": "loss", "steps": [25], "values": [25.0]}]})[1]["duplicate"]
    status, got = call("GET", "/api/v1/series?model=m&series=loss")
    assert got["steps"] == list(range(30))
    # the token is needed through the door too
    req = urllib.request.Request(url + "/api/v1/models")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401
