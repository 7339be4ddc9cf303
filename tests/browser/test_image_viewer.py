"""Images you can read (issue 15, part 2), in Chromium: the through-time frame drawn as
large as fits, the viewer (natural size up to the window, integer nearest-neighbour
scaling for small images, arrow keys through time, Escape closes) and the compare view
(one image name across runs at one shared step, the nearest earlier where a run lacks it)."""
import json
from urllib.parse import parse_qs

import numpy as np
import pytest

from browser_helpers import post_points, post_png
from pastalog._images import encode_png

pytestmark = pytest.mark.browser

FRAME = "document.querySelector('.img-frame')"
VIEWER = "document.querySelector('dialog.image-viewer')"
VIEWER_IMG = "document.querySelector('dialog.image-viewer .viewer-img')"


def checker(n, cell, step):
    """An n×n grey-level checkerboard whose bright level encodes ``step``."""
    y, x = np.mgrid[0:n, 0:n]
    on = ((x // cell + y // cell) % 2).astype(bool)
    img = np.where(on, 40 + (step * 7) % 200, 0).astype(np.uint8)
    return encode_png(img)


def shot(page, name):
    """A screenshot of the window as the user sees it (1400×900, not the full page)."""
    path = page.tmp_path / f"{name}.png"
    page.page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def rect(page, expr):
    return page.page.evaluate(f"(() => {{ const r = {expr}.getBoundingClientRect(); "
                              "return {w: r.width, h: r.height}; })()")


def test_detail_draws_a_1024_pixel_image_at_least_800_wide(page, server):
    post_points(server, "m1", "loss", range(3), [1.0, 0.5, 0.25])
    post_png(server, "m1", "confusion", 0, checker(1024, 64, 0))
    page.page.set_viewport_size({"width": 1400, "height": 900})
    page.open("?view=detail&model=m1")
    page.poll(f"{FRAME} && {FRAME}.dataset.step === '0' && {FRAME}.complete && {FRAME}.naturalWidth === 1024")
    page.poll(f"{FRAME}.getBoundingClientRect().width >= 800")
    r = rect(page, FRAME)
    assert r["w"] >= 800 and abs(r["w"] - r["h"]) < 1.5, r
    # and it still fits in the window
    assert r["w"] <= 1400 and r["h"] <= 900, r
    page.page.locator(".img-frame").scroll_into_view_if_needed()
    shot(page, "detail-1024")
    # the viewer draws it as large as the window allows (shrunk: smooth), and 1:1 on demand
    page.page.locator(".img-frame").click()
    page.poll(f"{VIEWER} && {VIEWER}.open && {VIEWER_IMG}.complete && {VIEWER_IMG}.naturalWidth === 1024")
    v = rect(page, VIEWER_IMG)
    assert 800 <= v["w"] < 900 and v["h"] <= 900, v
    assert page.page.evaluate(f"getComputedStyle({VIEWER_IMG}).imageRendering") == "auto"
    shot(page, "viewer-1024")
    page.page.locator("dialog.image-viewer .viewer-zoom").click()
    page.poll(f"{VIEWER_IMG}.getBoundingClientRect().width === 1024")
    assert page.page.evaluate("(() => { const s = document.querySelector('.viewer-stage');"
                              " return s.scrollHeight > s.clientHeight; })()")
    assert page.errors == []


def test_viewer_draws_small_images_as_pixels_and_steps_through_time(page, server):
    post_points(server, "m1", "loss", range(3), [1.0, 0.5, 0.25])
    for step in (0, 10, 20, 30):
        post_png(server, "m1", "digit", step, checker(8, 1, step))
    page.page.set_viewport_size({"width": 1400, "height": 900})
    page.open("?view=detail&model=m1")
    page.poll(f"{FRAME} && {FRAME}.dataset.step === '30'")
    page.page.locator(".img-frame").click()
    page.poll(f"{VIEWER} && {VIEWER}.open && {VIEWER_IMG}.complete && {VIEWER_IMG}.naturalWidth === 8")
    shown = page.page.evaluate(f"""(() => {{ const i = {VIEWER_IMG}; const r = i.getBoundingClientRect();
        return {{w: r.width, h: r.height, step: i.dataset.step, rendering: getComputedStyle(i).imageRendering}}; }})()""")
    assert shown["step"] == "30"
    assert shown["rendering"] == "pixelated", shown
    scale = shown["w"] / 8
    assert scale == int(scale) and scale >= 8 and shown["h"] == shown["w"], shown
    assert shown["h"] <= 900
    # what is drawn is pixels: every cell a flat colour, no blurred edges
    png = page.page.locator("dialog.image-viewer .viewer-img").screenshot()
    from io import BytesIO
    from PIL import Image
    # (the element's box may sit half a pixel off the device grid: leave its rim out)
    px = np.asarray(Image.open(BytesIO(png)).convert("L"))[2:-2, 2:-2]
    levels, counts = np.unique(px, return_counts=True)
    assert levels.tolist() == [0, 40 + (30 * 7) % 200], levels[:10]
    assert abs(int(counts[0]) - int(counts[1])) < px.shape[0] * 2, counts
    shot(page, "viewer")

    keys = page.page.keyboard
    keys.press("ArrowLeft")
    page.poll(f"{VIEWER_IMG}.dataset.step === '20'")
    keys.press("ArrowLeft")
    keys.press("ArrowLeft")
    page.poll(f"{VIEWER_IMG}.dataset.step === '0'")
    keys.press("ArrowLeft")   # stays at the first
    keys.press("ArrowRight")
    page.poll(f"{VIEWER_IMG}.dataset.step === '10'")
    assert "step 10" in page.page.locator("dialog.image-viewer .viewer-step").text_content()
    # 1:1 shows the digit's own 8×8 pixels; "fit" enlarges it again
    page.page.locator("dialog.image-viewer .viewer-zoom").click()
    page.poll(f"{VIEWER_IMG}.getBoundingClientRect().width === 8")
    page.page.locator("dialog.image-viewer .viewer-zoom").click()
    page.poll(f"{VIEWER_IMG}.getBoundingClientRect().width === {shown['w']}")
    # the through-time frame followed the viewer
    assert page.page.evaluate(f"{FRAME}.dataset.step") == "10"
    keys.press("Escape")
    page.poll(f"!{VIEWER}")
    # the viewer leads on to the compare view, at the step it showed
    page.page.locator(".img-frame").click()
    page.poll(f"{VIEWER} && {VIEWER_IMG}.dataset.step === '10'")
    page.page.locator("dialog.image-viewer .viewer-compare").click()
    page.poll("!document.querySelector('dialog.image-viewer') && document.querySelector('dialog.image-compare') && "
              "document.querySelector('dialog.image-compare').dataset.step === '10' && "
              "document.querySelector('dialog.image-compare .compare-col img').dataset.step === '10'")
    keys.press("ArrowRight")
    page.poll("document.querySelector('dialog.image-compare .compare-col img').dataset.step === '20'")
    keys.press("Escape")
    page.poll("!document.querySelector('dialog.image-compare')")
    assert page.errors == []


def test_compare_shows_each_run_at_the_step_or_the_nearest_earlier(page, server):
    steps = {"run-a": [0, 10, 20], "run-b": [0, 20], "run-c": [5, 15]}
    for model, ss in steps.items():
        post_points(server, model, "loss", range(3), [1.0, 0.5, 0.25])
        for s in ss:
            post_png(server, model, "samples", s, checker(16, 2, s))
    post_png(server, "run-a", "other", 0, checker(16, 2, 0))
    page.page.set_viewport_size({"width": 1400, "height": 900})
    page.open("?view=detail&model=run-a")
    p = page.page
    p.locator(".image-card", has_text="samples").locator(".image-compare").click()
    page.poll("document.querySelector('dialog.image-compare')")
    # the runs that have this image name are offered; the others are not
    offered = p.locator("dialog.image-compare .compare-pick input").evaluate_all("els => els.map(e => e.value)")
    assert offered == ["run-a", "run-b", "run-c"]
    for model in ("run-b", "run-c"):
        box = p.locator(f"dialog.image-compare .compare-pick input[value='{model}']")
        if not box.is_checked():
            box.check()

    def shown():
        return p.evaluate("""[...document.querySelectorAll('dialog.image-compare .compare-col')].map(c => {
            const i = c.querySelector('img'); return [c.dataset.model, i && !i.hidden ? i.dataset.step : null,
            !!(i && !i.hidden && i.complete && i.naturalWidth === 16)]; })""")

    def at(step, want):
        slider = p.locator("dialog.image-compare .compare-slider")
        values = json.loads(slider.get_attribute("data-steps"))
        slider.fill(str(values.index(step)))
        page.poll("(() => { const cols = [...document.querySelectorAll('dialog.image-compare .compare-col')];"
                  f" return cols.length === 3 && document.querySelector('dialog.image-compare').dataset.step === '{step}'"
                  " && cols.every(c => { const i = c.querySelector('img'); return i.hidden || (i.complete && i.naturalWidth === 16); }); })()")
        got = {m: s for m, s, _ in shown()}
        assert got == want, (step, got)

    at(20, {"run-a": "20", "run-b": "20", "run-c": "15"})
    shot(page, "compare")
    at(10, {"run-a": "10", "run-b": "0", "run-c": "5"})
    at(0, {"run-a": "0", "run-b": "0", "run-c": None})
    at(15, {"run-a": "10", "run-b": "0", "run-c": "15"})
    # the view is in the URL: reopening the link shows the same runs at the same step
    page.poll("location.search.includes('cmp=') && location.search.includes('cstep=15')")
    q = parse_qs(p.evaluate("location.search")[1:])
    assert json.loads(q["cmp"][0]) == ["run-a", "run-b", "run-c"] and q["img"] == ["samples"]
    url = p.evaluate("location.search")
    p.keyboard.press("Escape")
    page.poll("!document.querySelector('dialog.image-compare')")
    page.poll("!location.search.includes('cmp=')")
    page.open(url)
    page.poll("document.querySelector('dialog.image-compare') && "
              "document.querySelector('dialog.image-compare').dataset.step === '15' && "
              "document.querySelectorAll('dialog.image-compare .compare-col').length === 3")
    page.poll("[...document.querySelectorAll('dialog.image-compare .compare-col img')].map(i => i.hidden ? '-' : i.dataset.step).join() === '10,0,15'")
    # a new image of another run arrives live: its step joins the slider
    post_png(server, "run-b", "samples", 25, checker(16, 2, 25))
    page.poll("document.querySelector('dialog.image-compare .compare-slider').dataset.steps === '[0,5,10,15,20,25]'")
    at(25, {"run-a": "20", "run-b": "25", "run-c": "15"})
    assert page.errors == []
