"""pastalog.Api: reading runs, points and images back, against a real server."""
import math
import urllib.parse

import numpy as np
import pandas as pd
import pytest

import pastalog
from pastalog import api as api_module
from pastalog._images import encode_png
from pastalog.errors import NotFound, PastalogError

from helpers import ServerProcess, free_port

NAN, INF = float("nan"), float("inf")
# What the tests write: steps out of order, a repeated step, NaN and both infinities.
LOSS = {"steps": [0, 1, 2, 3, 5, 4], "values": [2.5, "NaN", 2.0, "Infinity", "-Infinity", 1.5],
        "times": [100.0, 101.0, 102.0, 103.0, 105.0, 104.0]}
ACC = {"steps": [0, 2, 4], "values": [0.1, 0.2, 0.3], "times": [100.5, 102.5, 104.5]}


def write(server, model, name, points):
    status, body = server.post_json("/api/v1/points", {"series": [
        {"model": model, "name": name, **points}]})
    assert status == 200, body


def expected(points):
    """``(steps, values, times)`` in step order, as the server answers them."""
    rows = sorted(zip(points["steps"], [float(v) for v in points["values"]], points["times"]),
                  key=lambda row: row[0])
    return [list(col) for col in zip(*rows)]


def same(a, b):
    """Equal lists of floats, NaN equal to NaN."""
    assert len(a) == len(b), (a, b)
    assert all(x == y or (x != x and y != y) for x, y in zip(a, b)), (a, b)


@pytest.fixture
def written(make_server_on):
    """A server (on each store) holding run ``m`` with ``loss`` and ``acc``."""
    server = make_server_on().start()
    write(server, "m", "loss", LOSS)
    write(server, "m", "acc", ACC)
    return server


@pytest.fixture
def no_pandas(monkeypatch):
    """As if pandas were not installed: the module's one import of it answers None."""
    monkeypatch.setattr(api_module, "_pandas", lambda: None)


def test_history_of_one_series_equals_what_was_written(written):
    steps, values, times = expected(LOSS)
    df = pastalog.Api(written.port).history("m", "loss")
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["step", "value", "time"]
    assert df["step"].tolist() == steps and df["time"].tolist() == times
    same(df["value"].tolist(), values)
    assert df["step"].dtype == np.int64 and df["value"].dtype == np.float64


def test_history_of_every_series_is_long(written):
    df = pastalog.Api(written.url).history("m")
    assert list(df.columns) == ["step", "series", "value", "time"]
    # series in name order (as the server lists them), each in step order
    assert df["series"].tolist() == ["acc"] * 3 + ["loss"] * 6
    loss = df[df["series"] == "loss"]
    same(loss["value"].tolist(), expected(LOSS)[1])
    assert df[df["series"] == "acc"]["step"].tolist() == [0, 2, 4]


def test_history_wide_has_a_column_per_series(written):
    df = pastalog.Api(written.port).history("m", wide=True)
    assert df.index.name == "step" and df.index.tolist() == [0, 1, 2, 3, 4, 5]
    assert list(df.columns) == ["acc", "loss"]
    same(df["acc"].tolist(), [0.1, NAN, 0.2, NAN, 0.3, NAN])
    same(df["loss"].tolist(), [2.5, NAN, 2.0, INF, 1.5, -INF])


def test_history_without_pandas_is_a_dict_of_lists(written, no_pandas):
    api = pastalog.Api(written.port)
    one = api.history("m", "loss")
    steps, values, times = expected(LOSS)
    assert one["step"] == steps and one["time"] == times and set(one) == {
        "step", "value", "time"}
    same(one["value"], values)
    both = api.history("m", ["loss", "acc"])
    assert list(both) == ["step", "series", "value", "time"]
    assert both["series"] == ["loss"] * 6 + ["acc"] * 3
    assert both["step"] == steps + [0, 2, 4]
    wide = api.history("m", wide=True)
    assert wide["step"] == [0, 1, 2, 3, 4, 5]
    same(wide["acc"], [0.1, NAN, 0.2, NAN, 0.3, NAN])


def test_history_reads_each_page_once(server):
    n = 1_050
    write(server, "long", "x", {"steps": list(range(n)), "values": [i / 7 for i in range(n)],
                                "times": [float(i) for i in range(n)]})
    api = pastalog.Api(server.port, page_size=100)
    asked = []
    request = api._http.request

    def counting(method, path, *args, **kwargs):
        asked.append(path)
        return request(method, path, *args, **kwargs)

    api._http.request = counting
    got = api.history("long", "x")
    assert got["step"].tolist() == list(range(n))
    assert got["value"].tolist() == [i / 7 for i in range(n)]
    pages = [p for p in asked if p.startswith("/api/v1/series")]
    assert len(pages) == 11 and len(set(pages)) == 11    # ceil(1050 / 100), none twice


