"""Histograms in the detail view (issue 15), in real Chromium on a real server: the
quantiles of static/quantiles.js against numpy's percentiles of the raw values, both
views drawn, live records, the hover readout, the toggle kept, NaN/inf counts, names
as text."""
import json

import numpy as np
import pytest

from browser_helpers import histogram_record, log_histograms, post_histograms, post_points

pytestmark = pytest.mark.browser

PERCENTS = [0, 7, 16, 31, 50, 69, 84, 93, 100]


def drifting(n_records=200, step_every=10, size=5000, seed=0):
    """Records of a bimodal distribution whose modes drift together, with raw values."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_records):
        t = i / max(1, n_records - 1)
        v = np.concatenate([rng.normal(-0.5 + t, 0.2 + 0.3 * t, size * 6 // 10),
                            rng.normal(1.5 - t, 0.15, size * 4 // 10)])
        out.append((i * step_every, v))
    return out


def post_drifting(server, model, name, **kw):
    """Log drifting() records with the real client; returns the raw values."""
    data = drifting(**kw)
    log_histograms(server, model, name, data)
    return data


def hist_state(page, name=None):
    hs = page.state()["histograms"]
    return hs if name is None else next((h for h in hs if h["name"] == name), None)


def wait_drawn(page, name, records, kind):
    page.wait_for(f"s.histograms.some(h => h.name === {json.dumps(name)} && h.records === {records} && "
                  f"h.view.kind === '{kind}' && h.view.drawCount > 0)")
    return hist_state(page, name)


def card(page, name):
    return page.page.locator(f".hist-card[data-name={json.dumps(name)}]")


def dist_inked(page, name):
    """Pixels drawn on the distribution card's uPlot canvas."""
    return card(page, name).locator(".hist-dist canvas").evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }")


QUANTILES_JS = """async (cases) => {
  const { quantiles, PERCENTS } = await import('/static/quantiles.js');
  const { parseRecord } = await import('/static/hist-data.js');
  const out = [];
  for (const c of cases) {
    const direct = Array.from(quantiles(c.edges, c.counts, PERCENTS.map(p => p / 100), c.min, c.max));
    out.push({ direct, parsed: Array.from(parseRecord({ step: 0, ...c }).q) });
  }
  const r = await fetch('/api/v1/histograms?model=q&name=logged').then(x => x.json());
  return { cases: out, stored: r.records.map(x => ({ edges: x.edges, q: Array.from(parseRecord(x).q) })),
           percents: Array.from(PERCENTS) };
}"""


def test_quantiles_equal_numpy_within_a_bin_width(page, server):
    rng = np.random.default_rng(7)
    raw = {
        "normal": rng.normal(3.0, 2.0, 20000),
        "bimodal": np.concatenate([rng.normal(-4, 0.5, 7000), rng.normal(6, 1.5, 3000)]),
        "skewed": rng.exponential(0.01, 50000),
        "small": rng.uniform(-1, 1, 37),
        "constant": np.full(100, 2.5),
        "with_nan_inf": np.concatenate([rng.normal(0, 1, 5000), [np.nan] * 30, [np.inf] * 3, [-np.inf]]),
    }
    cases = [histogram_record(v, 0) for v in raw.values()]
    # the same values logged by the real client, binned by it, read back from the server
    log_histograms(server, "q", "logged", list(enumerate(raw.values())))
    page.page.goto(server.url + "/")
    page.poll("!!window.__pastalog")
    got = page.page.evaluate(QUANTILES_JS, cases)
    assert got["percents"] == PERCENTS
    problems = []
    for (label, v), rec, mine, stored in zip(raw.items(), cases, got["cases"], got["stored"]):
        finite = v[np.isfinite(v)]
        want = np.percentile(finite, PERCENTS)
        for how, edges, q in (("quantiles()", rec["edges"], mine["direct"]), ("parseRecord", rec["edges"], mine["parsed"]),
                              ("logged", stored["edges"], stored["q"])):
            width = max(np.diff(edges))
            for p, a, b in zip(PERCENTS, q, want):
                if not abs(a - b) <= width:
                    problems.append(f"{label} {how} {p}%: {a} vs numpy {b} (bin width {width})")
            assert q[0] == finite.min() and q[-1] == finite.max(), (label, how)
    assert problems == [], "\n".join(problems)
    assert page.errors == []


