"""The runs table, parallel coordinates, grouping, run header and palette, in real
headless Chromium against a real server (runs made by POST /api/v1/runs or by the
real client in a subprocess)."""
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from urllib.parse import parse_qs, urlparse

import pytest

from browser_helpers import post_points, post_runs, run_record, sweep
from helpers import ServerProcess

pytestmark = pytest.mark.browser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def server(request, tmp_path):
    """The page's server, on SQLite, or on a fresh PostgreSQL database for a test
    parametrized with ``BOTH_STORES``; a test with a ``stale_seconds`` attribute gets a
    server that calls a run crashed after that long without a heartbeat (not 60 s)."""
    stale = getattr(request.function, "stale_seconds", None)
    args = ["--run-stale-seconds", str(stale)] if stale else []
    if getattr(request, "param", "sqlite") == "postgresql":
        args += ["--store", request.getfixturevalue("pg_url")]
    proc = ServerProcess(tmp_path / "data", extra_args=args).start()
    yield proc
    proc.stop()


#: The tests marked with this run once on each store backend.
BOTH_STORES = pytest.mark.parametrize("server", ["sqlite", "postgresql"], indirect=True)


def runs_state(page):
    return page.state()["runs"]


def wait_runs(page, cond, timeout=10.0):
    """Wait for ``cond`` over ``s`` (the debug state); return the runs table's part."""
    return page.wait_for(cond, timeout)["runs"]


def open_runs(page, query="", total=None):
    page.open("?view=runs" + query)
    cond = "s.runs && s.runs.total > 0" if total is None else f"s.runs && s.runs.total === {total}"
    return wait_runs(page, cond)


def url_params(page):
    return parse_qs(urlparse(page.page.url).query)


def header(page, col):
    return page.page.locator(f".rt-head .rt-th[data-col='{col}'] .rt-sort")


def cells(page, col):
    return page.page.locator(f".rt-body .rt-row .rt-td[data-col='{col}']").all_text_contents()


# ------------------------------------------------------------------------------ table

@BOTH_STORES
def test_sort_by_config_column_and_by_metric(page, server):
    configs = sweep(server, 12)
    s = open_runs(page, total=12)
    assert s["rows"] == sorted(configs)            # name order to start with
    assert page.page.locator(".rt-body .rt-row").count() == 12
    header(page, "c:lr").click()
    s = wait_runs(page, "s.runs.sort && s.runs.sort.key === 'c:lr'")
    lrs = [configs[m]["lr"] for m in s["rows"]]
    assert lrs == sorted(lrs)                      # numerically, not as text
    header(page, "c:lr").click()
    s = wait_runs(page, "s.runs.sort.dir === -1")
    assert [configs[m]["lr"] for m in s["rows"]] == sorted(lrs, reverse=True)
    page.poll("location.search.includes('rt=')")  # the sort is in the URL
    # by a metric: its last value
    status, body = server.get_json("/api/v1/runs")
    last = {r["model"]: r["series"]["train_loss"]["last"] for r in body["runs"]}
    header(page, "m:train_loss").click()
    s = wait_runs(page, "s.runs.sort.key === 'm:train_loss'")
    assert [last[m] for m in s["rows"]] == sorted(last.values())
    # switched to best (min, for a loss), the column sorts by the minimum
    page.page.locator(".rt-head .rt-th[data-col='m:train_loss'] .rt-mode").click()
    page.poll("document.querySelector(\".rt-th[data-col='m:train_loss'] .rt-mode\").textContent === 'best'")
    low = {r["model"]: r["series"]["train_loss"]["min"] for r in body["runs"]}
    s = runs_state(page)
    assert [low[m] for m in s["rows"]] == sorted(low.values())
    page.poll("location.search.includes('mm')")   # (the URL is written 150 ms later)
    page.page.reload()
    s = wait_runs(page, "s.runs && s.runs.total === 12 && s.runs.sort && s.runs.sort.key === 'm:train_loss'")
    assert page.page.locator(".rt-th[data-col='m:train_loss'] .rt-mode").text_content() == "best"
    assert page.errors == []


