"""Names are text, deletes ask first, the page survives NaN/Inf and a server restart."""
import math

import pytest

from browser_helpers import post_points

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


def test_markup_in_names_is_shown_as_text_and_runs_nothing(page, server):
    post_points(server, XSS, "loss", range(20), [1.0] * 20)
    post_points(server, XSS, "<b onmouseover=alert(2)>bold", range(20), [2.0] * 20)
    dialogs = []
    page.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines.length === 1 && s.charts[0].lines[0].drawn")
    p = page.page
    assert p.locator(".ov-side .legend-model").first.text_content() == XSS
    page.open("?view=detail&model=" + __import__("urllib.parse").parse.quote(XSS))
    page.wait_for("s.charts.length === 2 && s.charts.every(c => c.lines.every(l => l.drawn))")
    assert p.locator(".detail-title").text_content() == XSS
    assert "<b onmouseover=alert(2)>bold" in p.locator(".chart-title").all_text_contents()
    assert p.evaluate("document.querySelectorAll('img[src=\"x\"], b').length") == 0
    assert p.evaluate("document.title") == f"{XSS} · pastalog"
    page.screenshot("xss")
    assert dialogs == []
    assert page.errors == []


def test_delete_series_removes_it_from_page_and_store(page, server):
    post_points(server, "m1", "train_loss", range(30), [1.0] * 30)
    post_points(server, "m1", "valid_loss", range(30), [2.0] * 30)
    page.open("?view=detail&model=m1")
    page.wait_for("s.charts.length === 2 && s.charts.every(c => c.lines.every(l => l.drawn))")
    p = page.page
    entry = p.locator(".legend-entry", has_text="valid_loss")
    # cancelling keeps it
    entry.locator(".legend-delete").click()
    p.locator("dialog .confirm-cancel").click()
    assert page.server.get_json("/api/v1/models/m1")[1]["series"][1]["name"] == "valid_loss"
    entry.locator(".legend-delete").click()
    assert "valid_loss" in p.locator("dialog .confirm-message").text_content()
    p.locator("dialog .confirm-ok").click()
    s = page.wait_for("s.charts.length === 1")
    assert [l["series"] for l in s["charts"][0]["lines"]] == ["train_loss"]
    assert p.locator(".legend-entry", has_text="valid_loss").count() == 0
    status, body = page.server.get_json("/api/v1/models/m1")
    assert status == 200 and [x["name"] for x in body["series"]] == ["train_loss"]
    status, _ = page.server.get_json("/api/v1/series?model=m1&series=valid_loss")
    assert status == 404
    # deleting the whole model from its page goes back to the overview
    p.locator(".detail-delete").click()
    p.locator("dialog .confirm-ok").click()
    page.wait_for("s.view === 'overview' && s.models.length === 0")
    assert page.server.get_json("/api/v1/models")[1]["models"] == []
    assert page.errors == []


def test_nan_and_inf_do_not_break_the_chart(page, server):
    values = [math.sin(i / 10) for i in range(300)]
    values[100] = float("nan")
    values[101] = float("nan")
    values[200] = float("inf")
    values[250] = float("-inf")
    post_points(server, "m1", "loss", range(300), values)
    post_points(server, "m1", "all_nan", range(10), [float("nan")] * 10)
    page.open("?view=detail&model=m1")
    s = page.wait_for("s.charts.length === 2 && s.charts.every(c => c.lines.every(l => l.drawn))")
    loss = next(c for c in s["charts"] if c["title"] == "loss")
    ln = loss["lines"][0]
    assert ln["drawn"]["nans"] == 2 and ln["drawn"]["nanBuckets"] >= 1
    lo, hi = loss["y"]
    assert math.isfinite(lo) and math.isfinite(hi) and -1.2 < lo < -0.9 and 0.9 < hi < 1.2
    nan = next(c for c in s["charts"] if c["title"] == "all_nan")
    assert nan["lines"][0]["drawn"]["nans"] == 10
    assert all(math.isfinite(v) for v in nan["y"])
    # every display mode draws without error
    for mode in ["raw", "smooth", "candle"]:
        page.page.locator(".chart-card", has_text="loss").first.locator(".tb-mode").select_option(mode)
        page.wait_for(f"s.charts.find(c => c.title === 'loss').lines[0].drawn.mode === '{mode}'")
    page.screenshot("nan-inf")
    assert page.page.locator(".legend-entry", has_text="all_nan").locator(".legend-value").text_content() == "NaN"
    assert page.errors == []


def test_reconnects_after_server_restart_and_catches_up(page, server):
    post_points(server, "m1", "loss", range(100), [1.0] * 100)
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines[0].drawn")
    server.stop()
    page.poll("document.querySelector('.live-badge').textContent.startsWith('disconnected')", timeout=10)
    assert page.state()["live"] == "down"
    page.screenshot("disconnected")
    server.start()
    post_points(server, "m1", "loss", range(100, 5000), [2.0] * 4900)
    post_points(server, "m2", "loss", range(10), [3.0] * 10)
    s = page.wait_for("s.live === 'live' && s.charts[0].lines.length === 2 && "
                      "s.charts[0].lines.every(l => l.loaded) && "
                      "s.charts[0].lines.find(l => l.model === 'm1').points === 5000", timeout=20)
    m1 = next(l for l in s["charts"][0]["lines"] if l["model"] == "m1")
    assert m1["lastStep"] == 4999 and m1["lastValue"] == 2.0
    assert page.page.locator(".live-badge").text_content() == "live"
    assert page.errors == []
