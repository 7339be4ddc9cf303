"""Issue #12's nine numbered bugs, each reproduced in real Chromium."""
import math
import re
import time

import pytest

from browser_helpers import post_points
from conftest import Page

pytestmark = pytest.mark.browser


def plot_point(page, selector, chart, step, frac_y=0.5):
    """Page coordinates of x = step (chart's x units) at a height fraction of the plot."""
    box = page.page.locator(selector).bounding_box()
    x0, x1 = page.state()["charts"][chart]["x"]
    return box["x"] + (step - x0) / (x1 - x0) * box["width"], box["y"] + box["height"] * frac_y


def value_y(page, selector, chart, value):
    box = page.page.locator(selector).bounding_box()
    y0, y1 = page.state()["charts"][chart]["y"]
    return box["y"] + (1 - (value - y0) / (y1 - y0)) * box["height"]


# 1 ---------------------------------------------------------------------------------
def test_hover_legend_keeps_names_emphasises_series_and_sorts_by_value(page, server):
    for m, v in (("alpha", 1.0), ("bravo", 5.0), ("charlie", 9.0)):
        post_points(server, m, "loss", range(100), [v] * 100)
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines.length === 3 && s.charts[0].lines.every(l => l.drawn)")
    p = page.page
    x, _ = plot_point(page, ".ov-chart .u-over", 0, 50)
    p.mouse.move(x, value_y(page, ".ov-chart .u-over", 0, 5.0))
    page.poll("document.querySelector('.ov-side .legend-title').textContent.includes('50')")
    names = p.locator(".ov-side .legend-model")
    assert sorted(names.all_text_contents()) == ["alpha", "bravo", "charlie"]
    assert all(names.nth(i).bounding_box()["width"] > 25 for i in range(3))
    # the series under the cursor is emphasised, the others dimmed, in legend and chart
    page.poll("document.querySelectorAll('.ov-side .legend-entry.emph').length === 1")
    assert p.locator(".ov-side .legend-entry.emph .legend-model").text_content() == "bravo"
    assert p.locator(".ov-side .legend-entry.dim").count() == 2
    assert page.state()["charts"][0]["focus"] == '["bravo","loss"]'
    # sortable by value while hovering
    p.locator(".ov-side .legend-sort").click()
    p.mouse.move(x + 2, value_y(page, ".ov-chart .u-over", 0, 5.0))
    page.poll("document.querySelector('.ov-side .legend-model').textContent === 'charlie'")
    assert names.all_text_contents() == ["charlie", "bravo", "alpha"]
    assert page.errors == []


# 2 ---------------------------------------------------------------------------------
def detail_with_cards(server, n_cards=8, n=1000):
    for k in range(n_cards):
        post_points(server, "m", f"g{k}/a", range(n), [math.sin(i / 50) + k for i in range(n)])


def test_plain_wheel_scrolls_ctrl_wheel_zooms_never_past_the_data(page, server):
    detail_with_cards(server)
    page.open("?view=detail&model=m")
    page.wait_for("s.charts.length === 8 && s.charts.every(c => c.lines.every(l => l.drawn))")
    p = page.page
    x, y = plot_point(page, ".chart-card >> nth=0 >> .u-over", 0, 500)
    p.mouse.move(x, y)
    for _ in range(5):
        p.mouse.wheel(0, 120)
    page.poll("window.scrollY > 100")
    assert page.state()["charts"][0]["state"]["x"] is None      # no zoom

    def settled():   # Chromium scrolls smoothly: wait until the page stops moving
        last = None
        for _ in range(60):
            now = p.evaluate("window.scrollY")
            if now == last:
                return now
            last = now
            time.sleep(0.15)
        return last

    settled()
    p.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    assert settled() == 0
    x, y = plot_point(page, ".chart-card >> nth=0 >> .u-over", 0, 500)
    p.mouse.move(x, y)
    p.keyboard.down("Control")
    for _ in range(3):
        p.mouse.wheel(0, -200)
    p.keyboard.up("Control")
    s = page.wait_for("s.charts[0].state.x && s.charts[0].state.x[1] - s.charts[0].state.x[0] < 600")
    assert p.evaluate("window.scrollY") == 0
    # zooming out stops at the data
    p.keyboard.down("Control")
    for _ in range(12):
        p.mouse.wheel(0, 400)
    p.keyboard.up("Control")
    s = page.wait_for("s.charts[0].state.x === null")         # back to the whole, no further
    a, b = s["charts"][0]["x"]
    assert a >= 0 and b <= 999, (a, b)
    assert page.errors == []


# 3 ---------------------------------------------------------------------------------
LONG = ["run-" + "x" * 241 + f"-seed-{k:05d}" for k in range(3)]


