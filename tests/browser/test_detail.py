"""The detail view (one model: its statistics as a grid, its images) in Chromium."""
import pytest

from browser_helpers import post_points, post_png, solid_png

pytestmark = pytest.mark.browser

COLOURS = [(230, 40, 40), (40, 200, 60), (40, 80, 230), (240, 200, 30), (150, 40, 200)]


def test_detail_groups_series_into_charts(page, server):
    for name in ["conv1/mean", "conv1/std", "train_loss", "valid_loss"]:
        post_points(server, "m1", name, range(50), [float(i) for i in range(50)])
    post_points(server, "other", "train_loss", range(5), [1.0] * 5)
    page.open("?view=detail&model=m1")
    s = page.wait_for("s.charts.length === 3 && s.charts.every(c => c.lines.every(l => l.drawn))")
    groups = {c["title"]: sorted(l["series"] for l in c["lines"]) for c in s["charts"]}
    assert groups == {"conv1": ["conv1/mean", "conv1/std"], "train_loss": ["train_loss"],
                      "valid_loss": ["valid_loss"]}
    assert all(l["model"] == "m1" for c in s["charts"] for l in c["lines"])
    assert page.page.locator(".detail-title").text_content() == "m1"
    assert page.errors == []


def test_detail_shows_latest_image_and_slider_moves_through_steps(page, server):
    post_points(server, "m1", "loss", range(10), [1.0] * 10)
    for i, rgb in enumerate(COLOURS):
        post_png(server, "m1", "activations", i * 10, solid_png(8, 8, rgb))
    post_png(server, "m1", "occlusion", 3, solid_png(4, 4, (0, 0, 0)))
    page.open("?view=detail&model=m1")
    p = page.page
    page.poll("document.querySelector('.img-frame') && document.querySelector('.img-frame').dataset.step === '40'")
    cards = p.locator(".image-card")
    assert cards.count() == 2
    assert p.locator(".image-card", has_text="activations").locator(".image-step").text_content() == "step 40"
    assert p.locator(".image-card", has_text="occlusion").locator(".image-step").text_content() == "step 3"
    # the latest image is the step-40 one, and it actually loaded
    page.poll("(() => { const i = document.querySelector('.image-card img'); return i.complete && i.naturalWidth === 8; })()")
    assert "step 40" in p.locator(".img-step").text_content()
    page.screenshot("detail")

    slider = p.locator(".img-slider")
    slider.focus()
    p.keyboard.press("ArrowLeft")
    page.poll("document.querySelector('.img-frame').dataset.step === '30'")
    assert "step 30" in p.locator(".img-step").text_content()
    p.keyboard.press("Home")
    page.poll("document.querySelector('.img-frame').dataset.step === '0'")
    page.poll("location.search.includes('istep=0')")
    # play runs through to the last step
    p.locator(".img-play").click()
    page.poll("document.querySelector('.img-frame').dataset.step === '40'", timeout=5)
    page.poll("document.querySelector('.img-play').textContent.includes('play')", timeout=3)
    # a new image arrives live and the latest card follows it
    post_png(server, "m1", "activations", 50, solid_png(8, 8, (10, 10, 10)))
    page.poll("document.querySelector('.img-frame').dataset.step === '50'", timeout=5)
    assert p.locator(".image-card", has_text="activations").locator(".image-step").text_content() == "step 50"
    # picking the other name from the latest grid shows it through time
    p.locator(".image-card", has_text="occlusion").click()
    page.poll("document.querySelector('.img-frame').dataset.step === '3'")
    assert page.errors == []


def test_detail_url_reopens_same_view(page, server):
    post_points(server, "m1", "loss", range(1000), [float(i % 17) for i in range(1000)])
    page.open("?view=detail&model=m1")
    page.wait_for("s.charts.length === 1 && s.charts[0].lines[0].drawn")
    p = page.page
    p.locator(".tb-mode").select_option("smooth")
    p.locator(".tb-logy").check()
    s = page.wait_for("s.charts[0].state.mode === 'smooth' && s.charts[0].state.logY && "
                      "s.charts[0].lines[0].drawn && s.charts[0].lines[0].drawn.mode === 'smooth'")
    # zoom by dragging across the middle of the plot
    box = p.locator(".chart-plot .u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    p.mouse.move(box["x"] + box["width"] * 0.25, y)
    p.mouse.down()
    p.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    p.mouse.up()
    s = page.wait_for("s.charts[0].state.x !== null")
    x = s["charts"][0]["state"]["x"]
    assert 150 < x[0] < 350 and 400 < x[1] < 600, x
    page.poll("location.search.includes('%22x%22') || location.search.includes('x%22%3A')")
    url = p.url
    p.goto(url)
    s = page.wait_for("s.charts.length === 1 && s.charts[0].lines[0].drawn")
    st = s["charts"][0]["state"]
    assert st["mode"] == "smooth" and st["logY"] is True
    assert [round(v) for v in st["x"]] == [round(v) for v in x]
    assert abs(s["charts"][0]["x"][0] - x[0]) < 1e-6
    # double-click resets the zoom
    p.locator(".chart-plot .u-over").dblclick()
    s = page.wait_for("s.charts[0].state.x === null")
    assert s["charts"][0]["x"] == [0, 999]
    assert page.errors == []
