"""Backups (export/import, the original database.json) and the command line."""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT
from pastalog.server.store import Store
from pastalog._images import encode_png


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "pastalog", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})))


def fill(store):
    rng = np.random.default_rng(0)
    values = rng.normal(size=30_000)
    values[[5, 6, 7]] = [np.nan, np.inf, -np.inf]
    store.write_points([("m1", "loss", np.arange(30_000), values, 1.7e9 + np.arange(30_000))])
    store.write_points([("m1", "conv1/mean", [0, 0, 5], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
                        ("<b>m2</b> 🔥", "acc", [3], [0.5], [4.0])])
    store.write_image("m1", "act", encode_png(np.full((3, 3), 7, np.uint8)), 4, 9.0)


def snapshot(store):
    out = {}
    for model, name in store.iter_series():
        data = store.read_series(model, name)
        out[(model, name)] = tuple(data[k].tobytes() for k in ("steps", "values", "times"))
    out["images"] = [(m, n, s, t, sha) for m, n, s, t, sha in store.iter_images()]
    return out


@pytest.mark.parametrize("name", ["backup.jsonl", "backup.jsonl.gz"])
def test_export_then_import_gives_identical_data(tmp_path, name):
    a = Store(tmp_path / "a")
    fill(a)
    a.close()
    out = cli("export", tmp_path / name, "--data", tmp_path / "a")
    assert out.returncode == 0 and "30,004 points and 1 images" in out.stdout, out.stderr
    out = cli("import", tmp_path / name, "--data", tmp_path / "b")
    assert out.returncode == 0 and "imported 30,004 points and 1 images" in out.stdout
    again = cli("import", tmp_path / name, "--data", tmp_path / "b")
    assert "imported 0 points and 0 images" in again.stdout      # idempotent
    a, b = Store(tmp_path / "a"), Store(tmp_path / "b")
    assert snapshot(a) == snapshot(b)
    assert b.read_buckets("m1", "loss", 10)["agg"]["nans"].sum() == 1


def test_truncated_export_keeps_good_lines_and_names_the_line(tmp_path):
    a = Store(tmp_path / "a")
    for i in range(5):
        a.write_points([("m", f"s{i}", [0, 1], [1.0, 2.0], [1.0, 2.0])])
    a.close()
    cli("export", tmp_path / "x.jsonl", "--data", tmp_path / "a")
    raw = open(tmp_path / "x.jsonl").read()
    open(tmp_path / "x.jsonl", "w").write(raw[: raw.rindex("{") + 20])   # cut the last line
    out = cli("import", tmp_path / "x.jsonl", "--data", tmp_path / "b")
    assert out.returncode == 0
    assert "x.jsonl line 6" in out.stderr and "truncated" in out.stderr
    assert "skipped 1 damaged records" in out.stdout
    b = Store(tmp_path / "b")
    assert sorted(n for _, n in b.iter_series()) == ["s0", "s1", "s2", "s3"]


def test_import_original_node_database_json(tmp_path):
    root = tmp_path / "old"
    (root / "database" / "model_1").mkdir(parents=True)
    (root / "database" / "model_1" / "validLoss~INDICES.csv").write_text("0,1,undefined,5,")
    (root / "database" / "model_1" / "validLoss~VALUES.csv").write_text("2.5,2.25,2,1.5,")
    (root / "database" / "model_1" / "trainLoss~INDICES.csv").write_text("0,")
    (root / "database" / "model_1" / "trainLoss~VALUES.csv").write_text("3,")
    db = {"path": "database.json", "timeOfSerialization": 1462000000000,
          "logs": {"model_1": {
              "validLoss": {"indices": "database/model_1/validLoss~INDICES.csv",
                            "values": "database/model_1/validLoss~VALUES.csv"},
              "trainLoss": {"indices": "database/model_1/trainLoss~INDICES.csv",
                            "values": "database/model_1/trainLoss~VALUES.csv"},
              "gone": {"indices": "database/model_1/missing.csv",
                       "values": "database/model_1/missing2.csv"}}}}
    (root / "database.json").write_text(json.dumps(db))
    out = cli("import", root / "database.json", "--data", tmp_path / "new")
    assert out.returncode == 0, out.stderr
    assert "imported 5 points" in out.stdout and "database.json" in out.stdout
    assert "'gone'" in out.stderr
    store = Store(tmp_path / "new")
    got = store.read_series("model_1", "validLoss")
    assert got["steps"].tolist() == [0, 1, 2, 5]
    assert got["values"].tolist() == [2.5, 2.25, 2.0, 1.5]
    assert got["times"].tolist() == [1462000000.0] * 4


def test_user_errors_are_one_line_and_nonzero(tmp_path):
    out = cli("import", tmp_path / "nope.json", "--data", tmp_path / "d")
    assert out.returncode == 1 and out.stderr.strip() == f"pastalog: {tmp_path / 'nope.json'}: no such file"
    (tmp_path / "junk.json").write_text("not json at all")
    out = cli("import", tmp_path / "junk.json", "--data", tmp_path / "d")
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1
    (tmp_path / "file").write_text("")
    out = cli("run", "0", "--data", tmp_path / "file" / "sub")
    assert out.returncode == 1 and "not writable" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        out = cli("run", port, "--data", tmp_path / "d")
    assert out.returncode == 1 and "already in use" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_install_and_help(tmp_path):
    out = cli("install", "--data", tmp_path / "d")
    assert out.returncode == 0 and "Nothing to download" in out.stdout
    assert os.path.isfile(tmp_path / "d" / "pastalog.sqlite3")
    out = cli("run", "--help")
    assert out.returncode == 0
    for flag in ("--demo", "--data", "--host", "--max-body-mb", "PASTALOG_DATA"):
        assert flag in out.stdout


def test_readme_documents_every_setting_and_the_quick_start():
    from pastalog.settings import markdown_table

    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert markdown_table() in readme
    assert "pip install -e . && pastalog run --demo" in readme and "make test" in readme
