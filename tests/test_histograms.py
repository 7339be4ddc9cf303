"""Histograms end to end: client binning, the wire, both stores, thinning, live, transfer."""
import json
import logging
import time

import numpy as np
import pytest

import pastalog
from pastalog import _histogram
from pastalog._histogram import summarize
from pastalog.errors import InvalidValue
from pastalog.server.store import Store
from pastalog.server.store.histograms import check_record
from pastalog.server.transfer import export_file, import_file
from pastalog.wire import decode_histograms


def _get(server, model, name, **query):
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    status, body = server.get_json(f"/api/v1/histograms?model={model}&name={name}{extra}")
    assert status == 200, body
    return body


def _record(step, value=1.0, **over):
    rec = {"model": "m", "name": "w", "step": step, "edges": [0, value, 2 * value],
           "counts": [1, 2], "count": 3, "min": 0, "max": 2 * value, "sum": 3 * value,
           "sumsq": 5 * value ** 2, "nan": 0, "posinf": 0, "neginf": 0}
    rec.update(over)
    return rec


def test_client_histograms_are_exact_on_both_stores(make_server_on):
    server = make_server_on().start()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 333)).astype(np.float32)
    x[0, :7] = np.nan
    x[1, :3] = np.inf
    x[2, :2] = -np.inf
    with pastalog.Log(server.port, "m", spool_dir=False) as log:
        log.histogram("w", x, bins=50)
        log.histogram("w", [])                       # empty: a record of count 0
        log.histogram("w", [float("nan")] * 5)       # all NaN: only counted
        log.histogram("w", np.full(10, 3.5))         # constant: one bin
        log.histogram("w", list(range(10)), step=100, bins=3)
        log.write("loss", 1.0)
        assert log.flush(timeout=20)
    got = _get(server, "m", "w")
    assert got["total"] == 5
    full, empty, nans, const, ints = got["records"]
    assert [r["step"] for r in got["records"]] == [0, 1, 2, 3, 100]

    finite = x[np.isfinite(x)].astype(np.float64)
    assert full["count"] == finite.size == sum(full["counts"])
    assert (full["nan"], full["posinf"], full["neginf"]) == (7, 3, 2)
    assert full["min"] == finite.min() and full["max"] == finite.max()
    assert full["sum"] == pytest.approx(finite.sum(), rel=1e-12, abs=1e-9)
    assert full["sumsq"] == pytest.approx(np.dot(finite, finite), rel=1e-12)
    counts, edges = np.histogram(finite, bins=50, range=(finite.min(), finite.max()))
    assert full["counts"] == counts.tolist() and np.allclose(full["edges"], edges, rtol=0)

    assert (empty["count"], empty["edges"], empty["counts"], empty["min"]) == (0, [], [], "NaN")
    assert (nans["count"], nans["nan"], nans["counts"]) == (0, 5, [])
    assert (const["edges"], const["counts"], const["min"]) == ([3.5, 3.5], [10.0], 3.5)
    assert ints["counts"] == [3.0, 3.0, 4.0] and ints["sumsq"] == 285

    listed = server.get_json("/api/v1/models/m")[1]["histograms"]
    assert listed == [{"name": "w", "count": 5, "first_step": 0, "last_step": 100,
                       "last_time": listed[0]["last_time"]}]


def test_thinning_keeps_first_and_last_and_spreads_evenly(any_store):
    recs = [check_record(_record(s * 3)) for s in range(1000)]
    assert len(any_store.write_histograms(recs, "b1")) == 1000
    assert any_store.write_histograms(recs, "b1") is None         # idempotent batch
    got = any_store.read_histograms("m", "w", limit=50)
    steps = [r["step"] for r in got["records"]]
    assert got["total"] == 1000 and len(steps) == 50
    assert steps[0] == 0 and steps[-1] == 2997
    gaps = np.diff(steps) / 3
    assert gaps.min() >= 999 / 49 - 1 and gaps.max() <= 999 / 49 + 1
    part = any_store.read_histograms("m", "w", x0=30, x1=60, limit=2000)
    assert part["total"] == 11 and [r["step"] for r in part["records"]] == list(range(30, 61, 3))
    few = any_store.read_histograms("m", "w", x0=30, x1=60, limit=3)
    assert [r["step"] for r in few["records"]] == [30, 45, 60]
    assert any_store.read_histograms("m", "nope") is None
    assert any_store.read_histograms("m", "w", x0=10**6)["total"] == 0


