"""The overview (one statistic, every model) in real headless Chromium."""
import math
import time

import pytest

from browser_helpers import post_points

pytestmark = pytest.mark.browser


def legend_names(page):
    return page.page.locator(".ov-side .legend-model").all_text_contents()


def line(state, model, chart=0):
    return next(l for l in state["charts"][chart]["lines"] if l["model"] == model)


def test_overview_shows_every_model(page, server):
    models = ["resnet-18", "vgg16", "mlp baseline", "модель-δ"]
    for k, m in enumerate(models):
        post_points(server, m, "valid_loss", range(200), [2.0 / (1 + i / (20 + 10 * k)) for i in range(200)])
    page.open()
    s = page.wait_for("s.charts.length === 1 && s.charts[0].lines.length === 4 && "
                      "s.charts[0].lines.every(l => l.loaded && l.drawn)")
    assert sorted(l["model"] for l in s["charts"][0]["lines"]) == sorted(models)
    assert all(l["points"] == 200 and l["lastStep"] == 199 for l in s["charts"][0]["lines"])
    assert sorted(legend_names(page)) == sorted(models)
    # every model has its own colour, derived from its name
    assert len({l["color"] for l in s["charts"][0]["lines"]}) == 4
    assert s["drawn"] is True
    page.screenshot("overview")
    assert page.errors == []


def test_point_posted_while_open_appears_without_reload(page, server):
    post_points(server, "m1", "loss", range(10), [1.0] * 10)
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines.length === 1 && s.charts[0].lines[0].loaded")
    page.page.evaluate("window.__notReloaded = true")
    t0 = time.monotonic()
    post_points(server, "m1", "loss", [10], [42.0])
    s = page.wait_for("s.charts[0].lines[0].lastStep === 10 && s.charts[0].lines[0].lastValue === 42", timeout=5)
    took = time.monotonic() - t0
    assert page.page.evaluate("window.__notReloaded === true")
    assert s["charts"][0]["lines"][0]["points"] == 11
    # the x range follows the new point at the next frame drawn (the data comes first)
    page.wait_for("s.charts[0].x[1] >= 10", timeout=5)
    # a model that did not exist yet shows up too
    post_points(server, "m2", "loss", range(5), [3.0] * 5)
    page.wait_for("s.charts[0].lines.some(l => l.model === 'm2' && l.points === 5)", timeout=5)
    assert "m2" in legend_names(page)
    assert page.page.locator(".ov-side .legend-entry", has_text="m1").locator(".legend-value").text_content() == "42"
    print(f"live point visible after {took * 1000:.0f} ms (including the POST)")
    assert page.errors == []


def test_legend_toggle_hides_line_and_refits_y(page, server):
    post_points(server, "low", "loss", range(100), [1.0 + 0.01 * i for i in range(100)])
    post_points(server, "high", "loss", range(100), [50.0 + i for i in range(100)])
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines.length === 2 && s.charts[0].lines.every(l => l.drawn) "
                  "&& s.charts[0].y[1] > 140")
    page.page.locator(".ov-side .legend-entry", has_text="high").click()
    s = page.wait_for("!s.charts[0].lines.find(l => l.model === 'high').show && s.charts[0].y[1] < 10")
    assert line(s, "low")["show"] is True
    assert "off" in page.page.locator(".ov-side .legend-entry", has_text="high").get_attribute("class")
    page.poll("location.search.includes('hide=')")   # remembered in the URL
    # clicking the model name toggles all of its lines back on
    page.page.locator(".ov-side .legend-model", has_text="high").click()
    s = page.wait_for("s.charts[0].lines.every(l => l.show) && s.charts[0].y[1] > 140")
    assert page.errors == []


def hover_at_step(page, step):
    s = page.state()
    x0, x1 = s["charts"][0]["x"]
    box = page.page.locator(".ov-chart .u-over").bounding_box()
    px = box["x"] + (step - x0) / (x1 - x0) * box["width"]
    page.page.mouse.move(px, box["y"] + box["height"] / 2)