def test_long_names_are_shortened_in_the_middle_and_never_widen_the_page(browser, server, tmp_path):
    assert all(len(n) == 256 for n in LONG)
    long_series = "s" * 250 + "/final"
    for m in LONG:
        post_points(server, m, "loss", range(50), [1.0] * 50)
        post_points(server, m, long_series, range(50), [2.0] * 50)
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = Page(ctx.new_page(), server, tmp_path)
    try:
        page.open("?stats=" + "%5B%22loss%22%5D")
        page.wait_for("s.charts[0] && s.charts[0].lines.every(l => l.drawn)")
        p = page.page
        assert p.evaluate("document.documentElement.scrollWidth") <= 1400
        texts = p.locator(".ov-side .legend-model").all_text_contents()
        assert all("…" in t and len(t) < 80 for t in texts), texts
        assert {t[-6:] for t in texts} == {"-00000", "-00001", "-00002"}        # the end is kept
        assert sorted(p.locator(".ov-side .legend-model").evaluate_all("els => els.map(e => e.title)")) == LONG
        chips = p.locator(".stats-bar .chip")
        assert all(chips.nth(i).bounding_box()["x"] + chips.nth(i).bounding_box()["width"] <= 1400
                   for i in range(chips.count()))
        assert p.locator(".model-select").bounding_box()["width"] < 400
        page.page.screenshot(path=str(tmp_path / "long-overview.png"))
        page.open("?view=detail&model=" + LONG[1])
        page.wait_for("s.charts.length === 2 && s.charts.every(c => c.lines.every(l => l.drawn))")
        assert p.evaluate("document.documentElement.scrollWidth") <= 1400
        for title in p.locator(".chart-title").all():
            assert title.bounding_box()["height"] < 40
            assert title.get_attribute("title").endswith(("loss", "s"))
        assert p.locator(".detail-title").bounding_box()["height"] < 60
        assert page.errors == []
    finally:
        ctx.close()


# 4 ---------------------------------------------------------------------------------
def test_smoothed_raw_line_has_its_series_colour(page, server):
    post_points(server, "m", "conv1/mean", range(200), [math.sin(i / 9) for i in range(200)])
    post_points(server, "m", "conv1/std", range(200), [2 + math.cos(i / 7) for i in range(200)])
    page.open("?view=detail&model=m")
    page.wait_for("s.charts.length === 1 && s.charts[0].lines.every(l => l.drawn)")
    page.page.locator(".tb-mode").select_option("smooth")
    s = page.wait_for("s.charts[0].lines.every(l => l.drawn && l.drawn.mode === 'smooth' && l.underColor)")
    lines = s["charts"][0]["lines"]
    hue = lambda c: re.match(r"hsl\((\d+)", c).group(1)
    assert all(hue(l["underColor"]) == hue(l["color"]) for l in lines)
    assert lines[0]["underColor"] != lines[1]["underColor"]
    assert page.errors == []


# 5 ---------------------------------------------------------------------------------
def test_scale_fixes_only_the_fields_changed_and_takes_dates_in_wall_mode(page, server):
    t0 = 1_700_000_000.0
    post_points(server, "m1", "loss", range(100), [1.0] * 50 + [100.0] + [1.0] * 49,
                [t0 + i for i in range(100)])
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines[0].drawn")
    p = page.page
    p.locator(".tb-scale-btn").click()
    assert p.locator(".tb-y0").input_value() == "" and p.locator(".tb-y1").input_value() == ""
    p.locator(".tb-x0").fill("60")
    p.locator(".tb-x1").fill("90")
    p.locator(".tb-apply").click()
    s = page.wait_for("s.charts[0].x[0] === 60 && s.charts[0].x[1] === 90")
    assert s["charts"][0]["state"]["y"] is None
    s = page.wait_for("s.charts[0].y[1] < 2")                   # y follows what is visible
    # only y max typed: y min stays automatic
    p.locator(".tb-y1").fill("5")
    p.locator(".tb-apply").click()
    s = page.wait_for("s.charts[0].y[1] === 5")
    assert s["charts"][0]["y"][0] < 1
    # the half-fixed y range survives a reload (it is in the URL)
    time.sleep(0.3)
    p.reload()
    s = page.wait_for("s.charts[0] && s.charts[0].lines[0] && s.charts[0].lines[0].drawn && s.charts[0].y[1] === 5")
    assert s["charts"][0]["state"]["y"] == [None, 5] and s["charts"][0]["y"][0] < 1
    p.locator(".tb-scale-btn").click()
    # wall time: the x fields show and take dates
    p.locator(".tb-auto").click()
    p.locator(".x-mode").select_option("wall")
    page.wait_for("s.charts[0].xMode === 'wall' && s.charts[0].lines[0].drawn")
    if not p.locator(".tb-scale").is_visible():
        p.locator(".tb-scale-btn").click()
    ph = p.locator(".tb-x0").get_attribute("placeholder")
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", ph), ph
    box = p.locator(".tb-x0").bounding_box()
    assert box["width"] >= 140
    start = p.evaluate(f"(() => {{ const d = new Date({t0 * 1000 + 10_000}); const z = n => String(n).padStart(2, '0');"
                       "return `${d.getFullYear()}-${z(d.getMonth()+1)}-${z(d.getDate())} ${z(d.getHours())}:${z(d.getMinutes())}:${z(d.getSeconds())}`; })()")
    p.locator(".tb-x0").fill(start)
    p.locator(".tb-apply").click()
    s = page.wait_for(f"s.charts[0].x[0] === {t0 + 10}")
    assert s["charts"][0]["x"][1] == t0 + 99
    assert page.errors == []