def test_sort_strings_naturally_with_nulls_last(page, server):
    recs = []
    for name, cfg in [("a", {"arch": "net10"}), ("b", {"arch": "net2"}), ("c", {}), ("d", {"arch": "Net1"})]:
        recs += run_record(name, config=cfg)
        post_points(server, name, "loss", [0], [1.0])
    post_runs(server, recs)
    open_runs(page, total=4)
    header(page, "c:arch").click()
    s = wait_runs(page, "s.runs.sort && s.runs.sort.key === 'c:arch'")
    assert s["rows"] == ["d", "b", "a", "c"]       # Net1, net2, net10, then the run without it
    header(page, "c:arch").click()
    s = wait_runs(page, "s.runs.sort.dir === -1")
    assert s["rows"] == ["a", "b", "d", "c"]       # nulls stay last
    assert page.errors == []


def test_text_and_regex_filter(page, server):
    sweep(server, 12)
    open_runs(page, total=12)
    box = page.page.locator(".rt-filter")
    box.fill("opt-sgd")                            # text matches tags (and names, config, notes)
    s = wait_runs(page, "s.runs.shown === 6")
    assert all(int(m[-3:]) % 2 == 1 for m in s["rows"])
    box.fill("/^sweep-00[0-4]$/")
    s = wait_runs(page, "s.runs.shown === 5")
    assert s["rows"] == [f"sweep-00{i}" for i in range(5)]
    box.fill("/sweep-(/")                          # a bad regex says so; nothing breaks
    s = wait_runs(page, "s.runs.error !== null")
    assert "bad regex" in s["error"]
    assert "bad regex" in page.page.locator(".rt-error").text_content()
    assert s["shown"] == 12
    box.fill("adam")                               # a config value
    s = wait_runs(page, "s.runs.shown === 6 && s.runs.error === null")
    assert page.errors == []


def test_tag_filter_by_clicking_a_tag(page, server):
    sweep(server, 10)
    open_runs(page, total=10)
    page.page.locator(".rt-body .rt-row[data-model='sweep-001'] .tag", has_text="opt-sgd").click()
    s = wait_runs(page, "s.runs.shown === 5")
    assert s["rows"] == [f"sweep-00{i}" for i in (1, 3, 5, 7, 9)]
    assert "opt-sgd" in page.page.locator(".rt-tagfilter").text_content()
    page.page.locator(".rt-tagfilter .tag").click()   # the chip removes the filter
    page.wait_for("s.runs.shown === 10")
    assert page.errors == []


def test_show_and_hide_a_column(page, server):
    sweep(server, 5)
    s = open_runs(page, total=5)
    assert "c:lr" in s["columns"]
    page.page.locator(".rt-cols-btn").click()
    page.page.locator(".rt-menu input[data-col='c:lr']").uncheck()
    s = page.wait_for("!s.runs.columns.includes('c:lr')")
    assert page.page.locator(".rt-th[data-col='c:lr']").count() == 0
    assert page.page.locator(".rt-td[data-col='c:lr']").count() == 0
    page.page.mouse.click(5, 300)                  # a click elsewhere closes the menu
    assert page.page.locator(".rt-menu").is_hidden()
    page.poll("location.search.includes('%22h%22')")
    page.page.reload()
    s = wait_runs(page, "s.runs && s.runs.total === 5")
    assert "c:lr" not in s["columns"] and "c:batch" in s["columns"]
    assert page.errors == []


