"""Issue #12's features in real Chromium: model search and show-only/show-all with 200
runs, click on a line for its values, "ignore outliers", linked detail cards, theme."""
import json
import math

import pytest

from browser_helpers import post_points
from test_page_bugs import plot_point, value_y

pytestmark = pytest.mark.browser


def post_many_runs(server, n=200, points=20):
    series = [{"model": f"run-{k:03d}", "name": "loss", "steps": list(range(points)),
               "values": [1.0 + k / 100 + 0.01 * i for i in range(points)]} for k in range(n)]
    status, body = server.post_json("/api/v1/points", {"series": series})
    assert status == 200, body


def test_search_models_and_show_only_show_all_with_200_runs(page, server):
    post_many_runs(server)
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines.length === 200 && s.charts[0].lines.every(l => l.loaded)")
    p = page.page
    visible = "document.querySelectorAll('.ov-side .legend-entry:not([hidden])').length"
    shown = "window.__pastalog.state().charts[0].lines.filter(l => l.show).length"
    p.locator(".legend-search").fill("run-137")
    page.poll(f"{visible} === 1")
    assert p.locator(".ov-side .legend-entry:not([hidden]) .legend-model").text_content() == "run-137"
    assert p.evaluate(shown) == 1
    p.locator(".legend-search").fill("/run-1[0-4]0$/")
    page.poll(f"{visible} === 5")
    assert p.evaluate(shown) == 5
    p.locator(".legend-search").fill("")
    # past 100 rows the legend lists the first 100 and a button for the rest
    page.poll(f"{visible} === 100")
    assert p.locator(".ov-side .legend-more-btn").text_content() == "show 100 more"
    p.locator(".ov-side .legend-more-btn").click()
    page.poll(f"{visible} === 200")
    assert p.locator(".ov-side .legend-more-btn").count() == 0
    # show only one, then all again
    p.locator(".ov-side .legend-entry", has_text="run-042").locator(".legend-only").click()
    page.poll(f"{shown} === 1")
    assert page.state()["charts"][0]["lines"][42]["show"] is True
    p.locator(".legend-show-all").click()
    page.poll(f"{shown} === 200")
    page.screenshot("runs-200")
    assert page.errors == []


def test_click_on_a_line_opens_its_values_at_that_step(page, server):
    post_points(server, "low", "loss", range(300), [1.0] * 300)
    post_points(server, "high", "loss", range(300), [5.0 + i / 1000 for i in range(300)])
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines.length === 2 && s.charts[0].lines.every(l => l.drawn)")
    p = page.page
    x, _ = plot_point(page, ".ov-chart .u-over", 0, 150)
    p.mouse.move(x, value_y(page, ".ov-chart .u-over", 0, 5.15))
    page.wait_for("s.charts[0].focus === '[\"high\",\"loss\"]'")
    p.mouse.down()
    p.mouse.up()
    page.poll("document.querySelector('dialog .values-table tr.at')")
    assert "high" in p.locator("dialog h2").text_content()
    step = int(p.locator("dialog tr.at td").nth(0).text_content().replace(",", ""))
    assert abs(step - 150) <= 3
    assert p.locator("dialog tr.at td").nth(1).text_content().startswith("5.1")
    assert page.errors == []


def test_ignore_outliers_gives_a_robust_y_range(page, server):
    values = [1.0 + 0.1 * math.sin(i / 10) for i in range(500)]
    values[250] = 1e6
    post_points(server, "m1", "loss", range(500), values)
    page.open()
    s = page.wait_for("s.charts[0] && s.charts[0].lines[0].drawn")
    assert s["charts"][0]["y"][1] >= 1e6                     # the spike flattens the chart
    page.page.locator(".tb-robust").check()
    s = page.wait_for("s.charts[0].y[1] < 2")
    assert s["charts"][0]["y"][0] < 0.9 and s["charts"][0]["state"]["robust"] is True
    page.page.locator(".tb-robust").uncheck()
    page.wait_for("s.charts[0].y[1] >= 1e6")
    assert page.errors == []


def test_detail_cards_link_cursor_and_x_zoom(page, server):
    for name in ("a/x", "b/x", "c/x"):
        post_points(server, "m", name, range(1000), [float(i) for i in range(1000)])
    page.open("?view=detail&model=m")
    page.wait_for("s.charts.length === 3 && s.charts.every(c => c.lines.every(l => l.drawn))")
    p = page.page
    p.locator(".detail-link-toggle").check()
    first = p.locator(".chart-card").nth(0)
    first.locator(".tb-scale-btn").click()
    first.locator(".tb-x0").fill("200")
    first.locator(".tb-x1").fill("400")
    first.locator(".tb-apply").click()
    s = page.wait_for("s.charts.every(c => c.x[0] === 200 && c.x[1] === 400)")
    # hovering one card moves the cursor (and the legend) of the others
    x, y = plot_point(page, ".chart-card >> nth=0 >> .u-over", 0, 300)
    p.mouse.move(x, y)
    page.poll("[...document.querySelectorAll('.chart-card .legend-title')].every(e => e.textContent.startsWith('at step'))")
    # unlinked: the cards zoom on their own
    p.locator(".detail-link-toggle").uncheck()
    first.locator(".tb-auto").click()
    s = page.wait_for("s.charts[0].state.x === null")
    assert s["charts"][1]["x"] == [200, 400]
    assert page.errors == []


def test_theme_switch_is_remembered(page, server):
    post_points(server, "m1", "loss", range(10), [1.0] * 10)
    page.open()
    p = page.page
    bg = "getComputedStyle(document.body).backgroundColor"
    p.locator(".theme-select").select_option("dark")
    page.poll(f"{bg} === 'rgb(18, 21, 27)'")
    page.wait_for("s.charts[0] && s.charts[0].lines[0].drawn")
    p.reload()
    page.wait_for("s.live === 'live'")
    assert p.evaluate(bg) == "rgb(18, 21, 27)"
    assert p.locator(".theme-select").input_value() == "dark"
    p.locator(".theme-select").select_option("light")
    page.poll(f"{bg} === 'rgb(247, 248, 250)'")
    assert page.errors == []
