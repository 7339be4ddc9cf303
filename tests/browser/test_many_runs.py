"""The overview of 500 runs (issue 16, target 6) in real Chromium: every line drawn, the
legend past 100 rows still finds, toggles and shows the hovered value of any run."""
import pytest

from test_page_bugs import plot_point

pytestmark = pytest.mark.browser

RUNS, POINTS = 500, 50


def post_runs_at_heights(server):
    """Run k logs k + step / 1000: 500 flat lines, one a height, 0 to 499."""
    series = [{"model": f"run-{k:03d}", "name": "loss", "steps": list(range(POINTS)),
               "values": [k + i / 1000 for i in range(POINTS)]} for k in range(RUNS)]
    status, body = server.post_json("/api/v1/points", {"series": series})
    assert status == 200, body


# Rows of the plot (canvas pixels, between the heights of two values) that hold an
# opaque pixel: lines are drawn opaque, the grid faint.
INKED_ROWS = """([lo, hi]) => {
  const c = document.querySelector('.ov-chart canvas');
  const u = c.getContext('2d').getImageData(0, 0, c.width, c.height);
  const st = window.__pastalog.state().charts[0];
  const box = document.querySelector('.ov-chart .u-over').getBoundingClientRect();
  const cbox = c.getBoundingClientRect(), sx = c.width / cbox.width, sy = c.height / cbox.height;
  const ypx = v => (box.top - cbox.top + (1 - (v - st.y[0]) / (st.y[1] - st.y[0])) * box.height) * sy;
  const x0 = Math.ceil((box.left - cbox.left) * sx), x1 = Math.floor((box.right - cbox.left) * sx);
  const top = Math.ceil(ypx(hi)), bottom = Math.floor(ypx(lo));
  let inked = 0;
  for (let y = top; y <= bottom; y++) {
    for (let x = x0; x < x1; x++) if (u.data[(y * c.width + x) * 4 + 3] > 200) { inked++; break; }
  }
  return [inked, bottom - top + 1];
}"""


def test_500_runs_every_line_drawn_legend_finds_toggles_and_hovers(page, server):
    post_runs_at_heights(server)
    page.open()
    s = page.wait_for(f"s.drawn && s.charts[0] && s.charts[0].lines.length === {RUNS} && "
                      "s.charts[0].lines.every(l => l.drawn)", timeout=30)
    lines = s["charts"][0]["lines"]
    assert sorted(l["model"] for l in lines) == [f"run-{k:03d}" for k in range(RUNS)]
    assert all(l["drawn"]["buckets"] > 0 and l["points"] == POINTS for l in lines)
    assert len({l["color"] for l in lines}) == RUNS        # a colour each
    p = page.page
    # every height from line 0 to line 499 is inked: all 500 drawn, not just the first
    inked, rows = p.evaluate(INKED_ROWS, [0, RUNS - 1])
    assert rows > 100 and inked >= 0.97 * rows, (inked, rows)
    page.screenshot("runs-500")

    # the legend lists 100 rows and offers the rest
    entries = ".ov-side .legend-entry"
    assert p.locator(entries).count() == 100
    assert p.locator(".ov-side .legend-more-btn").text_content() == "show 400 more"
    # a run past the first 100: the search finds it, a click hides its line and shows it
    p.locator(".legend-search").fill("run-437")
    page.poll(f"document.querySelectorAll('{entries}').length === 1")
    assert p.locator(".ov-side .legend-more-btn").count() == 0
    shown = "window.__pastalog.state().charts[0].lines.filter(l => l.show).map(l => l.model)"
    assert p.evaluate(shown) == ["run-437"]
    entry = p.locator(entries, has_text="run-437")
    entry.click()
    page.poll(f"{shown}.length === 0")
    assert "off" in entry.get_attribute("class")
    entry.click()
    page.poll(f"{shown}.length === 1")
    # only its line is left: it fills the plot's height range, and hovering reads it
    page.wait_for("s.charts[0].y[0] > 400 && s.charts[0].y[1] < 500")
    x, y = plot_point(page, ".ov-chart .u-over", 0, 30)
    p.mouse.move(x, y)
    page.poll("document.querySelector('.ov-side .legend-title').textContent.startsWith('at step')")
    step = int(p.locator(".ov-side .legend-title").text_content().split()[-1].replace(",", ""))
    assert abs(step - 30) <= 1
    value = float(entry.locator(".legend-value").text_content())
    assert abs(value - (437 + step / 1000)) < 1e-3, (value, step)
    p.mouse.move(5, 5)

    # the search cleared, every run comes back; "show 400 more" lists them all
    p.locator(".legend-search").fill("")
    page.poll(f"{shown}.length === {RUNS}")
    assert p.locator(entries).count() == 100
    p.locator(".ov-side .legend-more-btn").click()
    page.poll(f"document.querySelectorAll('{entries}').length === {RUNS}")
    assert p.locator(entries).nth(RUNS - 1).locator(".legend-model").text_content() == "run-499"
    assert page.errors == []


def test_past_100_lines_one_bucket_per_4_pixels(page, server):
    """A crowd of lines asks for half the buckets (one per 4 CSS px, a candle's width):
    101 runs of 1,000 steps are drawn at a level twice as coarse as 100 runs would be."""
    def widths(n):
        series = [{"model": f"r-{n}-{k:03d}", "name": f"loss{n}", "steps": list(range(1000)),
                   "values": [k + (i % 7) / 10 for i in range(1000)]} for k in range(n)]
        status, body = server.post_json("/api/v1/points", {"series": series})
        assert status == 200, body
    widths(100)
    widths(101)
    page.open("?stat=loss100")
    s = page.wait_for("s.charts[0] && s.charts[0].lines.length === 100 && "
                      "s.charts[0].lines.every(l => l.drawn)", timeout=30)
    plot = page.page.locator(".ov-chart .u-over").bounding_box()["width"]

    def level(px):   # the server's level for steps 0..999 in round(plot / px) buckets
        n = max(64, round(plot / px))
        return next(lv for lv in range(20) if (999 >> lv) + 1 <= n)
    few = s["charts"][0]["lines"][0]["level"]
    assert few == level(2)                                           # one per 2 px
    page.open("?stat=loss101")
    s = page.wait_for("s.charts[0] && s.charts[0].lines.length === 101 && "
                      "s.charts[0].lines.every(l => l.drawn)", timeout=30)
    many = s["charts"][0]["lines"][0]["level"]
    assert many == level(4) == few + 1                               # one per 4 px
    assert page.errors == []