def test_the_store_reads_only_the_chosen_payloads(any_store):
    """Choosing reads ids from the index; only the chosen records are decoded."""
    recs = [check_record(_record(s)) for s in range(3000)]
    any_store.write_histograms(recs)
    seen = []
    real = any_store._records_by_id
    any_store._records_by_id = lambda conn, ids: seen.append(len(ids)) or real(conn, ids)
    got = any_store.read_histograms("m", "w", limit=200)
    assert seen == [200] and len(got["records"]) == 200
    from store_helpers import is_postgres, sql

    if not is_postgres(any_store):   # choosing reads the index alone
        plan = sql(any_store, "EXPLAIN QUERY PLAN SELECT id FROM histograms WHERE model_id=? "
                   "AND name=? AND step BETWEEN ? AND ? ORDER BY step, id", (1, "w", 0, 9))
        assert "COVERING INDEX histograms_by_name" in plan[0][-1]


def test_http_thinning_limits_and_bad_queries(make_server_on):
    server = make_server_on().start()
    status, _ = server.post_json("/api/v1/histograms",
                                 {"histograms": [_record(s) for s in range(300)]})
    assert status == 200
    assert len(_get(server, "m", "w")["records"]) == 200              # the default
    assert len(_get(server, "m", "w", limit=2000)["records"]) == 300
    for query, word in (("limit=1", "limit"), ("limit=2001", "limit"), ("x0=a", "x0"),
                        ("x0=5&x1=4", "x1")):
        status, body = server.get_json(f"/api/v1/histograms?model=m&name=w&{query}")
        assert status == 400 and word in body["error"], (query, body)
    assert server.get_json("/api/v1/histograms?model=m&name=zz")[0] == 404


@pytest.mark.parametrize("change, field", [
    ({"counts": [1, "x"]}, "histograms[0].counts[1]"),
    ({"counts": [1, -2]}, "histograms[0].counts"),
    ({"edges": [0, 1]}, "histograms[0].edges"),
    ({"edges": [0, 2, 1]}, "histograms[0].edges"),
    ({"edges": [0, "Infinity", 1]}, "histograms[0].edges"),
    ({"count": -1}, "histograms[0].count"),
    ({"count": 1.5}, "histograms[0].count"),
    ({"min": "low"}, "histograms[0].min"),
    ({"step": 2**53}, "histograms[0].step"),
    ({"step": "3"}, "histograms[0].step"),
    ({"time": "Infinity"}, "histograms[0].time"),
    ({"name": ""}, "histograms[0].name"),
    ({"model": 5}, "histograms[0].model"),
    ({"edges": list(range(10_002)), "counts": [1] * 10_001}, "10000"),
])
def test_json_ingest_errors_are_400_naming_the_field(server, change, field):
    rec = _record(0)
    rec.update(change)
    status, body = server.post_json("/api/v1/histograms", {"histograms": [rec]})
    assert status == 400 and field in body["error"], body
    assert server.get_json("/api/v1/models")[1]["models"] == []      # nothing stored


def test_missing_statistic_and_bad_bodies_are_400(server):
    rec = _record(0)
    del rec["sumsq"]
    status, body = server.post_json("/api/v1/histograms", {"histograms": [rec]})
    assert status == 400 and "histograms[0].sumsq is missing" in body["error"]
    for payload in ([], {"histograms": 3}):
        status, body = server.post_json("/api/v1/histograms", payload)
        assert status == 400 and "'histograms' list" in body["error"]
    status, body = server.request("POST", "/api/v1/histograms", b"PLB1\x05\x00\x00\x00{}",
                                  {"Content-Type": "application/vnd.pastalog.batch"})
    assert status == 400 and "bad histogram batch body" in body["error"]


def test_live_event_delete_and_listing(server):
    from fault_helpers import RawWebSocket

    ws = RawWebSocket(server.port, "/ws?model=m")
    assert ws.events()[0]["type"] == "hello"
    with pastalog.Log(server.port, "m", spool_dir=False) as log:
        log.histogram("layer<b>/W", np.arange(10.0), step=4, bins=5)
        assert log.flush(timeout=20)
    events = [e for e in ws.events() if e["type"] == "histogram"]
    assert len(events) == 1
    ev = events[0]
    assert (ev["model"], ev["name"], ev["step"], ev["count"]) == ("m", "layer<b>/W", 4, 10)
    assert ev["counts"] == [2.0] * 5 and len(ev["edges"]) == 6
    assert set(ev) == {"type", "model", "name", "step", "time", "edges", "counts", "min", "max",
                       "count", "sum", "sumsq", "nan", "posinf", "neginf"}
    status, body = server.request("DELETE", "/api/v1/histograms?model=m&name=layer%3Cb%3E/W")
    assert (status, body) == (200, {"ok": True, "deleted": 1})
    assert [e for e in ws.events() if e["type"] == "deleted"] == \
        [{"type": "deleted", "model": "m", "histogram": "layer<b>/W"}]
    ws.close()
    assert server.get_json("/api/v1/models/m")[1]["histograms"] == []
    assert server.request("DELETE", "/api/v1/histograms?model=m&name=layer%3Cb%3E/W")[0] == 404


