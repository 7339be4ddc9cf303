"""Another site's page cannot read your runs (issue 9.3), in real Chromium.

An attacker's page on a second local origin tries both ways in: a websocket to /ws and a
fetch of the REST API. A page whose name was rebound to 127.0.0.1 (DNS rebinding, made
here with Chromium's --host-resolver-rules) gets 403 for everything.
"""
import http.server
import threading

import pytest

from browser_helpers import post_points
from conftest import ARGS, CHROMIUM

pytestmark = pytest.mark.browser

ATTACK = """<!doctype html><title>attacker</title><script>
window.result = {ws: 'pending', fetch: 'pending', points: 0};
const target = new URLSearchParams(location.search).get('target');
try {
  const ws = new WebSocket(target.replace('http', 'ws') + '/ws');
  ws.onmessage = (e) => { window.result.points += JSON.parse(e.data).length; };
  ws.onopen = () => { window.result.ws = 'open'; };
  ws.onerror = () => { window.result.ws = 'refused'; };
} catch (e) { window.result.ws = 'threw ' + e; }
fetch(target + '/api/v1/series?model=secret&series=loss')
  .then((r) => r.text()).then((t) => { window.result.fetch = 'read ' + t.slice(0, 40); })
  .catch((e) => { window.result.fetch = 'blocked'; });
</script>"""


@pytest.fixture
def attacker(tmp_path):
    (tmp_path / "attack.html").write_text(ATTACK)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(tmp_path), **kw)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_a_page_on_another_origin_reads_nothing(browser, server, attacker):
    post_points(server, "secret", "loss", range(10), [0.5] * 10)
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{attacker}/attack.html?target={server.url}")
    deadline = 100
    while deadline and "pending" in page.evaluate("Object.values(window.result).join()"):
        page.wait_for_timeout(50)
        deadline -= 1
    post_points(server, "secret", "loss", range(10, 20), [0.5] * 10)   # live points now
    page.wait_for_timeout(500)
    result = page.evaluate("window.result")
    ctx.close()
    assert result == {"ws": "refused", "fetch": "blocked", "points": 0}


def test_a_rebound_name_gets_403_for_everything(browser, server):
    post_points(server, "secret", "loss", range(10), [0.5] * 10)
    rebound = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=ARGS + ["--host-resolver-rules=MAP evil.test 127.0.0.1"])
    try:
        page = rebound.new_page()
        base = f"http://evil.test:{server.port}"
        for path in ("/", "/api/v1/models", "/api/v1/series?model=secret&series=loss"):
            response = page.goto(base + path)
            assert response.status == 403, path
            assert "secret" not in page.content()
        # the same page by its address works
        assert page.goto(f"{server.url}/api/v1/models").status == 200
    finally:
        rebound.close()