# 6 ---------------------------------------------------------------------------------
def test_tick_labels_distinguish_adjacent_ticks_at_deep_zoom(page, server):
    post_points(server, "m1", "loss", range(339_500, 339_700), [1.0] * 200)
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines[0].drawn")
    p = page.page
    p.locator(".tb-scale-btn").click()
    p.locator(".tb-x0").fill("339564")
    p.locator(".tb-x1").fill("339569")
    p.locator(".tb-apply").click()
    s = page.wait_for("s.charts[0].x[0] === 339564 && s.charts[0].xTicks && s.charts[0].xTicks.length > 2")
    ticks = s["charts"][0]["xTicks"]
    assert all(a != b for a, b in zip(ticks, ticks[1:])), ticks
    assert page.errors == []


# 7 ---------------------------------------------------------------------------------
def test_nan_hover_reads_nan_and_the_point_count(page, server):
    post_points(server, "m1", "loss", list(range(40)) + [20], [1.0] * 20 + [math.nan] + [1.0] * 19 + [math.nan])
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines[0].drawn")
    x, y = plot_point(page, ".ov-chart .u-over", 0, 20)
    page.page.mouse.move(x, y)
    page.poll("document.querySelector('.ov-side .legend-title').textContent.includes('20')")
    assert page.page.locator(".ov-side .legend-value").text_content() == "NaN (2 points)"
    assert page.errors == []


# 8 ---------------------------------------------------------------------------------
def test_no_disconnected_badge_behind_the_token_prompt(browser, make_server, tmp_path):
    srv = make_server(extra_args=["--token", "hunter2"]).start()
    ctx = browser.new_context(viewport={"width": 1100, "height": 700})
    page = Page(ctx.new_page(), srv, tmp_path)
    try:
        page.page.goto(srv.url + "/")
        page.page.wait_for_selector("dialog.token-dialog input.token-input", timeout=10_000)
        time.sleep(1.5)                  # long enough for the socket to be refused and retried
        badge = page.page.locator(".live-badge")
        assert "disconnected" not in badge.text_content()
        assert badge.get_attribute("data-state") == "locked"
        assert "token" in badge.text_content()
        page.page.fill("input.token-input", "hunter2")
        page.page.click("dialog.token-dialog button[type=submit]")
        page.wait_for("s.live === 'live'", timeout=15)
        page.poll("document.querySelector('.live-badge').dataset.state === 'live'")
    finally:
        ctx.close()


# 9 ---------------------------------------------------------------------------------
def test_toolbars_keep_their_size(page, server):
    for name in ("conv1/mean", "conv1/std"):
        post_points(server, "m", name, range(100), [1.0] * 100)
    page.open("?view=detail&model=m")
    page.wait_for("s.charts.length === 1 && s.charts[0].lines.every(l => l.drawn)")
    p = page.page
    tb = p.locator(".chart-card .chart-toolbar")
    plot = p.locator(".chart-card .chart-plot")
    before, plot_before = tb.bounding_box(), plot.bounding_box()
    assert before["height"] < 32
    p.locator(".tb-mode").select_option("smooth")
    page.wait_for("s.charts[0].state.mode === 'smooth'")
    assert tb.bounding_box()["height"] == before["height"]
    p.locator(".tb-scale-btn").click()
    assert p.locator(".tb-scale").is_visible()
    after = tb.bounding_box()
    assert (after["x"], after["y"], after["height"]) == (before["x"], before["y"], before["height"])
    assert plot.bounding_box()["y"] == plot_before["y"]
    assert page.errors == []
