"""Zoom, pan, manual scale, zoomed re-fetch, x-axis modes, the values table and CSV."""
import math

import pytest

from browser_helpers import post_points

pytestmark = pytest.mark.browser


def chart_x(page):
    return page.state()["charts"][0]["x"]


def test_wheel_zoom_pan_refetch_and_live_keep_zoom(page, server):
    n = 100_000
    post_points(server, "m1", "loss", range(n), [math.sin(i / 300.0) for i in range(n)])
    page.open()
    s = page.wait_for("s.charts[0] && s.charts[0].lines[0].drawn")
    full_level = s["charts"][0]["lines"][0]["level"]
    assert full_level > 0
    p = page.page
    over = p.locator(".ov-chart .u-over")
    box = over.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    p.mouse.move(cx, cy)
    p.keyboard.down("Control")               # ctrl + wheel zooms (a plain wheel scrolls)
    for _ in range(6):
        p.mouse.wheel(0, -300)
    p.keyboard.up("Control")
    s = page.wait_for("s.charts[0].state.x && s.charts[0].state.x[1] - s.charts[0].state.x[0] < 50000")
    # a finer level is fetched for the zoomed range (debounced)
    s = page.wait_for(f"s.charts[0].lines[0].drawn.level < {full_level}", timeout=5)
    a, b = s["charts"][0]["x"]
    # shift+drag pans: the range moves, its width stays
    p.keyboard.down("Shift")
    p.mouse.move(cx, cy)
    p.mouse.down()
    p.mouse.move(cx - 200, cy, steps=4)
    p.mouse.up()
    p.keyboard.up("Shift")
    a2, b2 = chart_x(page)
    assert a2 > a and abs((b2 - a2) - (b - a)) < 1e-6 * (b - a) + 1e-9
    # new points arrive: the zoom stays where the user put it
    post_points(server, "m1", "loss", range(n, n + 10), [5.0] * 10)
    page.wait_for(f"s.charts[0].lines[0].lastStep === {n + 9}")
    assert chart_x(page) == [a2, b2]
    # manual scale with typed values
    p.locator(".tb-scale-btn").click()
    p.locator(".tb-x0").fill("1000")
    p.locator(".tb-x1").fill("1300")
    p.locator(".tb-y0").fill("-3")
    p.locator(".tb-y1").fill("3")
    p.locator(".tb-apply").click()
    s = page.wait_for("s.charts[0].x[0] === 1000 && s.charts[0].x[1] === 1300 && s.charts[0].y[1] === 3")
    assert s["charts"][0]["y"] == [-3, 3]
    s = page.wait_for("s.charts[0].lines[0].drawn.level === 0", timeout=5)   # 300 steps: raw points now
    page.screenshot("zoomed")
    # back to automatic
    p.locator(".tb-auto").click()
    s = page.wait_for(f"s.charts[0].state.x === null && s.charts[0].x[1] === {n + 9} && s.charts[0].y[1] > 5")
    assert page.errors == []


def test_x_axis_modes_and_log_scale(page, server):
    t0 = 1_700_000_000.0
    post_points(server, "a", "loss", range(100), [1.0 + i for i in range(100)], [t0 + 10 * i for i in range(100)])
    post_points(server, "b", "loss", range(50), [2.0 + i for i in range(50)], [t0 + 5000 + 10 * i for i in range(50)])
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines.length === 2 && s.charts[0].lines.every(l => l.drawn)")
    p = page.page
    p.locator(".x-mode").select_option("wall")
    s = page.wait_for("s.charts[0].xMode === 'wall' && s.charts[0].lines.every(l => l.drawn)")
    assert abs(s["charts"][0]["x"][0] - t0) < 1 and abs(s["charts"][0]["x"][1] - (t0 + 5490)) < 1
    p.locator(".x-mode").select_option("rel")
    s = page.wait_for("s.charts[0].xMode === 'rel' && s.charts[0].x[1] < 1000")
    assert s["charts"][0]["x"][0] == 0 and abs(s["charts"][0]["x"][1] - 990) < 1
    page.poll("location.search.includes('x=rel')")
    p.locator(".tb-logy").check()
    s = page.wait_for("s.charts[0].state.logY && s.charts[0].y[0] > 0")
    page.screenshot("relative-log")
    assert page.errors == []


def test_values_table_and_csv(page, server, tmp_path):
    post_points(server, "m1", "loss", range(20), [0.5 * i for i in range(19)] + [float("nan")])
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines[0].drawn")
    p = page.page
    p.locator(".legend-table").click()
    rows = p.locator("dialog .values-table tbody tr")
    page.poll("document.querySelectorAll('dialog .values-table tbody tr').length === 20")
    assert rows.nth(3).locator("td").nth(1).text_content() == "1.5"
    assert rows.nth(19).locator("td").nth(1).text_content() == "NaN"
    with p.expect_download() as dl:
        p.locator("dialog .table-csv").click()
    path = tmp_path / "loss.csv"
    dl.value.save_as(path)
    lines = path.read_text().splitlines()
    assert lines[0] == "step,value,time" and len(lines) == 21
    assert lines[4].startswith("3,1.5,") and lines[20].startswith("19,NaN,")
    page.screenshot("table")
    p.locator("dialog .dialog-close").click()
    assert p.locator("dialog").count() == 0
    assert page.errors == []


def test_narrow_window(page, server):
    for m in ["alpha", "beta"]:
        post_points(server, m, "loss", range(100), [1.0 / (1 + i) for i in range(100)])
    page.page.set_viewport_size({"width": 420, "height": 800})
    page.open()
    s = page.wait_for("s.charts[0] && s.charts[0].lines.length === 2 && s.charts[0].lines.every(l => l.drawn)")
    width = page.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 420, f"page scrolls sideways: {width}px"
    page.screenshot("narrow")
    assert page.errors == []


def test_csv_has_every_point_past_one_page_of_the_server(page, server, tmp_path):
    n = 120_000                          # past the server's 100,000 points a page
    post_points(server, "m1", "loss", range(n), [0.5] * n)
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines[0].drawn")
    p = page.page
    p.locator(".legend-table").click()
    with p.expect_download(timeout=30_000) as dl:
        p.locator("dialog .table-csv").click()
    path = tmp_path / "all.csv"
    dl.value.save_as(path)
    lines = path.read_text().splitlines()
    assert len(lines) == n + 1 and lines[-1].startswith(f"{n - 1},0.5,")
    assert page.errors == []
