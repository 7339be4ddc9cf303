"""``pastalog import`` stays bounded and inside its folder whatever the file holds.

Issue 10 items 10 (a gzip bomb of one huge line) and 14 (CSV paths out of the
database.json's folder), issue 9 item 5 (steps NaN or 1e300 in an original
database.json), and issue 10 item 12's binary batch header nested deeply.
"""
import gzip
import json
import os
import subprocess
import sys

import pytest

from helpers import ROOT
from pastalog.server.store import Store
from pastalog.wire import MAGIC, decode_batch

# Runs the real command in a child and reports its peak RSS (KiB) on the last line of
# stderr, so the test sees what the import cost, not what earlier tests cost.
# The peak is VmHWM, this process's own: ru_maxrss would carry over the peak of the
# process it was forked from (pytest, with torch loaded by other tests) across exec.
MEASURED_CLI = r"""
import sys
from pastalog.cli import main
try:
    rc = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as fh:
        hwm = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
    sys.stderr.write("MAXRSS %s\n" % hwm)
sys.exit(rc)
"""


def measured_cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", MEASURED_CLI, *map(str, args)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env=env)
    lines = out.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("MAXRSS "), out.stderr[-3000:]
    return out.returncode, "\n".join(lines[:-1]), out.stdout, int(lines[-1].split()[1])


def gzip_with_a_huge_line(path, mib):
    """A small .gz whose second line is ``mib`` MiB long (no newline inside)."""
    good = json.dumps({"model": "m", "series": "ok", "steps": [0, 1], "values": [1.0, 2.0],
                       "times": [1.0, 2.0]})
    chunk = b" " * (1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(json.dumps({"format": "pastalog-export", "version": 1}).encode() + b"\n")
        fh.write(b'{"model": "m", "series": "bomb", "steps": [0], "values": [1.0], "x": "')
        for _ in range(mib):
            fh.write(chunk)
        fh.write(b'"}\n')
        fh.write(good.encode() + b"\n")


def test_a_gzip_bomb_line_is_refused_by_line_number_in_bounded_memory(tmp_path):
    path = tmp_path / "bomb.jsonl.gz"
    gzip_with_a_huge_line(path, 600)
    assert os.path.getsize(path) < 8 << 20
    rc, err, out, maxrss_kib = measured_cli("import", path, "--data", tmp_path / "d")
    assert rc == 0, err
    assert "line 2" in err and "longer than" in err, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert maxrss_kib < 250 * 1024, f"import peaked at {maxrss_kib / 1024:.0f} MB"
    assert "imported 2 points" in out and "skipped 1" in out, out
    store = Store(tmp_path / "d")
    try:
        assert [n for _, n in store.iter_series()] == ["ok"]
    finally:
        store.close()


def test_long_lines_are_bounded_but_a_big_image_line_still_imports(tmp_path):
    from pastalog.server import transfer

    assert transfer.MAX_LINE >= 96 << 20   # a 64 MiB PNG in base64 fits in one line


def original_db(root, logs, **files):
    (root / "database").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / "database" / name).write_text(text)
    db = {"path": "database.json", "timeOfSerialization": 1462000000000, "logs": logs}
    (root / "database.json").write_text(json.dumps(db))
    return root / "database.json"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "pastalog", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_original_import_refuses_paths_out_of_its_folder_naming_the_entry(tmp_path):
    secret = tmp_path / "outside.csv"
    secret.write_text("0,1,2,")
    root = tmp_path / "old"
    logs = {"m": {
        "fine": {"indices": "database/i.csv", "values": "database/v.csv"},
        "dotdot": {"indices": "database/../../outside.csv", "values": "database/v.csv"},
        "absolute": {"indices": str(secret), "values": "database/v.csv"}}}
    db = original_db(root, logs, **{"i.csv": "0,1,2,", "v.csv": "1,2,3,"})
    out = cli("import", db, "--data", tmp_path / "d")
    assert out.returncode == 0, out.stderr
    assert "imported 3 points" in out.stdout
    for entry in ("dotdot", "absolute"):
        line = next((x for x in out.stderr.splitlines() if repr(entry) in x), "")
        assert "outside" in line and "folder" in line, out.stderr
    store = Store(tmp_path / "d")
    try:
        assert [n for _, n in store.iter_series()] == ["fine"]
    finally:
        store.close()


def test_original_import_refuses_a_symlink_out_of_its_folder(tmp_path):
    (tmp_path / "outside.csv").write_text("0,1,")
    root = tmp_path / "old"
    db = original_db(root, {"m": {"s": {"indices": "database/link.csv",
                                        "values": "database/v.csv"}}}, **{"v.csv": "1,2,"})
    os.symlink(tmp_path / "outside.csv", root / "database" / "link.csv")
    out = cli("import", db, "--data", tmp_path / "d")
    assert out.returncode == 0 and "imported 0 points" in out.stdout, out.stderr
    assert "'s'" in out.stderr and "outside" in out.stderr


@pytest.mark.parametrize("bad", ["NaN", "1e300", "Infinity", "9007199254740992", "-1e17",
                                 "2.5"])
def test_original_import_skips_steps_that_are_not_integers_in_range(tmp_path, bad):
    root = tmp_path / "old"
    db = original_db(root, {"m": {"loss": {"indices": "database/i.csv",
                                           "values": "database/v.csv"},
                                  "acc": {"indices": "database/j.csv",
                                          "values": "database/w.csv"}}},
                     **{"i.csv": f"0,{bad},2,{bad},", "v.csv": "1,2,3,4,",
                        "j.csv": "0,1,", "w.csv": "0.5,0.75,"})
    out = cli("import", db, "--data", tmp_path / "d")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    warned = [x for x in out.stderr.splitlines() if "skipped 2 entries" in x]
    assert len(warned) == 1 and "9007199254740991" in warned[0].replace(",", ""), out.stderr
    assert "imported 4 points" in out.stdout
    store = Store(tmp_path / "d")
    try:
        assert store.read_series("m", "loss")["steps"].tolist() == [0, 2]
        assert store.read_series("m", "acc")["steps"].tolist() == [0, 1]
    finally:
        store.close()


def test_a_batch_header_nested_deeply_is_a_value_error_not_a_recursion_error():
    header = b"[" * 100_000 + b"]" * 100_000
    body = MAGIC + len(header).to_bytes(4, "little") + header
    with pytest.raises(ValueError, match="nested"):
        decode_batch(body)


def test_original_import_streams_big_csv_files_in_bounded_memory(tmp_path):
    n = 3_000_000
    root = tmp_path / "old"
    db = original_db(root, {"m": {"big": {"indices": "database/i.csv",
                                          "values": "database/v.csv"}}})
    (root / "database" / "i.csv").write_bytes(b"undefined," * n)
    (root / "database" / "v.csv").write_bytes(b"0.5," * n)
    rc, err, out, maxrss_kib = measured_cli("import", db, "--data", tmp_path / "d")
    assert rc == 0 and f"imported {n:,} points" in out, err
    assert maxrss_kib < 200 * 1024, f"import peaked at {maxrss_kib / 1024:.0f} MB"
    again = cli("import", db, "--data", tmp_path / "d")
    assert "imported 0 points" in again.stdout          # the same file stored once
