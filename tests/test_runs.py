"""Runs (issue 14): config, tags, notes, provenance, status and resumed steps, through a
real server on each store (SQLite and PostgreSQL), and the upgrade of old stores."""
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import time
import urllib.parse

import numpy as np
import pytest

from helpers import ROOT

import pastalog
from pastalog.errors import InvalidValue
from pastalog.limits import MAX_CONFIG_KEYS

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def run_of(server, model):
    status, body = server.get_json("/api/v1/runs/" + urllib.parse.quote(model))
    assert status == 200, body
    return body


def wait_for(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def client_process(tmp_path, server, body, *, cwd=None, env=None):
    """A client script in its own process (``server`` and ``pastalog`` imported)."""
    script = tmp_path / "client.py"
    script.write_text("import sys, time\nimport pastalog\nserver = %r\n" % server.url
                      + textwrap.dedent(body))
    return subprocess.Popen(
        [sys.executable, str(script)], cwd=cwd or str(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=ROOT, **(env or {})))


# -- config, tags, notes -----------------------------------------------------------------

def test_config_tags_and_notes_round_trip_and_config_updates_merge(make_server_on):
    server = make_server_on().start()
    log = pastalog.Log(server.port, "r1", config={"optimizer": {"lr": 0.1, "name": "sgd"},
                                                  "layers": [64, 32], "nan": float("nan"),
                                                  "flag": True, "none": None},
                       tags=["baseline", "<b>bold</b>"], notes="first <i>try</i>")
    log.write("loss", 2.0)
    assert log.flush(timeout=20)
    log.config.update({"optimizer": {"lr": 0.05}}, epochs=3)
    log.config["seed"] = 7
    assert log.flush(timeout=20)
    run = run_of(server, "r1")
    assert run["config"] == {"optimizer/lr": 0.05, "optimizer/name": "sgd", "layers": [64, 32],
                             "nan": "NaN", "flag": True, "none": None, "epochs": 3, "seed": 7}
    assert run["tags"] == ["baseline", "<b>bold</b>"]      # markup is just text
    assert run["notes"] == "first <i>try</i>"
    assert run["status"] == "running" and run["error"] is None
    assert run["series"]["loss"] == {"last": 2.0, "min": 2.0, "max": 2.0, "count": 1,
                                     "last_step": 0}
    log.close()
    run = run_of(server, "r1")
    assert run["status"] == "finished" and run["end"] >= run["start"]
    assert run["config"]["seed"] == 7


def test_the_listing_has_every_model_with_series_stats_in_pages(make_server_on):
    server = make_server_on().start()
    status, _ = server.post_json("/data", [
        {"modelName": "plain", "pointType": "loss", "pointValue": v, "globalStep": i}
        for i, v in enumerate([3.0, float("nan"), 1.0, 2.0])])
    assert status == 200
    with pastalog.Log(server.port, "a-run", config={"lr": 1}) as log:
        log.write("acc", 0.5)
    status, body = server.get_json("/api/v1/runs")
    assert status == 200 and body["next"] is None
    assert [r["model"] for r in body["runs"]] == ["a-run", "plain"]
    plain = body["runs"][1]
    assert plain["status"] is None and plain["config"] == {} and plain["tags"] == []
    assert plain["provenance"] is None and plain["restarts"] == []
    assert plain["series"]["loss"] == {"last": 2.0, "min": 1.0, "max": 3.0, "count": 4,
                                       "last_step": 3}
    assert plain["series_count"] == 1
    status, body = server.get_json("/api/v1/runs?limit=1")
    assert [r["model"] for r in body["runs"]] == ["a-run"] and body["next"] == "a-run"
    status, body = server.get_json("/api/v1/runs?limit=1&after=a-run")
    assert [r["model"] for r in body["runs"]] == ["plain"] and body["next"] is None
    status, body = server.get_json("/api/v1/runs?q=PLA")
    assert [r["model"] for r in body["runs"]] == ["plain"]
    assert server.get_json("/api/v1/runs/nope")[0] == 404
    assert server.get_json("/api/v1/runs?limit=10001")[0] == 400


@pytest.mark.parametrize("kwargs, message", [
    ({"config": {"f": object()}}, "config 'f': object"),
    ({"config": {"k" * 257: 1}}, "257 characters"),
    ({"config": {f"k{i}": i for i in range(10_000)}}, "10,000 keys"),
    ({"config": {"s": "x" * 4097}}, "4,097 characters"),
    ({"config": {"l": list(range(1001))}}, "1,001 items"),
    ({"config": {"l": [[1]]}}, "config 'l': list"),
    ({"tags": ["ok", "bad\x07"]}, "control character"),
    ({"tags": "one"}, "tags must be a list"),
    ({"tags": ["t"] * 0 + [f"t{i}" for i in range(101)]}, "101 tags"),
    ({"tags": ["x" * 129]}, "1 to 128"),
    ({"notes": "n" * 65537}, "65,537"),
    ({"notes": 3}, "notes must be a string"),
])
def test_bad_config_tags_or_notes_raise_at_once_naming_the_problem(kwargs, message):
    sent = []
    with pytest.raises(InvalidValue, match=message):
        pastalog.Log(8120, "m", transport=lambda *a: sent.append(a) or (200, b"{}"), **kwargs)
    assert sent == []


def test_a_bad_config_update_raises_and_keeps_the_config():
    log = pastalog.Log(8120, "m", config={"a": 1}, capture=False,
                       transport=lambda *a: (200, b"{}"))
    with pytest.raises(InvalidValue, match="257"):
        log.config.update({"k" * 257: 1})
    with pytest.raises(InvalidValue, match="keys"):
        log.config.update({f"k{i}": i for i in range(MAX_CONFIG_KEYS)})
    with pytest.raises(TypeError):
        log.config["f"] = print
    assert dict(log.config) == {"a": 1}
    log.close()


def test_the_server_refuses_bad_run_records_and_patches_with_400_keeping_data(make_server_on):
    server = make_server_on().start()
    with pastalog.Log(server.port, "keep", config={"a": 1}, tags=["t"]) as log:
        log.write("loss", 1.0)
    good = {"model": "keep", "session": "s", "time": 1.0}
    for bad in [{"runs": [dict(good, config={"k" * 257: 1})]},
                {"runs": [dict(good, config={f"k{i}": i for i in range(10_000)})]},
                {"runs": [dict(good, config={"x": {"nested": 1}})]},
                {"runs": [dict(good, tags=["a\nb"])]},
                {"runs": [dict(good, status="sleeping")]},
                {"runs": [dict(good, time="now")]},
                {"runs": [dict(good, session="")]},
                {"runs": [dict(good, model="")]},
                {"runs": [dict(good, provenance={"pid": "x"})]},
                {"runs": [dict(good, extra=1)]},
                {"runs": "no"}, [1, 2]]:
        status, body = server.post_json("/api/v1/runs", bad)
        assert status == 400 and body["error"], (bad, body)
    status, body = server.post_json("/api/v1/runs", {"runs": [dict(
        good, config={f"n{i}": i for i in range(MAX_CONFIG_KEYS)})]})
    assert status == 400 and "1,000" in body["error"]   # merged past the limit
    for bad in [{"tags": "x"}, {"tags": ["\x00"]}, {"notes": 5}, {"status": "finished"}, {}]:
        status, body = server.request("PATCH", "/api/v1/runs/keep", bad)
        assert status == 400 and body["error"], (bad, body)
    run = run_of(server, "keep")
    assert run["config"] == {"a": 1} and run["tags"] == ["t"] and run["status"] == "finished"
    assert server.points("keep", "loss") == {0: 1.0}


def test_patch_replaces_tags_and_notes_and_404s_an_unknown_model(make_server_on):
    server = make_server_on().start()
    server.post_json("/data", {"modelName": "old", "pointType": "loss", "pointValue": 1})
    status, run = server.request("PATCH", "/api/v1/runs/old",
                                 {"tags": ["<script>x</script>", "keep"], "notes": "n"})
    assert status == 200 and run["tags"] == ["<script>x</script>", "keep"]
    assert run["notes"] == "n" and run["status"] is None and run["start"] is None
    status, run = server.request("PATCH", "/api/v1/runs/old", {"notes": "only notes"})
    assert run["tags"] == ["<script>x</script>", "keep"] and run["notes"] == "only notes"
    status, body = server.request("PATCH", "/api/v1/runs/ghost", {"tags": []})
    assert status == 404 and "ghost" in body["error"]


# -- provenance and status -----------------------------------------------------------------

def test_provenance_has_the_process_and_the_git_commit_of_the_script_repository(
        make_server_on, tmp_path):
    server = make_server_on().start()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    body = """
        with pastalog.Log(server, sys.argv[1]) as log:
            log.write("loss", 1.0)
    """
    script = tmp_path / "client.py"
    script.write_text("import sys\nimport pastalog\nserver = %r\n" % server.url
                      + textwrap.dedent(body))
    in_repo = ROOT + "/tests"     # the script's directory decides, not the cwd
    for where, model in ((in_repo, "in-repo"), (str(tmp_path), "no-git")):
        target = os.path.join(where, "_run_client_tmp.py") if where == in_repo else str(script)
        if where == in_repo:
            with open(target, "w") as fh:
                fh.write(script.read_text())
        try:
            subprocess.run([sys.executable, target, model], cwd=str(tmp_path), check=True,
                           env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
        finally:
            if where == in_repo:
                os.unlink(target)
    prov = run_of(server, "in-repo")["provenance"]
    assert prov["git"]["commit"] == head and prov["git"]["dirty"] in (True, False)
    assert prov["pid"] > 0 and prov["host"] and prov["python"] == sys.version.split()[0]
    assert prov["pastalog"] == pastalog.__version__ and prov["cwd"] == str(tmp_path)
    assert prov["argv"][1:] == ["in-repo"]
    assert run_of(server, "no-git")["provenance"]["git"] is None
    assert run_of(server, "no-git")["status"] == "finished"


def test_git_is_read_without_git_when_git_is_missing(tmp_path):
    from pastalog._provenance import git_info

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert git_info(ROOT, use_git=False) == {"commit": head, "dirty": None}
    # a plain repository with packed refs
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "packed-refs").write_text("# pack-refs\n" + "a" * 40
                                               + " refs/heads/main\n")
    (repo / "sub").mkdir()
    assert git_info(str(repo / "sub"), use_git=False) == {"commit": "a" * 40, "dirty": None}
    assert pastalog.Log(8120, "m", capture=False, transport=lambda *a: (200, b"{}")) \
        ._records[0].get("provenance") is None


def test_a_client_killed_with_9_reads_as_crashed_once_its_heartbeat_is_stale(
        make_server_on, tmp_path):
    server = make_server_on(extra_args=["--run-stale-seconds", "2"]).start()
    proc = client_process(tmp_path, server, """
        log = pastalog.Log(server, "killed")
        log.write("loss", 1.0)
        log.flush(timeout=20)
        print("ready", flush=True)
        time.sleep(600)
    """, env={"PASTALOG_HEARTBEAT_SECONDS": "0.3"})
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(2.5)     # past the stale time: the heartbeats keep it running
        assert run_of(server, "killed")["status"] == "running"
        proc.kill()
        proc.wait()
        run = wait_for(lambda: (lambda r: r if r["status"] == "crashed" else None)(
            run_of(server, "killed")), timeout=10)
        assert run, run_of(server, "killed")
        assert run["error"]["type"] == "Lost" and run["end"] == run["heartbeat"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_an_uncaught_exception_closes_the_run_as_crashed_with_its_type_and_message(
        make_server_on, tmp_path):
    server = make_server_on().start()
    proc = client_process(tmp_path, server, """
        log = pastalog.Log(server, "boom")
        for i in range(3):
            log.write("loss", float(i))
        raise ValueError("the <b>loss</b> exploded")
    """)
    _, err = proc.communicate(timeout=120)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == 1 and "ValueError" in err
    run = run_of(server, "boom")
    assert run["status"] == "crashed", err
    assert run["error"] == {"type": "ValueError", "message": "the <b>loss</b> exploded"}
    assert server.points("boom", "loss") == {0: 0.0, 1: 1.0, 2: 2.0}


# -- re-running under a used name ---------------------------------------------------------

def test_a_rerun_continues_each_series_after_the_stored_last_step(make_server_on):
    server = make_server_on().start()
    with pastalog.Log(server.port, "again") as first:
        for i in range(5):
            first.write("loss", float(i))
        first.write("lr", 0.1)
    with pastalog.Log(server.port, "again") as second:
        for i in range(3):
            second.write("loss", 10.0 + i)
        second.write("acc", 0.5)            # a new series starts at 0
        second.write("lr", 0.2, step=50)    # explicit: absolute
        second.write("lr", 0.3)             # ... from then on
    assert server.points("again", "loss") == {0: 0.0, 1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0,
                                              5: 10.0, 6: 11.0, 7: 12.0}
    assert server.points("again", "acc") == {0: 0.5}
    assert server.points("again", "lr") == {0: 0.1, 50: 0.2, 51: 0.3}
    run = run_of(server, "again")
    assert [r["step"] for r in run["restarts"]] == [5]
    assert run["status"] == "finished"
    with pastalog.Log(server.port, "again", resume=False) as third:    # may interleave
        third.write("loss", 99.0)
    assert server.points("again", "loss")[0] in (0.0, 99.0)
    status, body = server.get_json("/api/v1/series?model=again&series=loss")
    assert sorted(body["steps"]) == [0, 0, 1, 2, 3, 4, 5, 6, 7]


def test_relative_batches_map_the_same_way_when_sent_again(make_server_on):
    from pastalog.wire import CONTENT_TYPE, encode_batch

    server = make_server_on().start()
    server.post_json("/data", [{"modelName": "m", "pointType": "s", "pointValue": 1.0,
                                "globalStep": i} for i in range(10)])
    one = encode_batch("b1", [("m", "s", [0, 1], [5.0, 6.0], [1.0, 1.0], True)], "sess")
    two = encode_batch("b2", [("m", "s", [2], [7.0], [1.0], True)], "sess")
    for body in (one, one, two, two):       # retries: stored once, at the same steps
        status, _ = server.request("POST", "/api/v1/points", body,
                                   {"Content-Type": CONTENT_TYPE})
        assert status == 200
    status, _ = server.post_json("/api/v1/points", {"batch": "b3", "session": "sess", "series": [
        {"model": "m", "name": "s", "steps": [3], "values": [8.0], "relative": True}]})
    assert status == 200
    points = server.points("m", "s")
    assert [points[k] for k in (10, 11, 12, 13)] == [5.0, 6.0, 7.0, 8.0] and len(points) == 14
    status, body = server.post_json("/api/v1/points", {"series": [
        {"model": "m", "name": "s", "steps": [3], "values": [8.0], "relative": True}]})
    assert status == 400 and "session" in body["error"]
    # POST /data and explicit steps keep their meaning
    server.post_json("/data", {"modelName": "m", "pointType": "s", "pointValue": 0.5,
                               "globalStep": 2})
    server.post_json("/data", {"modelName": "m", "pointType": "s", "pointValue": 0.25})
    status, body = server.get_json("/api/v1/series?model=m&series=s")
    # (a step-less point goes after the last written step, 2, as before)
    assert body["steps"].count(2) == 2 and body["steps"].count(3) == 2


def test_an_old_server_without_runs_gets_points_and_one_warning(caplog):
    from pastalog.wire import decode_batch

    got = []

    def old_server(path, body, ctype):
        if path == "/api/v1/runs":
            return 404, b'{"error": "POST /api/v1/runs: 404 Not Found"}'
        _, series = decode_batch(body)
        head = json.loads(bytes(body[8:8 + int.from_bytes(body[4:8], "little")]))
        if any(len(entry) != 3 for entry in head["series"]):    # as the old decoder
            return 400, (b'{"error": "bad batch body: header series[0] must be '
                         b'[model, name, count]"}')
        got.extend(len(s[3]) // 8 for s in series)
        return 200, b"{}"

    log = pastalog.Log(8120, "m", transport=old_server, spool_dir=False)
    for i in range(5):
        log.write("loss", float(i))
    log.config["lr"] = 0.1
    assert log.flush(timeout=10)
    log.write("loss", 5.0)
    log.close()
    assert sum(got) == 6
    warnings = [r for r in caplog.records if "run records" in r.getMessage()]
    assert len(warnings) == 1


def test_write_stays_free_of_run_work():
    """The implicit-step write path reads no flag (issue 16: write() near 0.5 µs); the
    pure-Python write is checked (the compiled one reads it on the explicit branch too)."""
    import dis

    from pastalog.client import _PyWriter

    names = {i.argval for i in dis.get_instructions(_PyWriter.write)}
    assert "relative" in names and "_absolute" in names   # on the explicit branch only
    source = dis.Bytecode(_PyWriter.write).dis()
    explicit = source.index("_as_step")
    assert source.index("relative") > explicit


# -- storage -------------------------------------------------------------------------------

def test_delete_of_a_model_deletes_its_run(make_server_on):
    server = make_server_on().start()
    with pastalog.Log(server.port, "gone", config={"a": 1}) as log:
        log.write("loss", 1.0)
    assert server.request("DELETE", "/api/v1/models/gone")[0] == 200
    assert server.get_json("/api/v1/runs/gone")[0] == 404
    with pastalog.Log(server.port, "gone") as log:
        log.write("loss", 2.0)
    run = run_of(server, "gone")
    assert run["config"] == {} and run["restarts"] == [] and run["series"]["loss"]["count"] == 1


def test_export_and_import_keep_runs(any_store, tmp_path):
    from pastalog.server.store import Store
    from pastalog.server.store.runs import check_record
    from pastalog.server.transfer import export_file, import_file

    any_store.write_points([("r", "loss", [0, 1], [2.0, 1.0], [1.0, 2.0])])
    any_store.write_runs([check_record(r, 0) for r in (
        {"model": "r", "session": "s", "time": 10.0, "status": "running",
         "config": {"lr": 0.1, "opt/name": "adam"}, "tags": ["a", "<b>"], "notes": "n",
         "provenance": {"host": "h", "pid": 1, "git": {"commit": "c" * 40, "dirty": False}}},
        {"model": "r", "session": "s", "time": 20.0, "status": "crashed",
         "error": {"type": "KeyError", "message": "'x'"}})])
    path = tmp_path / "out.jsonl.gz"
    export_file(any_store, str(path))
    before = any_store.run("r")
    target = Store(str(tmp_path / "fresh"))
    try:
        counts = import_file(target, str(path))
        assert counts["runs"] == 1 and counts["points"] == 2
        after = target.run("r")
        for key in ("status", "error", "config", "tags", "notes", "provenance", "start",
                    "end", "series"):
            assert after[key] == before[key], key
        import_file(target, str(path))          # twice: the same run
        assert target.run("r")["config"] == before["config"]
    finally:
        target.close()


def _points_of(store, model, name):
    got = store.read_series(model, name)
    return got["steps"].tolist(), got["values"].tolist()


def test_a_v2_sqlite_data_dir_upgrades_in_place(tmp_path):
    """tests/fixtures/store-v2.tar: a data dir written by the code before runs (d17a546)."""
    from pastalog.server.store import Store
    from pastalog.server.store.sqlite import SCHEMA_VERSION

    data = tmp_path / "data"
    data.mkdir()
    with tarfile.open(os.path.join(FIXTURES, "store-v2.tar")) as tar:
        tar.extractall(data)
    import sqlite3
    with sqlite3.connect(data / "pastalog.sqlite3") as conn:
        assert conn.execute("SELECT value FROM meta").fetchone()[0] == "2"
    store = Store(str(data))
    try:
        with sqlite3.connect(data / "pastalog.sqlite3") as conn:
            assert conn.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)
        steps, values = _points_of(store, "old-run", "loss")
        assert steps == list(range(5000)) and values == pytest.approx(
            np.linspace(3, 1, 5000).tolist())
        runs = {r["model"]: r for r in store.runs()}
        assert sorted(runs) == ["old-run", "other"]
        assert runs["old-run"]["series"]["loss"]["min"] == pytest.approx(1.0)
        assert runs["old-run"]["series"]["loss"]["max"] == pytest.approx(3.0)
        assert runs["old-run"]["series"]["acc"]["min"] == pytest.approx(0.1)
        assert runs["old-run"]["status"] is None
        store.write_points([("old-run", "acc", [0], [2.0], [1.0], True)], "b", session="s")
        assert store.run("old-run")["series"]["acc"]["last_step"] == 3
    finally:
        store.close()


def test_a_v1_postgresql_database_upgrades_in_place(pg_cluster, tmp_path):
    """A database made by the code before runs (commit d17a546), opened by this code."""
    old = tmp_path / "old"
    old.mkdir()
    archive = subprocess.run(["git", "archive", "d17a546", "pastalog"], cwd=ROOT,
                             capture_output=True)
    if archive.returncode:
        pytest.skip("commit d17a546 is not in this clone")
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    url = pg_cluster.create_database()
    subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys
        from pastalog.server.store import Store
        from pastalog.server.store.postgres import SCHEMA_VERSION
        assert SCHEMA_VERSION == 1
        s = Store(sys.argv[1])
        s.write_points([("old", "loss", list(range(100)), [float(i) for i in range(100)],
                         [1.0] * 100)])
        s.close()
    """), url], cwd=str(old), env=dict(os.environ, PYTHONPATH=str(old)), check=True,
        timeout=120)
    from pastalog.server.store import Store

    store = Store(url)
    try:
        from pastalog.server.store.postgres import SCHEMA_VERSION

        assert store.schema_version() == SCHEMA_VERSION   # every migration ran
        assert _points_of(store, "old", "loss")[0] == list(range(100))
        run = store.run("old")
        assert run["series"]["loss"]["min"] == 0.0 and run["series"]["loss"]["max"] == 99.0
    finally:
        store.close()


# -- live ------------------------------------------------------------------------------------

def test_a_run_record_and_a_patch_reach_the_page_as_run_events(make_server_on):
    websocket = pytest.importorskip("websocket")
    server = make_server_on().start()
    server.post_json("/data", {"modelName": "live", "pointType": "loss", "pointValue": 1})
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/ws?model=live",
                                     timeout=10)
    try:
        assert json.loads(ws.recv())[0]["type"] == "hello"
        server.post_json("/api/v1/runs", {"runs": [{"model": "live", "session": "s",
                                                    "time": 5.0, "status": "running"}]})
        server.request("PATCH", "/api/v1/runs/live", {"tags": ["<i>t</i>"]})
        events = []
        while len([e for e in events if e["type"] == "run"]) < 2:
            events.extend(json.loads(ws.recv()))
        runs = [e for e in events if e["type"] == "run"]
        assert runs[0]["model"] == "live" and runs[0]["status"] == "running"
        assert runs[1]["tags"] == ["<i>t</i>"] and "series" not in runs[1]
    finally:
        ws.close()