@BOTH_STORES
def test_selected_rows_are_what_the_overview_shows(page, server):
    sweep(server, 10)
    open_runs(page, total=10)
    boxes = page.page.locator(".rt-body .rt-row input[type=checkbox]")
    boxes.nth(1).click()
    boxes.nth(4).click(modifiers=["Shift"])        # a range: rows 1..4
    s = wait_runs(page, "s.runs.selected.length === 4")
    want = [f"sweep-00{i}" for i in (1, 2, 3, 4)]
    assert s["selected"] == want
    page.poll("decodeURIComponent(location.search).includes('sweep-004')")
    assert json.loads(url_params(page)["sel"][0]) == want
    page.page.locator(".rt-show").click()
    s = page.wait_for("s.view === 'overview' && s.charts.length === 1 && s.charts[0].lines.length === 4")
    assert sorted(l["model"] for l in s["charts"][0]["lines"]) == want
    page.page.reload()
    s = page.wait_for("s.charts.length === 1 && s.charts[0].lines.length === 4")
    assert sorted(l["model"] for l in s["charts"][0]["lines"]) == want
    # the chip clears the selection: every run again
    page.page.locator(".sel-chip").click()
    page.wait_for("s.charts[0].lines.length === 10")
    # select all shown (after a filter)
    page.open("?view=runs&rt=" + json.dumps({"f": "opt-adam"}))
    page.wait_for("s.runs && s.runs.shown === 5")
    page.page.locator(".rt-select-all").click()
    s = wait_runs(page, "s.runs.selected.length === 5")
    assert s["selected"] == [f"sweep-00{i}" for i in (0, 2, 4, 6, 8)]
    assert page.errors == []


def test_parallel_coordinates_brush_narrows_the_table(page, server):
    configs = sweep(server, 20)
    s = open_runs(page, total=20)
    pc = s["parcoords"]
    lr = next(a for a in pc["axes"] if a["key"] == "c:lr")
    assert lr["log"] is True and lr["lo"] == pytest.approx(1e-4) and lr["hi"] == pytest.approx(1e-2)
    assert pc["axes"][-1]["key"] == "m:train_loss"    # the metric is the last axis
    box = page.page.locator(".pc-canvas").bounding_box()
    x = box["x"] + lr["x"]
    # drag over the top part of the lr axis: lr >= about 3e-3
    y_top = box["y"] + lr["top"] - 3
    y_mid = box["y"] + lr["top"] + (lr["bottom"] - lr["top"]) * 0.35
    page.page.mouse.move(x, y_top)
    page.page.mouse.down()
    page.page.mouse.move(x, (y_top + y_mid) / 2, steps=3)
    page.page.mouse.move(x, y_mid, steps=3)
    page.page.mouse.up()
    s = wait_runs(page, "s.runs.parcoords.brushes['c:lr'] !== undefined")
    lo, hi = s["parcoords"]["brushes"]["c:lr"]
    want = sorted(m for m, c in configs.items() if lo <= c["lr"] <= hi)
    assert {configs[m]["lr"] for m in want} == {3e-3, 1e-2}
    assert s["rows"] == want
    assert s["shown"] == len(want) == s["parcoords"]["inside"]
    page.poll("location.search.includes('%22b%22')")      # the brush is in the URL
    page.page.reload()
    page.wait_for(f"s.runs && s.runs.total === 20 && s.runs.shown === {len(want)}")
    # a categorical axis: brush 'sgd' only, on top of the lr brush
    opt = next(a for a in runs_state(page)["parcoords"]["axes"] if a["key"] == "c:optimizer")
    box = page.page.locator(".pc-canvas").bounding_box()
    page.page.mouse.move(box["x"] + opt["x"], box["y"] + opt["top"] - 6)
    page.page.mouse.down()
    page.page.mouse.move(box["x"] + opt["x"], box["y"] + opt["top"] + 20, steps=4)
    page.page.mouse.up()
    s = wait_runs(page, "s.runs.parcoords.brushes['c:optimizer'] !== undefined")
    assert s["parcoords"]["brushes"]["c:optimizer"] == {"v": ["sgd"]}
    assert s["rows"] == [m for m in want if configs[m]["optimizer"] == "sgd"]
    # a click on an axis clears its brush
    lr = next(a for a in s["parcoords"]["axes"] if a["key"] == "c:lr")
    page.page.mouse.click(box["x"] + lr["x"], box["y"] + lr["bottom"] - 5)
    s = wait_runs(page, "s.runs.parcoords.brushes['c:lr'] === undefined")
    assert s["shown"] == 10                       # only the optimizer brush remains
    page.page.locator(".pc-clear").click()
    page.wait_for("s.runs.shown === 20")
    assert page.errors == []