def test_a_models_delete_takes_its_histograms(any_store):
    any_store.write_histograms([check_record(_record(s)) for s in range(3)])
    any_store.write_points([("m", "loss", [0], [1.0], [1.0])])
    assert any_store.delete_model("m") == 4
    assert any_store.read_histograms("m", "w") is None
    any_store.write_histograms([check_record(_record(None))])   # a fresh start from step 0
    assert [r["step"] for r in any_store.read_histograms("m", "w")["records"]] == [0]


def test_export_import_round_trip(any_store, tmp_path):
    recs = [check_record(_record(s, value=s + 1.0)) for s in range(700)]
    recs.append(check_record(_record(700, edges=[], counts=[], count=0, min="NaN",
                                     max="NaN", sum=0, sumsq=0, nan=3)))
    recs.append(check_record(_record(0, name="b")))
    any_store.write_histograms(recs)
    out = tmp_path / "backup.jsonl.gz"
    assert export_file(any_store, out)[2] == 702
    other = Store(tmp_path / "other")
    try:
        assert import_file(other, out)["histograms"] == 702
        assert import_file(other, out)["histograms"] == 0          # twice: stored once
        for name in ("w", "b"):
            a = any_store.read_histograms("m", name, limit=2000)
            b = other.read_histograms("m", name, limit=2000)
            assert json.dumps(a, default=_plain) == json.dumps(b, default=_plain)
    finally:
        other.close()


def _plain(obj):
    return [None if x != x else x for x in obj.tolist()]


def test_summarize_in_small_chunks_equals_one_piece():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(100_003).astype(np.float32)
    x[::997] = np.nan
    x[5] = -np.inf
    whole = summarize(x, 64, chunk=len(x))
    pieces = summarize(x, 64, chunk=1000)
    assert whole["counts"].tolist() == pieces["counts"].tolist()
    for key in ("count", "min", "max", "nan", "posinf", "neginf"):
        assert whole[key] == pieces[key]
    assert pieces["sum"] == pytest.approx(whole["sum"], rel=1e-9, abs=1e-6)
    assert pieces["sumsq"] == pytest.approx(whole["sumsq"], rel=1e-12)


def test_big_values_are_binned_on_the_callers_thread_past_the_bound(monkeypatch):
    monkeypatch.setattr(_histogram, "MAX_PENDING_BYTES", 1000)
    pending = _histogram.Pending()
    small = _histogram.Histogram(np.zeros(100, np.float32), _pending=pending)
    assert small._values is not None and small.nbytes == 400         # copied, binned later
    pending.add(("w", 0, 0.0, small))
    big = _histogram.Histogram(np.zeros(200, np.float32), _pending=pending)
    assert big._values is None and big._record["count"] == 200      # binned at once


def test_bad_values_raise_at_once():
    log = pastalog.Log(8120, "m", spool_dir=False, transport=lambda *a: (200, b"{}"))
    try:
        for values in ([[1, 2], [3]], ["a", "b"], "abc", {"a": 1}, None, [1 + 2j]):
            with pytest.raises(InvalidValue):
                log.histogram("w", values)
        for bins in (0, 10_001, 2.5, True):
            with pytest.raises(InvalidValue, match="bins"):
                log.histogram("w", [1.0], bins=bins)
        with pytest.raises(pastalog.InvalidName):
            log.histogram("", [1.0])
        with pytest.raises(InvalidValue, match="step"):
            log.histogram("w", [1.0], step=2**53)
        assert log._accepted == 0
    finally:
        log.close()


def test_torch_tensors_and_the_wandb_style_api():
    torch = pytest.importorskip("torch")
    sent = []

    def transport(path, body, ctype):
        sent.append((path, body))
        return 200, b"{}"

    run = pastalog._run.Run("r", server=8120, spool_dir=False, transport=transport)
    try:
        w = torch.arange(12, dtype=torch.float32, requires_grad=True).reshape(3, 4)
        run.log({"loss": 1.0, "layer": {"W": pastalog.Histogram(w, bins=4)}})
        run.log_.histogram("grad", torch.ones(5, dtype=torch.bfloat16), step=7)
        assert run.log_.flush(timeout=10)
    finally:
        run.finish()
    hists = [rec for path, body in sent if path == "/api/v1/histograms"
             for rec in decode_histograms(body)[1]]
    assert [(r["name"], r["step"], r["count"]) for r in hists] == [("layer/W", 0, 12),
                                                                     ("grad", 7, 5)]
    assert hists[0]["counts"].tolist() == [3.0, 3.0, 3.0, 3.0]
    assert any(path == "/api/v1/points" for path, _ in sent)