def test_history_follows_the_series_listing_past_one_page(server):
    names = [f"s{i:04d}" for i in range(1_003)]     # the model listing shows 1,000 a page
    status, body = server.post_json("/api/v1/points", {"series": [
        {"model": "wide", "name": name, "steps": [0], "values": [i]}
        for i, name in enumerate(names)]})
    assert status == 200, body
    df = pastalog.Api(server.port).history("wide")
    assert df["series"].tolist() == names and df["value"].tolist() == list(range(1_003))


def test_images_bytes_equal_what_was_posted(written):
    pngs = {step: encode_png(np.full((3, 5), step * 30, np.uint8)) for step in (0, 2, 7)}
    for step, png in pngs.items():
        status, body = written.request(
            "POST", "/api/v1/images?" + urllib.parse.urlencode(
                {"model": "m", "name": "grid", "step": step}), png,
            {"Content-Type": "image/png"})
        assert status == 200, body
    api = pastalog.Api(written.port)
    found = api.images("m", "grid")
    assert [img["step"] for img in found] == [0, 2, 7]
    assert all((img["width"], img["height"]) == (5, 3) for img in found)
    assert "png" not in found[0]                     # lazy: nothing fetched yet
    assert [img.png for img in found] == list(pngs.values())
    assert api.image("m", "grid", 2)["png"] == pngs[2]
    with pytest.raises(NotFound, match="no image 'grid' at step 3"):
        api.image("m", "grid", 3)
    assert api.images("m", "nothing-by-this-name") == []


def test_unknown_names_raise_not_found(written):
    api = pastalog.Api(written.port)
    for call in (lambda: api.history("ghost"), lambda: api.images("ghost", "grid")):
        with pytest.raises(NotFound, match="no run named 'ghost'") as info:
            call()
        assert isinstance(info.value, KeyError)
    with pytest.raises(NotFound, match="no series 'nope'"):
        api.history("m", "nope")


def test_bad_arguments_raise_at_once():
    with pytest.raises(TypeError, match="port number or a URL"):
        pastalog.Api(3.5)
    with pytest.raises(ValueError, match="page_size must be"):
        pastalog.Api(8120, page_size=0)
    with pytest.raises(ValueError, match="control characters"):
        pastalog.Api(8120, token="secret\n")
    api = pastalog.Api(free_port())
    with pytest.raises(pastalog.InvalidName, match="run name"):
        api.history("")
    with pytest.raises(TypeError, match="step must be an integer"):
        api.image("m", "grid", "3")


def test_a_server_that_is_down_is_named():
    port = free_port()
    with pytest.raises(PastalogError, match=f"cannot read http://127.0.0.1:{port}/api/v1/"
                                            "models/m.*refused"):
        pastalog.Api(port, timeout=5).history("m")


def test_a_missing_or_wrong_token_is_said(tmp_path):
    server = ServerProcess(tmp_path / "data", extra_args=["--token", "s3cret"]).start()
    try:
        write_ok = server.request("POST", "/api/v1/points", {"series": [
            {"model": "m", "name": "x", "steps": [0], "values": [1.0]}]},
            {"Authorization": "Bearer s3cret"})
        assert write_ok[0] == 200
        with pytest.raises(PastalogError, match="401: the server needs a token"):
            pastalog.Api(server.port).history("m", "x")
        with pytest.raises(PastalogError, match="401: the server refused the token"):
            pastalog.Api(server.port, token="wrong").history("m", "x")
        got = pastalog.Api(server.port, token="s3cret").history("m", "x")
        assert got["value"].tolist() == [1.0]
    finally:
        server.stop()


def test_no_network_before_the_first_read():
    api = pastalog.Api(free_port())      # nothing listens there: constructing is enough
    assert repr(api).startswith("Api('http://127.0.0.1:")
    assert math.isnan(api_module._number("NaN"))


def post_run(server, model, **fields):
    status, body = server.post_json("/api/v1/runs", {"runs": [
        {"model": model, "session": "s-" + model, "time": 1_700_000_000.0, **fields}]})
    assert status == 200, body