# ------------------------------------------------------------------------------ overview

def test_group_by_config_draws_a_mean_and_a_band_per_group(page, server):
    sweep(server, 12, series=("valid_acc",))
    page.open("?group=config:optimizer")
    s = page.wait_for("s.charts[0] && s.charts[0].kind === 'groups' && !s.charts[0].loading && s.charts[0].bands === 2")
    c = s["charts"][0]
    assert [g["key"] for g in c["groups"]] == ["adam", "sgd"]
    assert [len(g["members"]) for g in c["groups"]] == [6, 6]
    assert c["labels"] == ["adam (6)", "adam max", "adam min", "sgd (6)", "sgd max", "sgd min"]
    assert c["groups"][0]["color"] != c["groups"][1]["color"]
    assert page.page.locator(".group-entry").all_text_contents() == ["adam6 runs", "sgd6 runs"]
    # ±std instead, then no band: one line per group
    page.page.locator(".band-select").select_option("std")
    s = page.wait_for("s.charts[0].band === 'std' && s.charts[0].labels.includes('adam +σ')")
    assert s["charts"][0]["bands"] == 2
    page.page.locator(".band-select").select_option("none")
    s = page.wait_for("s.charts[0].band === 'none' && s.charts[0].labels.length === 2")
    assert s["charts"][0]["bands"] == 0
    page.poll("location.search.includes('band=none') && location.search.includes('group=config')")
    # the group's mean is the mean of its runs' last values (within interpolation)
    status, body = server.get_json("/api/v1/runs")
    adam = [r["series"]["valid_acc"]["last"] for r in body["runs"] if r["config"]["optimizer"] == "adam"]
    assert s["charts"][0]["groups"][0]["lastMean"] == pytest.approx(sum(adam) / len(adam), rel=0.02)
    # group by a regex on the name: the capture group is the key
    page.page.locator(".spec-picker").nth(1).locator("select").select_option("name:")
    page.page.locator(".spec-picker").nth(1).locator("input").fill(r"sweep-00(\d)")
    s = page.wait_for("s.charts[0].kind === 'groups' && s.charts[0].groups.length === 11")
    assert s["charts"][0]["groups"][-1]["key"] == "(none)"   # sweep-010, sweep-011
    page.page.locator(".spec-picker").nth(1).locator("input").fill("(")
    page.poll("document.querySelector('.ov-controls .rt-error').textContent.includes('bad regex')")
    assert page.errors == []


def test_colour_by_config_value(page, server):
    sweep(server, 6)
    page.open("?color=config:optimizer&stat=train_loss")
    # (until the runs are loaded every run has the key "(none)")
    s = page.wait_for("s.runsLoaded && s.charts[0] && s.charts[0].lines.length === 6 && "
                      "new Set(s.charts[0].lines.map(l => l.color)).size > 1")
    colour = {l["model"]: l["color"] for l in s["charts"][0]["lines"]}
    assert len(set(colour.values())) == 2
    assert colour["sweep-000"] == colour["sweep-002"] != colour["sweep-001"]
    assert page.errors == []