def test_both_views_draw_toggle_is_kept_and_hover_shows_the_step(page, server):
    post_points(server, "m", "loss", range(10), [1.0] * 10)
    data = post_drifting(server, "m", "layer1/W")
    post_drifting(server, "m", "layer2/W", n_records=20, seed=1)
    page.open("?view=detail&model=m")
    s = wait_drawn(page, "layer1/W", 200, "distribution")
    assert s["total"] == 200 and s["steps"][0] == 0 and s["steps"][-1] == 1990
    # nine quantile series, four nested bands, something drawn
    assert s["view"]["series"] == len(PERCENTS) and s["view"]["bands"] == 4
    assert dist_inked(page, "layer1/W") > 1000
    assert s["view"]["x"] == [0, 1990]
    # the readout shows the latest step until hovered
    assert "step 1,990" in s["readout"] and "median" in s["readout"]
    page.screenshot("hist-distribution")

    # hover over step 1000: the readout names it and its quantiles
    p = page.page
    box = card(page, "layer1/W").locator(".u-over").bounding_box()
    x0, x1 = s["view"]["x"]
    p.mouse.move(box["x"] + (1000 - x0) / (x1 - x0) * box["width"], box["y"] + box["height"] / 2)
    page.poll("document.querySelector('.hist-card[data-name=\"layer1/W\"] .hist-readout').textContent.includes('step 1,000')")
    median = card(page, "layer1/W").locator(".hist-median").text_content()
    want = np.percentile(data[100][1], 50)
    assert median.startswith("median ") and abs(float(median.split()[1]) - want) < 0.1, (median, want)

    # toggle to the heatmap
    card(page, "layer1/W").locator(".hist-mode-histograms").click()
    s = wait_drawn(page, "layer1/W", 200, "heatmap")
    assert s["inked"] > 1000
    assert card(page, "layer1/W").locator(".hist-mode-histograms").get_attribute("aria-pressed") == "true"
    page.screenshot("hist-heatmap")
    # hover a cell: step, bin range and count
    pl = s["view"]["plot"]
    cbox = card(page, "layer1/W").locator(".hist-overlay").bounding_box()
    sx = cbox["x"] + pl["left"] + (500 - pl["x"][0]) / (pl["x"][1] - pl["x"][0]) * pl["width"]
    value = float(np.median(data[50][1]))
    sy = cbox["y"] + pl["top"] + (1 - (value - pl["y"][0]) / (pl["y"][1] - pl["y"][0])) * pl["height"]
    p.mouse.move(sx, sy)
    page.poll("document.querySelector('.hist-card[data-name=\"layer1/W\"] .hist-readout').textContent.includes('step 500')")
    text = card(page, "layer1/W").locator(".hist-readout").text_content()
    rec = histogram_record(data[50][1], 500)
    lo, hi = [float(x) for x in text.split("[")[1].split(")")[0].split(", ")]
    assert lo <= value <= hi and hi - lo == pytest.approx(rec["edges"][1] - rec["edges"][0], rel=1e-3), text
    k = int(np.searchsorted(rec["edges"], value, side="right")) - 1
    assert f"count {int(rec['counts'][k]):,} of 5,000" in text, text

    # kept on reload, per name: the other name still shows its distribution
    p.reload()
    page.poll("window.__pastalog && window.__pastalog.state().live === 'live'")
    wait_drawn(page, "layer1/W", 200, "heatmap")
    wait_drawn(page, "layer2/W", 20, "distribution")
    card(page, "layer1/W").locator(".hist-mode-distribution").click()
    wait_drawn(page, "layer1/W", 200, "distribution")
    assert p.evaluate("localStorage.getItem('pastalog.histView')") == "{}"
    assert page.errors == []


