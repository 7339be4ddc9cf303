"""Tokens, loopback-only by default, no cross-origin writes, paths stay in the data dir."""
import subprocess
import sys

import pastalog
from helpers import ROOT

POINT = {"modelName": "m", "pointType": "s", "pointValue": 1.0, "globalStep": 0}


def test_token_guards_writes_deletes_and_reads(make_server, tmp_path):
    srv = make_server(extra_args=["--token", "s3cret"]).start()
    assert srv.post_json("/data", POINT)[0] == 401
    bearer = {"Authorization": "Bearer s3cret"}
    assert srv.request("POST", "/data", POINT, bearer)[0] == 200        # original curl + -H
    assert srv.request("POST", "/data", POINT, {"Authorization": "Bearer wrong"})[0] == 401
    assert srv.get_json("/api/v1/models")[0] == 401
    assert srv.request("GET", "/api/v1/models", headers=bearer)[0] == 200
    assert srv.request("DELETE", "/api/v1/models/m")[0] == 401
    assert srv.get_json("/healthz")[0] == 200
    assert srv.request("GET", "/")[0] == 200                              # the page asks
    status, _ = srv.request("POST", "/api/v1/session", {"token": "nope"})
    assert status == 401
    with pastalog.Log(srv.port, "client", token="s3cret", spool_dir=str(tmp_path)) as log:
        log.write("loss", 2.0)
        assert log.flush(timeout=10)
    assert srv.request("GET", "/api/v1/series?model=client&series=loss",
                       headers=bearer)[1]["values"] == [2.0]
    assert "s3cret" not in srv.log()


def test_session_cookie_lets_the_page_read(make_server):
    import http.cookiejar
    import json
    import urllib.request

    srv = make_server(extra_args=["--token", "tok"]).start()
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    req = urllib.request.Request(srv.url + "/api/v1/session", data=b'{"token": "tok"}',
                                 method="POST", headers={"Content-Type": "application/json"})
    assert opener.open(req).status == 200
    cookie = next(iter(jar))
    # a signed, expiring session id named for the port: never the token itself, and a
    # second pastalog (or any other service) on this host neither gets nor replaces it
    assert cookie.name == f"pastalog_session_{srv.port}" and cookie.has_nonstandard_attr("HttpOnly")
    assert "tok" not in cookie.value and len(cookie.value) > 30
    with opener.open(srv.url + "/api/v1/models") as resp:
        assert json.loads(resp.read())["models"] == []


def test_public_read(make_server):
    srv = make_server(extra_args=["--token", "tok", "--public-read"]).start()
    assert srv.get_json("/api/v1/models")[0] == 200
    assert srv.post_json("/data", POINT)[0] == 401


def test_cross_origin_writes_are_refused(server):
    evil = {"Origin": "http://evil.example"}
    status, body = server.request("POST", "/data", POINT, evil)
    assert status == 403 and "cross-origin" in body["error"]
    assert server.request("DELETE", "/api/v1/models/m", headers=evil)[0] == 403
    same = {"Origin": server.url}
    assert server.request("POST", "/data", POINT, same)[0] == 200
    assert server.get_json("/api/v1/series?model=m&series=s")[1]["values"] == [1.0]


def test_non_loopback_host_needs_a_token_or_insecure(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "pastalog", "run", "0", "--data",
                               str(tmp_path), *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=30)
    out = run("--host", "0.0.0.0")
    assert out.returncode == 1 and "--token" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_image_paths_cannot_leave_the_data_dir(server):
    for path in ("/api/v1/blobs/../pastalog.sqlite3", "/api/v1/blobs/%2e%2e%2fpastalog.sqlite3",
                 "/static/../store.py", "/static/%2e%2e/store.py", "/api/v1/blobs/" + "a" * 64):
        status, _ = server.request("GET", path)
        assert status in (400, 403, 404), path