def test_palette_gives_12_runs_12_colours_stable_across_reloads(page, server):
    for i in range(12):
        post_points(server, f"run-{i}", "loss", range(20), [1.0 / (1 + k + i) for k in range(20)])
    page.open()
    s = page.wait_for("s.charts[0] && s.charts[0].lines.length === 12")
    colours = {l["model"]: l["color"] for l in s["charts"][0]["lines"]}
    assert len(set(colours.values())) == 12
    page.page.reload()
    s = page.wait_for("s.charts[0] && s.charts[0].lines.length === 12")
    assert {l["model"]: l["color"] for l in s["charts"][0]["lines"]} == colours
    # the legend's swatches show the same colours
    assert page.page.locator(".ov-side .swatch").count() == 12
    assert page.errors == []


# ------------------------------------------------------------------------------ live status

CLIENT = textwrap.dedent("""
    import sys, time, pastalog
    port, name, flag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    log = pastalog.Log(port, name, config={"lr": 0.01, "optimizer": {"name": "adam"}},
                       tags=["live"], notes="a real client")
    for i in range(20):
        log.write("loss", 1.0 / (i + 1))
    log.flush()
    print("ready", flush=True)
    while True:
        try:
            if open(flag).read().strip() == "close":
                break
        except OSError:
            pass
        time.sleep(0.05)
    log.close()
""")


def start_client(server, tmp_path, name):
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    flag = tmp_path / f"{name}.flag"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, str(script), str(server.port), name, str(flag)],
                            stdout=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stdout.readline().strip() == b"ready"
    return proc, flag


def status_cell(page, model):
    return page.page.locator(f".rt-row[data-model='{model}'] .rt-td[data-col='status']")




@BOTH_STORES
def test_status_running_then_finished_live(page, server, tmp_path):
    proc, flag = start_client(server, tmp_path, "live-run")
    try:
        open_runs(page)
        page.poll("(() => { const s = window.__pastalog.state(); return s.runs.rows.includes('live-run'); })()")
        page.poll("document.querySelector(\".rt-row[data-model='live-run'] .status-dot\").dataset.status === 'running'")
        assert status_cell(page, "live-run").text_content() == "running"
        assert page.page.locator(".rt-row[data-model='live-run'] .rt-td[data-col='c:optimizer/name']").text_content() == "adam"
        page.page.evaluate("window.__notReloaded = true")
        # a point arriving live updates the metric's cell
        post_points(server, "live-run", "loss", [100], [0.25])
        page.poll("document.querySelector(\".rt-row[data-model='live-run'] .rt-td[data-col='m:loss']\").textContent === '0.25'")
        # a config key arriving later (log.config.update) gets its column
        post_runs(server, [{"model": "live-run", "session": "later", "time": time.time(), "config": {"warmup": 5}}])
        page.poll("document.querySelector(\".rt-row[data-model='live-run'] .rt-td[data-col='c:warmup']\")?.textContent === '5'")
        flag.write_text("close")
        assert proc.wait(timeout=20) == 0
        page.poll("document.querySelector(\".rt-row[data-model='live-run'] .status-dot\").dataset.status === 'finished'",
                  timeout=15)
        assert page.page.evaluate("window.__notReloaded === true")   # live, not reloaded
        assert page.page.locator(".rt-row[data-model='live-run'] .rt-td[data-col='m:loss']").text_content() == "0.25"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert page.errors == []