def test_runs_has_a_row_per_run_with_config_and_series_summaries(written):
    post_run(written, "m", status="running", config={"lr": 0.1, "optimizer/name": "sgd",
                                                      "layers": [3, 4]},
             tags=["base", "<b>x</b>"], notes="first try")
    post_run(written, "m", status="finished")
    status, _ = written.post_json("/data", {"modelName": "old", "pointType": "acc",
                                            "pointValue": 0.5, "globalStep": 1})
    assert status == 200
    runs = pastalog.Api(written.port).runs()
    assert isinstance(runs, pd.DataFrame)
    assert list(runs.columns) == [
        "model", "status", "start", "end", "tags", "notes", "config/layers", "config/lr",
        "config/optimizer/name", "acc.last", "acc.min", "acc.max", "loss.last", "loss.min",
        "loss.max"]
    m, old = (runs[runs["model"] == name].iloc[0] for name in ("m", "old"))
    assert runs["model"].tolist() == ["m", "old"]
    assert (m["status"], m["tags"], m["notes"]) == ("finished", ["base", "<b>x</b>"],
                                                     "first try")
    assert (m["config/lr"], m["config/optimizer/name"], m["config/layers"]) == (
        0.1, "sgd", [3, 4])
    assert m["start"] == 1_700_000_000.0
    assert (m["acc.last"], m["acc.min"], m["acc.max"]) == (0.3, 0.1, 0.3)
    # loss: last as the server's series row has it (the last to arrive: 1.5 at step 4);
    # min/max ignore NaN, not infinities
    assert (m["loss.last"], m["loss.min"], m["loss.max"]) == (1.5, -INF, INF)
    assert pd.isna(old["status"]) and old["tags"] == [] and pd.isna(old["config/lr"])
    assert old["acc.last"] == 0.5 and math.isnan(old["loss.last"])


def test_runs_pages_and_filters_without_pandas(written, no_pandas, monkeypatch):
    for name in ("b-run", "a-run", "c-other"):
        post_run(written, name, config={"seed": len(name)})
    monkeypatch.setattr(api_module, "RUNS_PAGE", 2)     # several pages of two runs
    api = pastalog.Api(written.port)
    runs = api.runs()
    assert isinstance(runs, dict)
    assert runs["model"] == ["a-run", "b-run", "c-other", "m"]
    assert runs["config/seed"] == [5, 5, 7, None]
    same(runs["acc.max"], [NAN, NAN, NAN, 0.3])
    assert api.runs(q="RUN")["model"] == ["a-run", "b-run"]
    assert api.runs(q="nothing") == api_module.run_columns([])


def test_the_readme_snippet_runs(server, monkeypatch, tmp_path):
    from test_readme_snippets import snippet

    write(server, "model_1", "train_loss", {"steps": [0, 1], "values": [2.0, 1.5]})
    png = encode_png(np.full((2, 2), 9, np.uint8))
    status, _ = server.request("POST", "/api/v1/images?model=model_1&name=conv1/feature_maps",
                               png, {"Content-Type": "image/png"})
    assert status == 200
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "__readme__"}
    exec(snippet("Reading back in a notebook").replace("8120", str(server.port)), ns)
    assert ns["loss"]["value"].tolist() == [2.0, 1.5] and ns["png"] == png
    assert ns["runs"]["model"].tolist() == ["model_1"]
    assert ns["table"]["train_loss"].tolist() == [2.0, 1.5]


def test_runs_of_a_real_log(server, tmp_path):
    log = pastalog.Log(server.port, "real", config={"optimizer": {"lr": 0.1}, "epochs": 2},
                       tags=["baseline"], notes="from a Log", spool_dir=str(tmp_path / "sp"))
    for step in range(5):
        log.write("loss", 1.0 / (step + 1))
    log.config.update({"seed": 7})
    log.close()
    runs = pastalog.Api(server.port).runs()
    row = runs[runs["model"] == "real"].iloc[0]
    assert row["status"] == "finished" and row["tags"] == ["baseline"]
    assert (row["config/optimizer/lr"], row["config/epochs"], row["config/seed"]) == (0.1, 2, 7)
    assert (row["loss.last"], row["loss.min"], row["loss.max"]) == (0.2, 0.2, 1.0)
    assert row["start"] <= row["end"]


class _Terminal:
    """A stderr that says it is a terminal, keeping what is drawn on it."""

    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_a_progress_bar_only_on_a_terminal(written, monkeypatch, capsys):
    api = pastalog.Api(written.port)
    api.history("m", "loss")
    assert capsys.readouterr().err == ""           # not a terminal: nothing drawn
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    api.history("m", "loss")
    assert "reading m" in term.text and "100.0%" in term.text and "6 points" in term.text
    assert term.text.endswith("\r\x1b[K")           # the line is cleared at the end