def test_live_record_and_new_name_appear_without_reload(page, server):
    post_drifting(server, "m", "w", n_records=5)
    page.open("?view=detail&model=m")
    wait_drawn(page, "w", 5, "distribution")
    draws = hist_state(page, "w")["view"]["drawCount"]
    rng = np.random.default_rng(3)
    post_histograms(server, "m", "w", [histogram_record(rng.normal(5, 1, 1000), 100)])
    s = page.wait_for(f"s.histograms[0].records === 6 && s.histograms[0].view.drawCount > {draws}")
    h = s["histograms"][0]
    assert h["steps"][-1] == 100
    assert "step 100" in h["readout"]
    # the y range took the new record in
    assert h["view"]["y"][1] > 5
    # a name the page has not seen: a card of its own, live
    post_histograms(server, "m", "grad/<b>", [histogram_record(rng.normal(0, 1, 100), 0)])
    wait_drawn(page, "grad/<b>", 1, "distribution")
    assert [h["name"] for h in hist_state(page)] == ["grad/<b>", "w"]
    # another model's record changes nothing here
    post_histograms(server, "other", "w", [histogram_record(rng.normal(0, 1, 100), 7)])
    post_points(server, "m", "loss", [0], [1.0])
    page.wait_for("s.charts.length === 1")
    assert hist_state(page, "w")["records"] == 6
    assert page.errors == []


def test_nan_and_inf_counts_shown_when_not_zero(page, server):
    rng = np.random.default_rng(5)
    clean = rng.normal(0, 1, 1000)
    dirty = np.concatenate([clean, [np.nan] * 12, [np.inf] * 3])
    log_histograms(server, "m", "clean", [(0, clean), (1, clean)])
    log_histograms(server, "m", "dirty", [(0, clean), (1, dirty), (2, np.full(4, np.nan))])
    page.open("?view=detail&model=m")
    wait_drawn(page, "clean", 2, "distribution")
    wait_drawn(page, "dirty", 3, "distribution")
    assert card(page, "clean").locator(".hist-nonfinite").is_hidden()
    note = card(page, "dirty").locator(".hist-nonfinite")
    assert note.is_visible() and note.text_content() == "not binned: 16 NaN · 3 +∞"
    # the latest record has no finite value at all: said so, nothing breaks
    readout = card(page, "dirty").locator(".hist-readout").text_content()
    assert "step 2" in readout and "no finite values" in readout and "4 NaN" in readout
    card(page, "dirty").locator(".hist-mode-histograms").click()
    s = wait_drawn(page, "dirty", 3, "heatmap")
    assert s["inked"] > 100
    assert page.errors == []


def test_a_name_with_markup_stays_text(page, server):
    name = '<img src=x onerror="window.__pwned=1">/W'
    post_histograms(server, "m", name, [histogram_record(np.arange(10.0), 0)])
    page.open("?view=detail&model=m")
    wait_drawn(page, name, 1, "distribution")
    title = page.page.locator(".hist-title")
    assert title.text_content() == name and title.get_attribute("title") == name
    assert page.page.locator(".histograms img").count() == 0
    card(page, name).locator(".hist-mode-histograms").click()
    wait_drawn(page, name, 1, "heatmap")
    assert json.loads(page.page.evaluate("localStorage.getItem('pastalog.histView')")) == {name: "histograms"}
    assert page.page.evaluate("window.__pwned") is None
    assert page.errors == []


def test_delete_a_histogram_name_keeps_the_rest(page, server):
    post_points(server, "m", "loss", range(10), [1.0] * 10)
    log_histograms(server, "m", "a/W", [(0, np.arange(10.0))])
    log_histograms(server, "m", "b/W", [(0, np.arange(10.0))])
    page.open("?view=detail&model=m")
    wait_drawn(page, "a/W", 1, "distribution")
    wait_drawn(page, "b/W", 1, "distribution")
    page.wait_for("s.charts.length === 1 && s.charts[0].lines[0].drawn")
    p = page.page
    card(page, "a/W").locator(".hist-delete").click()
    assert "a/W" in p.locator("dialog .confirm-message").text_content()
    p.locator("dialog .confirm-cancel").click()
    assert len(hist_state(page)) == 2
    card(page, "a/W").locator(".hist-delete").click()
    p.locator("dialog .confirm-ok").click()
    s = page.wait_for("s.histograms.length === 1")
    assert s["histograms"][0]["name"] == "b/W"
    # the store forgot it; the model's series and other name stay
    assert server.get_json("/api/v1/histograms?model=m&name=a%2FW")[0] == 404
    assert server.get_json("/api/v1/histograms?model=m&name=b%2FW")[0] == 200
    assert s["charts"][0]["lines"][0]["points"] == 10 and s["models"] == ["m"]
    assert page.errors == []


