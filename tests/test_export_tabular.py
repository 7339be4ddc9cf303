"""pastalog export --format csv|parquet: points and runs as tables, read back equal."""
import csv
import json
import math
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from helpers import ROOT
from pastalog.errors import NotFound
from pastalog.server import tabular
from pastalog.server.store import Store
from pastalog.server.store.base import RAW_LIMIT
from pastalog.server.store.runs import check_record
from pastalog.server.tabular import export_tables

LONG = RAW_LIMIT + 1_234           # longer than one read of the store: read in pages
ODD = 'a "quoted", {braced}\nname 🔥'


def fill(store):
    rng = np.random.default_rng(1)
    values = rng.normal(size=LONG)
    values[[3, 4, 5]] = [np.nan, np.inf, -np.inf]
    store.write_points([("m1", "loss", np.arange(LONG), values, 1.7e9 + np.arange(LONG) / 3)])
    store.write_points([("m1", "acc", [0, 0, 5], [0.1, 0.2, 0.3], [1.0, 2.0, 3.0]),
                        (ODD, "x/y", [-2], [1e-300], [4.5])])
    store.write_runs([check_record({
        "model": "m1", "session": "s1", "time": 1_700_000_000.5, "status": "finished",
        "config": {"lr": 0.01, "optimizer/name": "adam", "layers": [64, 32]},
        "tags": ["base", "<i>x</i>"], "notes": "a, b\nc"}, 0)])


def stored(store, models=None):
    """Every point as ``(model, series, step, value, time)`` rows, series by series."""
    rows = []
    for model, name in store.iter_series():
        if models and model not in models:
            continue
        after = None
        while True:
            page = store.read_series(model, name, after=after)
            rows.extend(zip([model] * len(page["steps"]), [name] * len(page["steps"]),
                            page["steps"].tolist(), page["values"].tolist(),
                            page["times"].tolist()))
            after = page["next"]
            if after is None:
                break
    return rows


def key(row):
    """A row with NaN made comparable."""
    return tuple("NaN" if isinstance(x, float) and math.isnan(x) else x for x in row)


def read_csv_points(path):
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["model", "series", "step", "value", "time"]
        return [(m, s, int(step), float(v), float(t)) for m, s, step, v, t in reader]


def test_csv_round_trip(any_store, tmp_path):
    fill(any_store)
    done = export_tables(any_store, str(tmp_path / "out"), "csv")
    assert done["points"] == LONG + 4 and done["runs"] == 2
    points = read_csv_points(tmp_path / "out" / "points.csv")
    assert sorted(map(key, points)) == sorted(map(key, stored(any_store)))
    with open(tmp_path / "out" / "points.csv", encoding="utf-8") as fh:
        text = fh.read()
    assert ",NaN," in text and ",Infinity," in text and ",-Infinity," in text
    with open(tmp_path / "out" / "runs.csv", newline="", encoding="utf-8") as fh:
        runs = list(csv.DictReader(fh))
    assert [r["model"] for r in runs] == [ODD, "m1"]     # by name
    odd, m1 = runs
    assert m1["status"] == "finished" and json.loads(m1["tags"]) == ["base", "<i>x</i>"]
    assert m1["notes"] == "a, b\nc" and float(m1["start"]) == 1_700_000_000.5
    assert float(m1["config/lr"]) == 0.01 and m1["config/optimizer/name"] == "adam"
    assert json.loads(m1["config/layers"]) == [64, 32]
    assert float(m1["acc.min"]) == 0.1 and float(m1["acc.max"]) == 0.3
    assert odd["config/lr"] == "" and odd["x/y.last"] == "1e-300"


def test_parquet_round_trip(any_store, tmp_path):
    fill(any_store)
    export_tables(any_store, str(tmp_path / "out"), "parquet")
    pfile = pq.ParquetFile(tmp_path / "out" / "points.parquet")
    assert pfile.schema_arrow.names == ["model", "series", "step", "value", "time"]
    table = pfile.read()
    points = list(zip(*(table.column(c).to_pylist() for c in table.column_names)))
    assert sorted(map(key, points)) == sorted(map(key, stored(any_store)))
    runs = pq.read_table(tmp_path / "out" / "runs.parquet").to_pylist()
    assert [r["model"] for r in runs] == [ODD, "m1"]
    odd, m1 = runs
    assert m1["config/layers"] == [64, 32] and m1["tags"] == ["base", "<i>x</i>"]
    assert m1["config/lr"] == 0.01 and odd["config/lr"] is None
    assert math.isnan(odd["acc.last"]) and m1["acc.last"] == 0.3


def test_parquet_row_groups_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "ROW_GROUP", 50_000)
    with Store(str(tmp_path / "data")) as store:
        fill(store)
        export_tables(store, str(tmp_path / "out"), "parquet")
    meta = pq.ParquetFile(tmp_path / "out" / "points.parquet").metadata
    assert meta.num_rows == LONG + 4
    assert max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) <= 50_000


def test_only_some_models(tmp_path):
    with Store(str(tmp_path / "data")) as store:
        fill(store)
        done = export_tables(store, str(tmp_path / "out"), "csv", models=[ODD])
        assert done == {"points": 1, "runs": 1, "files": [
            str(tmp_path / "out" / "points.csv"), str(tmp_path / "out" / "runs.csv")]}
        assert read_csv_points(tmp_path / "out" / "points.csv") == [(ODD, "x/y", -2, 1e-300,
                                                                     4.5)]
        with pytest.raises(NotFound, match="no model named 'ghost'"):
            export_tables(store, str(tmp_path / "out2"), "csv", models=["ghost"])
        assert not os.path.exists(tmp_path / "out2" / "points.csv")


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)      # import pyarrow fails
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with Store(str(tmp_path / "data")) as store:
        fill(store)
        with pytest.raises(ImportError, match=r"pip install 'pastalog\[parquet\]'"):
            export_tables(store, str(tmp_path / "out"), "parquet")
    assert not os.path.exists(tmp_path / "out")              # nothing written


def cli(*args):
    return subprocess.run([sys.executable, "-m", "pastalog", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_command(tmp_path):
    with Store(str(tmp_path / "data")) as store:
        fill(store)
    out = cli("export", "--data", tmp_path / "data", "--format", "csv", "--model", "m1",
              tmp_path / "tables")
    assert out.returncode == 0, out.stderr
    assert f"exported {LONG + 3:,} points and 1 runs" in out.stdout
    assert len(read_csv_points(tmp_path / "tables" / "points.csv")) == LONG + 3
    bad = cli("export", "--data", tmp_path / "data", "--format", "csv", "--model", "ghost",
              tmp_path / "t2")
    assert bad.returncode == 1 and "no model named 'ghost'" in bad.stderr
    native = cli("export", "--data", tmp_path / "data", "--model", "m1", tmp_path / "b.jsonl")
    assert native.returncode == 1 and "--model goes with --format csv or parquet" in \
        native.stderr
    (tmp_path / "afile").write_text("")
    onto = cli("export", "--data", tmp_path / "data", "--format", "parquet",
               tmp_path / "afile")
    assert onto.returncode == 1 and "is a file" in onto.stderr
