"""A server started with --token: the page asks once, then works (images and live too)."""
import json
import urllib.request

from conftest import Page


def test_page_asks_for_the_token_once_and_then_shows_the_data(browser, make_server, tmp_path):
    srv = make_server(extra_args=["--token", "hunter2"]).start()
    req = urllib.request.Request(
        srv.url + "/data", method="POST",
        data=json.dumps({"modelName": "secret_model", "pointType": "loss",
                         "pointValue": 1.5, "globalStep": 0}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer hunter2"})
    assert urllib.request.urlopen(req).status == 200
    ctx = browser.new_context(viewport={"width": 1100, "height": 700})
    page = Page(ctx.new_page(), srv, tmp_path)
    page.page.goto(srv.url + "/")
    page.page.wait_for_selector("dialog.token-dialog input.token-input", timeout=10_000)
    page.page.fill("input.token-input", "wrong")
    page.page.click("dialog.token-dialog button[type=submit]")
    page.poll("document.querySelector('.token-error') && "
              "document.querySelector('.token-error').textContent.includes('wrong token')")
    page.screenshot("token-prompt")
    page.page.fill("input.token-input", "hunter2")
    page.page.click("dialog.token-dialog button[type=submit]")
    page.wait_for("s.live === 'live'", timeout=15)
    page.poll("document.body.textContent.includes('secret_model')")
    # the cookie is kept: a reload does not ask again
    page.page.reload()
    page.wait_for("s.live === 'live'", timeout=15)
    assert page.page.query_selector("dialog.token-dialog") is None
    page.errors = [e for e in page.errors if "401" not in e]
    assert page.errors == []
    ctx.close()
