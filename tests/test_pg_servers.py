"""Several pastalog servers on one PostgreSQL database (issue 13).

The cluster is the session's throwaway one (conftest ``pg_cluster``); each test has a
database of its own (``pg_url``).
"""
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT

from pastalog._images import encode_png
from pastalog.server.store import Store


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "pastalog", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=dict(os.environ, **(env or {})))


def lines(path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return fh.read().splitlines()


def test_export_from_sqlite_import_into_postgres_export_again_is_identical(tmp_path, pg_url):
    data = tmp_path / "data"
    rng = np.random.default_rng(5)
    with Store(data) as store:
        store.write_points([("run/α", "loss", None, rng.normal(size=150_000), None),
                            ("run/α", "acc", [5, 3, 3, -2], [np.nan, np.inf, -0.0, 1.0], None),
                            ("b", "x", None, [1.0], None)])
        store.write_image("run/α", "grid", encode_png(np.full((4, 4), 9, np.uint8)), 3)
        store.write_image("b", "grid", encode_png(np.full((4, 4), 9, np.uint8)), 0)
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    out = cli("export", first, "--data", data)
    assert out.returncode == 0, out.stderr
    out = cli("import", first, "--store", pg_url)
    assert out.returncode == 0, out.stderr
    assert "imported 150,005 points and 2 images" in out.stdout
    out = cli("export", second, env={"PASTALOG_STORE": pg_url})   # the variable works too
    assert out.returncode == 0, out.stderr
    assert lines(first) == lines(second)
    with Store(pg_url) as store:
        assert store.total_points() == 150_005 and store.check() == "ok"
        blobs = store.iter_images()
        assert len({sha for *_, sha in blobs}) == 1      # one blob, shared by two models


def test_a_newer_schema_stops_run_with_one_line(tmp_path, pg_url):
    import psycopg

    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE meta SET value='7' WHERE key='schema_version'")
    out = cli("run", "0", "--store", pg_url, "--data", tmp_path)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "schema version 7, newer than this" in out.stderr


def test_run_export_and_import_take_store(tmp_path):
    for command in ("run", "export", "import"):
        out = cli(command, "--help")
        assert "--store URL" in out.stdout and "PASTALOG_STORE" in out.stdout, command