def test_hover_shows_every_value_at_step(page, server):
    post_points(server, "a", "loss", range(100), [float(i) for i in range(100)])
    post_points(server, "b", "loss", range(100), [2.0 * i for i in range(100)])
    post_points(server, "c", "loss", range(0, 100, 2), [1000.0 + i for i in range(0, 100, 2)])
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines.length === 3 && s.charts[0].lines.every(l => l.drawn)")
    hover_at_step(page, 40)
    header = page.page.locator(".ov-side .legend-title")
    page.poll("document.querySelector('.ov-side .legend-title').textContent.startsWith('at ')")
    text = header.text_content()
    assert text.startswith("at step "), text
    step = int(text.split()[-1].replace(",", ""))
    assert abs(step - 40) <= 1
    values = {}
    for entry in page.page.locator(".ov-side .legend-entry").all():
        values[entry.locator(".legend-model").text_content()] = entry.locator(".legend-value").text_content()
    a, b = float(values["a"]), float(values["b"])
    assert abs(a - 40) <= 1 and b == 2 * a
    assert abs(float(values["c"]) - 1040) <= 2
    page.screenshot("overview-hover")
    page.page.mouse.move(5, 5)
    page.poll("document.querySelector('.ov-side .legend-title').textContent === 'latest'")
    assert page.errors == []


def test_million_points_render_with_their_single_spike(page, server):
    n, spike_at = 1_000_000, 612_345
    batch = 250_000
    for start in range(0, n, batch):
        steps = list(range(start, start + batch))
        values = [0.5 + 0.4 * math.sin(i / 5000.0) for i in steps]
        if start <= spike_at < start + batch:
            values[spike_at - start] = 100.0
        post_points(server, "big", "loss", steps, values)
    t0 = time.monotonic()
    page.open()
    s = page.wait_for("s.charts[0] && s.charts[0].lines.length === 1 && s.charts[0].lines[0].drawn", timeout=20)
    took = time.monotonic() - t0
    ln = s["charts"][0]["lines"][0]
    assert ln["points"] == n
    assert ln["level"] > 0 and ln["buckets"] <= 4096      # aggregates, not a million samples
    assert ln["drawn"]["max"] == 100.0                    # the spike is in what is drawn
    assert s["charts"][0]["y"][1] >= 100.0                # and inside the y range
    assert s["charts"][0]["y"][0] <= 0.11
    # the spike's pixels: the series colour in the top tenth of the plot, near its x
    found = page.page.evaluate("""(() => {
        const s = window.__pastalog.state().charts[0];
        const c = document.querySelector('.ov-chart canvas');
        const ctx = c.getContext('2d');
        const {width, height} = c;
        const top = ctx.getImageData(0, 0, width, Math.round(height * 0.3)).data;
        let cols = new Set();
        for (let i = 0; i < top.length; i += 4) {
          const [r, g, b, a] = [top[i], top[i+1], top[i+2], top[i+3]];
          if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) cols.add((i / 4) % width);
        }
        return [...cols];
    })()""")
    assert found, "no coloured pixels near the top of the plot: the spike is not drawn"
    assert max(found) - min(found) < 30                 # one narrow spike, not a band
    page.screenshot("overview-million")
    print(f"1,000,000 points drawn {took * 1000:.0f} ms after navigation")
    assert page.errors == []


def test_large_batch_while_open_arrives_as_refresh_and_catches_up(page, server):
    post_points(server, "m1", "loss", range(100), [1.0] * 100)
    page.open()
    page.wait_for("s.charts[0] && s.charts[0].lines[0].drawn")
    n = 50_000                           # far past the hub's per-event point limit
    values = [1.0] * n
    values[30_000] = 77.0
    post_points(server, "m1", "loss", range(100, 100 + n), values)
    s = page.wait_for(f"s.charts[0].lines[0].points === {100 + n} && s.charts[0].y[1] >= 77", timeout=10)
    ln = s["charts"][0]["lines"][0]
    assert ln["lastStep"] == 100 + n - 1 and ln["drawn"]["max"] == 77.0
    assert page.errors == []