def test_a_server_without_histograms_is_told_once_and_points_still_flow(caplog):
    sent = []

    def old_server(path, body, ctype):
        sent.append(path)
        return (404, b'{"error": "not found"}') if path == "/api/v1/histograms" else (200, b"{}")

    log = pastalog.Log(8120, "m", spool_dir=False, transport=old_server)
    with caplog.at_level(logging.WARNING, logger="pastalog"):
        for i in range(3):
            log.histogram("w", [1.0, 2.0])
            log.write("loss", float(i))
            log.flush(timeout=10)
        log.close()
    warnings = [r for r in caplog.records if "does not take histograms" in r.getMessage()]
    assert len(warnings) == 1
    assert sent.count("/api/v1/points") >= 1 and log.dropped == 3


def test_histograms_cross_servers_on_postgres(make_server, pg_url):
    from fault_helpers import RawWebSocket

    a, b = (make_server(extra_args=["--store", pg_url]).start() for _ in range(2))
    ws = RawWebSocket(a.port, "/ws?model=m")
    assert ws.events()[0]["type"] == "hello"
    deadline = time.monotonic() + 20
    got = []
    while not got and time.monotonic() < deadline:   # until A's listener is up
        assert b.post_json("/api/v1/histograms", {"histograms": [_record(None)]})[0] == 200
        try:
            ws.sock.settimeout(1.0)
            got = [e for e in ws.events() if e["type"] == "histogram"]
        except OSError:
            pass
    ws.close()
    assert got and got[0]["counts"] == [1.0, 2.0] and got[0]["name"] == "w"


def test_torch_addons_log_weight_gradient_and_activation_histograms(server):
    torch = pytest.importorskip("torch")
    import pastalog.torch as pt

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pastalog.Log(server.port, "torchnet", spool_dir=False) as log:
        watcher = pt.watch(net, log, every=2, what="all")
        show = pt.activations(net, log=log, images=False)
        x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
        for step in range(4):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
        show(x, step=3)
        watcher.remove()
        assert log.flush(timeout=20)
    body = server.get_json("/api/v1/models/torchnet")[1]
    hists = {h["name"]: (h["count"], h["first_step"], h["last_step"])
             for h in body["histograms"]}
    assert hists == {"parameters/0": (2, 0, 2), "parameters/2": (2, 0, 2),
                     "gradients/0": (2, 0, 2), "gradients/2": (2, 0, 2),
                     "0/activations": (1, 3, 3), "1/activations": (1, 3, 3),
                     "2/activations": (1, 3, 3)}
    series = {s["name"] for s in body["series"]}
    assert {"parameters/0/norm", "gradients/0/norm", "1/zero_fraction"} <= series
    weights = _get(server, "torchnet", "parameters/2")["records"][-1]
    assert weights["count"] == 8 * 2 + 2                           # weight and bias together
    relu = _get(server, "torchnet", "1/activations")["records"][0]
    assert relu["count"] == 16 * 8 and relu["min"] == 0.0


def test_a_store_from_before_histograms_upgrades_in_place(store_location):
    from store_helpers import is_postgres, sql

    store = Store(store_location)
    store.write_points([("m", "loss", [0, 1], [2.0, 1.0], [1.0, 2.0])])
    old = "1" if is_postgres(store) else "2"     # the version before histograms
    sql(store, "DROP TABLE hist_names")
    sql(store, "DROP TABLE histograms")
    sql(store, "UPDATE meta SET value=? WHERE key='schema_version'", (old,))
    store.close()
    store = Store(store_location)
    try:
        new = sql(store, "SELECT value FROM meta WHERE key='schema_version'")[0][0]
        assert int(new) == int(old) + 1
        assert store.read_series("m", "loss")["values"].tolist() == [2.0, 1.0]
        store.write_histograms([check_record(_record(0))])
        assert store.read_histograms("m", "w")["total"] == 1
    finally:
        store.close()


def test_histograms_wait_in_the_spool_while_the_server_is_down(tmp_path):
    from helpers import ServerProcess, free_port

    port = free_port()
    spool = tmp_path / "spool"
    log = pastalog.Log(port, "m", spool_dir=spool, close_timeout=0.5, handle_signals=False)
    log.histogram("w", np.arange(100.0), step=5, bins=10)
    log.write("loss", 1.0)
    log.close()                                   # nobody listens: spooled
    server = ServerProcess(tmp_path / "data", port=port).start()
    try:
        again = pastalog.Log(port, "m", spool_dir=spool, handle_signals=False)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            again.flush(timeout=1)
            if server.get_json("/api/v1/histograms?model=m&name=w")[0] == 200:
                break
        again.close()
        got = _get(server, "m", "w")
        assert got["total"] == 1 and got["records"][0]["counts"] == [10.0] * 10
        assert got["records"][0]["step"] == 5
    finally:
        server.stop()