@BOTH_STORES
def test_status_running_then_crashed_after_kill_9(page, server, tmp_path):
    proc, flag = start_client(server, tmp_path, "doomed")
    try:
        open_runs(page)
        page.poll("document.querySelector(\".rt-row[data-model='doomed'] .status-dot\")?.dataset.status === 'running'")
        page.page.evaluate("window.__notReloaded = true")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        page.poll("document.querySelector(\".rt-row[data-model='doomed'] .status-dot\").dataset.status === 'crashed'",
                  timeout=25)
        assert page.page.evaluate("window.__notReloaded === true")
        # the error is on hover
        assert "heartbeat" in status_cell(page, "doomed").get_attribute("title")
        # and at the top of the detail view, with the provenance the client captured
        page.page.locator(".rt-row[data-model='doomed'] .rt-name").click()
        page.wait_for("s.view === 'detail'")
        page.poll("document.querySelector('.run-header .rh-status')?.dataset.status === 'crashed'")
        head = page.page.locator(".run-header")
        assert "heartbeat" in head.locator(".rh-error").text_content()
        assert "client.py" in head.locator(".rh-argv").text_content()
        assert head.locator(".rh-field", has_text="python").count() == 1
        assert head.locator(".tag").all_text_contents() == ["live"]
        assert head.locator(".rh-notes").text_content() == "a real client"
        head.locator(".rh-config summary").click()
        assert head.locator(".rh-config-table th").all_text_contents() == ["lr", "optimizer/name"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert page.errors == []


test_status_running_then_crashed_after_kill_9.stale_seconds = 2


# ------------------------------------------------------------------------------ text, edits

def test_markup_in_names_tags_config_and_notes_stays_text(page, server):
    evil = '<img src=x onerror="window.__pwned=1">'
    post_points(server, "<b>bold</b>", "loss", [0, 1], [1.0, 0.5])
    post_runs(server, run_record("<b>bold</b>", config={"html": evil, evil: 1}, tags=[evil, "<i>t</i>"], notes=evil))
    open_runs(page, total=1)
    row = page.page.locator(".rt-body .rt-row").first
    assert row.locator(".rt-name").text_content() == "<b>bold</b>"
    assert row.locator(".tag").all_text_contents() == [evil, "<i>t</i>"]
    assert row.locator(".rt-td[data-col='c:html']").text_content() == evil
    assert row.locator(".rt-notes").text_content() == evil
    assert page.page.locator(f".rt-th[data-col='c:{evil}']").count() == 1
    assert page.page.locator(".view img, .view b, .view i").count() == 0
    page.open("?view=detail&model=" + "%3Cb%3Ebold%3C%2Fb%3E")
    page.poll("document.querySelector('.run-header .rh-notes')")
    page.page.locator(".rh-config summary").click()
    assert page.page.locator(".run-header img, .run-header b, .run-header i").count() == 0
    assert evil in page.page.locator(".rh-config-table").text_content()
    assert page.page.evaluate("window.__pwned === undefined")
    assert page.errors == []


@BOTH_STORES
def test_edit_tags_and_notes_in_place(page, server):
    sweep(server, 3)
    open_runs(page, total=3)
    row = page.page.locator(".rt-body .rt-row[data-model='sweep-001']")
    row.hover()
    row.locator(".rt-td[data-col='tags'] .rt-edit").click()
    box = page.page.locator(".rt-edit-input")
    box.fill("good, <keep>, good")
    box.press("Enter")
    page.poll("document.querySelectorAll(\".rt-row[data-model='sweep-001'] .tag\").length === 2")
    status, run = server.get_json("/api/v1/runs/sweep-001")
    assert run["tags"] == ["good", "<keep>"]
    row.hover()
    row.locator(".rt-td[data-col='notes'] .rt-edit").click()
    page.page.locator(".rt-edit-input").fill("best so far")
    page.page.locator(".rt-edit-input").press("Enter")
    page.poll("document.querySelector(\".rt-row[data-model='sweep-001'] .rt-notes\").textContent === 'best so far'")
    assert server.get_json("/api/v1/runs/sweep-001")[1]["notes"] == "best so far"
    # Escape leaves it as it was
    row.hover()
    row.locator(".rt-td[data-col='notes'] .rt-edit").click()
    page.page.locator(".rt-edit-input").fill("nope")
    page.page.locator(".rt-edit-input").press("Escape")
    assert server.get_json("/api/v1/runs/sweep-001")[1]["notes"] == "best so far"
    # a tag the server refuses (too long) is said, and nothing changes
    row.hover()
    row.locator(".rt-td[data-col='tags'] .rt-edit").click()
    page.page.locator(".rt-edit-input").fill("x" * 300)
    page.page.locator(".rt-edit-input").press("Enter")
    page.poll("!document.querySelector('.notice').hidden")
    assert "could not save" in page.page.locator(".notice").text_content()
    assert server.get_json("/api/v1/runs/sweep-001")[1]["tags"] == ["good", "<keep>"]
    page.errors = [e for e in page.errors if "400" not in e]   # the refused PATCH's console line
    assert page.errors == []


def test_ten_thousand_runs_only_visible_rows_in_the_dom(page, server):
    records = []
    for i in range(10_000):
        records.append({"model": f"r{i:05d}", "session": f"s{i}", "time": 1.7e9 + i, "status": "finished",
                        "config": {"lr": 10 ** -(1 + i % 4), "seed": i, "opt": ["adam", "sgd", "rmsprop"][i % 3]}})
    post_runs(server, records)
    s = open_runs(page, total=10_000)
    assert s["shown"] == 10_000
    assert 0 < s["domRows"] < 80
    header(page, "c:seed").click()
    page.page.locator(".rt-th[data-col='c:seed'] .rt-sort").click()
    s = wait_runs(page, "s.runs.sort && s.runs.sort.dir === -1")
    assert s["rows"][:3] == ["r09999", "r09998", "r09997"]
    sort_ms = s["queryMs"]
    page.page.locator(".rt-filter").fill("/r0000[0-9]$/")
    s = wait_runs(page, "s.runs.shown === 10")
    # scrolled to the end, the last rows are drawn
    page.page.locator(".rt-filter").fill("")
    page.wait_for("s.runs.shown === 10000")
    page.page.locator(".rt-scroll").evaluate("el => el.scrollTop = el.scrollHeight")
    page.poll("document.querySelector(\".rt-row[data-model='r00000']\")")
    assert runs_state(page)["domRows"] < 80
    print(f"10,000 runs: sort {sort_ms:.1f} ms, filter {s['queryMs']:.1f} ms (benchmarks/runs_table_bench.py measures)")
    assert page.errors == []


@BOTH_STORES
def test_restart_is_marked_on_the_charts(page, server, tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = ("import sys, pastalog\n"
            "log = pastalog.Log(int(sys.argv[1]), 'again')\n"
            "[log.write('loss', 1.0 / (i + 1)) for i in range(30)]\n"
            "log.close()\n")
    subprocess.run([sys.executable, "-c", code, str(server.port)], env=env, cwd=ROOT, check=True, timeout=60)
    page.open()
    page.wait_for("s.runsLoaded && s.charts[0] && s.charts[0].lines[0].points === 30")
    # the same script again, under the same name, while the page is open
    subprocess.run([sys.executable, "-c", code, str(server.port)], env=env, cwd=ROOT, check=True, timeout=60)
    status, run = server.get_json("/api/v1/runs/again")
    assert [r["step"] for r in run["restarts"]] == [30]
    s = page.wait_for("s.charts[0].restarts.length === 1 && s.charts[0].lines[0].points === 60")
    assert s["charts"][0]["restarts"] == [{"model": "again", "step": 30}]
    assert s["charts"][0]["lines"][0]["points"] == 60
    page.open("?view=detail&model=again")
    s = page.wait_for("s.charts.length === 1 && s.charts[0].restarts.length === 1")
    assert page.page.locator(".rh-field", has_text="restarts").text_content().endswith("1")
    assert page.errors == []


def test_a_server_without_the_runs_api_still_lists_models(page, server):
    post_points(server, "old-model", "loss", [0, 1, 2], [3.0, 2.0, 1.0])
    page.page.route("**/api/v1/runs*", lambda route: route.fulfill(
        status=404, content_type="application/json", body=json.dumps({"error": "not found"})))
    s = open_runs(page, total=1)
    assert s["rows"] == ["old-model"]
    assert page.page.locator(".rt-td[data-col='m:loss']").text_content() == "1"
    page.errors = [e for e in page.errors if "404" not in e]
    assert page.errors == []