def test_zoom_fetches_the_steps_zoomed_to_and_double_click_goes_back(page, server):
    post_drifting(server, "m", "w", n_records=400, size=500)   # steps 0..3990, thinned to 200
    page.open("?view=detail&model=m")
    s = wait_drawn(page, "w", 200, "distribution")
    assert s["total"] == 400
    p = page.page
    box = card(page, "w").locator(".u-over").bounding_box()
    x0, x1 = s["view"]["x"]
    at = lambda step: box["x"] + (step - x0) / (x1 - x0) * box["width"]  # noqa: E731
    y = box["y"] + box["height"] / 2
    p.mouse.move(at(1000), y)
    p.mouse.down()
    p.mouse.move(at(1500), y, steps=4)
    p.mouse.up()
    # every record in the range now, not the thinned ones
    s = page.wait_for("s.histograms[0].range && s.histograms[0].loaded && s.histograms[0].records > 40 && "
                      "s.histograms[0].steps.every(x => x >= s.histograms[0].range[0] && x <= s.histograms[0].range[1])")
    h = s["histograms"][0]
    lo, hi = h["range"]
    assert abs(lo - 1000) < 30 and abs(hi - 1500) < 30, h["range"]
    assert h["steps"] == [x for x in range(0, 4000, 10) if lo <= x <= hi]
    assert h["view"]["x"] == [lo, hi]
    # the heatmap shows the same steps
    card(page, "w").locator(".hist-mode-histograms").click()
    s = wait_drawn(page, "w", len(h["steps"]), "heatmap")
    assert s["view"]["plot"]["x"] == [lo, hi]
    # a drag there zooms further, a double-click goes back to all steps
    cbox = card(page, "w").locator(".hist-overlay").bounding_box()
    pl = s["view"]["plot"]
    hx = lambda step: cbox["x"] + pl["left"] + (step - lo) / (hi - lo) * pl["width"]  # noqa: E731
    p.mouse.move(hx(1200), cbox["y"] + 50)
    p.mouse.down()
    p.mouse.move(hx(1300), cbox["y"] + 50, steps=3)
    p.mouse.up()
    s = page.wait_for("s.histograms[0].range && s.histograms[0].range[1] - s.histograms[0].range[0] < 150 && "
                      "s.histograms[0].loaded && s.histograms[0].steps.every(x => x >= s.histograms[0].range[0])")
    assert 5 <= s["histograms"][0]["records"] <= 15
    p.mouse.dblclick(hx(1250), cbox["y"] + 50)
    s = page.wait_for("s.histograms[0].range === null && s.histograms[0].records === 200")
    assert s["histograms"][0]["steps"][-1] == 3990
    assert page.errors == []


def test_a_long_live_stream_is_thinned_again(page, server):
    log_histograms(server, "m", "w", [(0, np.arange(10.0))])
    page.open("?view=detail&model=m")
    wait_drawn(page, "w", 1, "distribution")
    rng = np.random.default_rng(1)
    # 450 records arriving live, in several requests
    for k in range(9):
        log_histograms(server, "m", "w", [(s, rng.normal(0, 1, 50)) for s in range(1 + 50 * k, 51 + 50 * k)])
    s = page.wait_for("s.histograms[0].total === 451 && s.histograms[0].records === 200", timeout=20)
    h = s["histograms"][0]
    assert h["steps"][0] == 0 and h["steps"][-1] == 450 and h["steps"] == sorted(h["steps"])
    assert page.errors == []
