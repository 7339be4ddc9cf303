"""Deleted images leave no files behind; a crash mid-delete leaves at most an orphan that
gc sweeps (issue 9.4, 10.13)."""
import hashlib
import os
import subprocess
import sys

import numpy as np

from store_helpers import sql, stored_blobs

from pastalog._images import encode_png
from pastalog.server.store import Store


def png(seed):
    return encode_png(np.full((4, 4), seed, np.uint8))


def files(store):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(store.image_dir) for f in fs)


def test_deleting_removes_blobs_nothing_else_uses(store_location):
    """Files beside SQLite, rows of ``blobs`` in PostgreSQL: shared, and gone with the
    last image that uses them."""
    with Store(store_location) as store:
        shared, own, other = png(1), png(2), png(3)
        for model in ("a", "b"):
            store.write_image(model, "grid", shared, 0)
        store.write_image("a", "grid", own, 1)
        store.write_image("a", "heat", other, 0)
        assert len(stored_blobs(store)) == 3
        store.delete_images("a", "grid")
        # b still shows the shared picture; a's own one is gone
        assert stored_blobs(store) == sorted(hashlib.sha256(p).hexdigest()
                                             for p in (shared, other))
        assert store.read_blob(store.images("b", "grid")[0]["sha"]) == shared
        assert store.read_blob(hashlib.sha256(own).hexdigest()) is None
        store.delete_model("a")
        assert len(stored_blobs(store)) == 1
        store.delete_model("b")
        assert stored_blobs(store) == []
        assert store.gc()["blobs"] == 0


def test_gc_sweeps_orphans_and_killed_uploads_but_keeps_what_rows_use(tmp_path):
    with Store(tmp_path) as store:
        store.write_image("m", "kept", png(7), 0)
        kept = files(store)
        orphan = store.blob_path("ab" * 32)                 # a delete killed before unlink
        tmp = store.blob_path("cd" * 32) + ".123.456.tmp"   # an upload killed mid-write
        for path in (orphan, tmp):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(b"x" * 100)
    out = subprocess.run([sys.executable, "-m", "pastalog", "gc", "--data", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "removed 1 unused images and 1 unfinished uploads (200 bytes)" in out.stdout
    with Store(tmp_path) as store:
        assert files(store) == kept
        assert store.read_blob(store.images("m", "kept")[0]["sha"]) == png(7)


def test_a_server_sweeps_at_start(make_server, tmp_path):
    data = tmp_path / "d"
    with Store(data) as store:
        tmp = store.blob_path("ef" * 32) + ".1.2.tmp"
        os.makedirs(os.path.dirname(tmp))
        open(tmp, "wb").close()
    make_server(data).start()
    assert not os.path.exists(tmp)


def test_gc_removes_blob_rows_no_image_uses(pg_url):
    with Store(pg_url) as store:
        store.write_image("m", "kept", png(7), 0)
        sql(store, "INSERT INTO blobs VALUES('ab', 'orphan')")   # as a crash might leave
        assert store.gc() == {"blobs": 1, "tmp": 0, "bytes": 6}
        assert stored_blobs(store) == [hashlib.sha256(png(7)).hexdigest()]
