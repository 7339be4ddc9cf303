"""The store's costs follow what is asked, not what is stored (issue 10.8, 10.9, 10.15)."""
import sqlite3

import numpy as np
import pytest
import webtest

from store_helpers import sql

from pastalog.errors import StorageError
from pastalog.server.app import make_app
from pastalog.server.store import Store
from pastalog.server.store import base as store_base


def pages(store, *args, limit, **kw):
    got, after = [], None
    while True:
        page = store.read_series(*args, limit=limit, after=after, **kw)
        assert len(page["steps"]) <= limit
        got.append(page)
        after = page["next"]
        if after is None:
            return got


def test_raw_reads_come_in_pages_that_join_exactly(store_location):
    rng = np.random.default_rng(1)
    with Store(store_location) as store:
        for k in range(30):   # in order, out of order, and many points at one step
            n = int(rng.integers(1, 3000))
            steps = (np.arange(k * 500, k * 500 + n) if k % 3 == 0
                     else rng.integers(-20, 9000, n) if k % 3 == 1 else np.full(n, 77))
            store.write_points([("m", "s", steps, rng.normal(size=n), None)])
        whole = store.read_series("m", "s", limit=10**9)
        assert whole["next"] is None
        for limit in (1000, 4096, 30000):
            for x0, x1 in ((None, None), (77, 77), (-5, 4000)):
                joined = pages(store, "m", "s", x0, x1, limit=limit)
                ref = store.read_series("m", "s", x0, x1, limit=10**9)
                for key in ("steps", "values", "times"):
                    assert np.array_equal(np.concatenate([p[key] for p in joined]), ref[key])


def test_raw_reads_are_capped_by_default_over_http(store_location):
    with Store(store_location) as store:
        store.write_points([("m", "s", None, np.zeros(store_base.RAW_LIMIT + 5), None)])
        app = webtest.TestApp(make_app(store))
        first = app.get("/api/v1/series?model=m&series=s").json
        assert len(first["steps"]) == store_base.RAW_LIMIT and first["next"]
        rest = app.get("/api/v1/series", {"model": "m", "series": "s",
                                          "after": first["next"]}).json
        assert rest["steps"] == list(range(store_base.RAW_LIMIT, store_base.RAW_LIMIT + 5))
        assert rest["next"] is None
        assert app.get("/api/v1/series?model=m&series=s&limit=3").json["steps"] == [0, 1, 2]
        assert app.get("/api/v1/series?model=m&series=s&after=x", status=400).json["error"]


def test_listing_is_paged_filtered_and_one_model_reads_one(store_location):
    with Store(store_location) as store:
        store.write_points([(f"run{i:03d}", "loss", None, [1.0], None) for i in range(250)]
                           + [("Other_100%", "loss", None, [1.0], None)])
        app = webtest.TestApp(make_app(store))
        names, after = [], None
        while True:
            page = app.get("/api/v1/models", {"limit": 100, **({"after": after} if after
                                                               else {})}).json
            names += [m["name"] for m in page["models"]]
            after = page["next"]
            if after is None:
                break
        assert names == ["Other_100%"] + [f"run{i:03d}" for i in range(250)]
        found = app.get("/api/v1/models", {"q": "RUN12"}).json["models"]
        assert [m["name"] for m in found] == [f"run{i}" for i in range(120, 130)]
        assert [m["name"] for m in app.get("/api/v1/models", {"q": "_100%"}).json["models"]] \
            == ["Other_100%"]          # LIKE's wildcards are text in a filter
        one = app.get("/api/v1/models/run007").json
        assert one["name"] == "run007" and one["series"][0]["count"] == 1


def test_healthz_counts_without_scanning_and_stays_right(store_location):
    with Store(store_location) as store:
        store.write_points([("a", "s", None, np.ones(10), None), ("b", "s", None, [1.0], None)])
        store.write_points([("a", "t", None, np.ones(5), None)], batch_id="x")
        store.write_points([("a", "t", None, np.ones(5), None)], batch_id="x")  # duplicate
        store.delete_series("a", "s")
        assert store.total_points() == 6
        with pytest.raises(Exception):
            store.write_points([("a", "t", [0, 1], [1.0], None)])   # failed: no change
        assert store.total_points() == 6
    with Store(store_location) as store:
        assert store.total_points() == 6


def test_a_series_cap_refuses_new_series_with_403_and_keeps_what_is_stored(store_location):
    with Store(store_location, max_series=3) as store:
        app = webtest.TestApp(make_app(store))
        body = {"series": [{"model": "m", "name": f"s{i}", "values": [1.0]} for i in range(3)]}
        app.post_json("/api/v1/points", body)
        refused = app.post_json("/api/v1/points", {"series": [
            {"model": "m", "name": "s0", "values": [2.0]},
            {"model": "m", "name": "s3", "values": [1.0]}]}, status=403).json
        assert "--max-series" in refused["error"] and "3" in refused["error"]
        assert store.read_series("m", "s0")["values"].tolist() == [1.0]   # all or nothing
        app.post_json("/api/v1/points", {"series": [{"model": "m", "name": "s0",
                                                     "values": [2.0]}]})   # old ones grow
        store.delete_series("m", "s1")
        app.post_json("/api/v1/points", body | {"series": [{"model": "m", "name": "s3",
                                                            "values": [1.0]}]})


def _table_bytes(path, table):
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name=?", (table,)).fetchone()[0]


def test_batch_ids_cost_about_half_what_they_did(tmp_path):
    with Store(tmp_path) as store:
        for i in range(20_000):
            store.write_points([("m", "s", [i], [1.0], None)], batch_id=f"{i:032x}")
        per_id = _table_bytes(store.path, "batch_keys") / 20_000
        assert store.write_points([("m", "s", [0], [9.0], None),
                                   ], batch_id=f"{7:032x}")["duplicate"]
    print(f"\nbatch ids: {per_id:.1f} bytes each (the full 32-character id took ~51)")
    assert per_id < 30   # a 64-bit key and 32-bit tag in B-tree pages about 70% full


def test_batch_ids_that_share_a_key_are_told_apart(store_location, monkeypatch):
    for backend in ("sqlite", "postgres"):
        monkeypatch.setattr(f"pastalog.server.store.{backend}.batch_key",
                            lambda bid: (42, len(bid) % 7))    # every id on one key
    with Store(store_location) as store:
        for bid in ("a", "bb", "cc", "bb", "cc", "a"):
            store.write_points([("m", "s", None, [1.0], None)], batch_id=bid)
        # "bb" and "cc" share "a"'s key but not its tag: each is kept in full, stored
        # once; their repeats and "a"'s are recognised
        assert store.read_series("m", "s")["seq"] == 3


def test_a_version_1_store_upgrades_in_place_and_remembers_its_batches(tmp_path):
    from pastalog.server.store.sqlite import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION

    with Store(tmp_path) as store:
        store.write_points([("m", "s", None, [1.0], None)])
        path = store.path
    with sqlite3.connect(path) as conn:     # as version 1 left it
        conn.execute("DROP TABLE batch_keys")
        conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
        conn.execute("INSERT INTO batches VALUES('old-batch', 1e9)")
    with Store(tmp_path) as store:
        assert store.write_points([("m", "s", None, [2.0], None)],
                                  batch_id="old-batch")["duplicate"]
        assert store.read_series("m", "s")["values"].tolist() == [1.0]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() \
            == (str(SQLITE_SCHEMA_VERSION),)     # every migration ran


def test_a_newer_schema_is_refused_in_one_line(store_location):
    with Store(store_location) as store:
        sql(store, "UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StorageError, match="schema version 99, newer than this pastalog") as err:
        Store(store_location)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("lock", ["row", "advisory"])
def test_writers_on_one_series_at_once_keep_it_exact(pg_url, lock):
    """Eight writers (as eight servers would: a pool of their own each) on the same
    series and models, in different orders: no lost chunk or pyramid cell, no deadlock."""
    import threading

    stores = [Store(pg_url, lock=lock) for _ in range(8)]
    rng = np.random.default_rng(3)
    batches = [[(f"m{(k + j) % 3}", f"s{(k * j) % 4}", rng.integers(0, 40_000, 2500),
                 rng.normal(size=2500), None) for j in range(3)] for k in range(8 * 4)]
    errors = []

    def work(k):
        try:
            for b in range(k, len(batches), 8):
                stores[k].write_points(batches[b], batch_id=f"b{b}")
                stores[(k + 1) % 8].write_points(batches[b], batch_id=f"b{b}")  # a retry
        except Exception as exc:   # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and not any(t.is_alive() for t in threads)
    store = stores[0]
    for model in ("m0", "m1", "m2"):
        for name in ("s0", "s1", "s2", "s3"):
            sent = [(s, v) for batch in batches for m, n, steps, values, _ in batch
                    if (m, n) == (model, name) for s, v in zip(steps, values)]
            got = store.read_series(model, name, limit=10**9)
            if not sent:
                assert got is None
                continue
            assert sorted(zip(got["steps"].tolist(), got["values"].tolist())) == sorted(sent)
            assert got["seq"] == len(sent)
            agg = store.read_buckets(model, name, 7)["agg"]   # the pyramid, merged
            assert int(agg["count"].sum()) == len(sent)
            assert float(np.nanmax(agg["vmax"])) == max(v for _, v in sent)
    assert store.total_points() == sum(len(v) for b in batches for *_, v, _ in b)
    assert store.check() == "ok"
    for s in stores:
        s.close()


def test_a_series_several_times_in_one_batch_is_appended_in_order(store_location):
    """One batch naming a series three times, across the pyramid threshold and the
    merge of small chunks: the same as writing them one after another."""
    from pastalog.server.store.pyramid import aggregate, bucket_level

    rng = np.random.default_rng(2)
    arrived = []
    with Store(store_location) as store:
        for _ in range(10):
            batch = [("m", "s", rng.integers(-3000, 30_000, int(rng.integers(1, 9000))),
                      None, None) for _ in range(3)]
            batch = [(m, n, st, rng.normal(size=len(st)), np.full(len(st), 1.7e9))
                     for m, n, st, _, _ in batch]
            seqs = [w[5]["seq"] for w in store.write_points(batch)["series"]]
            before = len(arrived)
            for _, _, st, va, ti in batch:
                arrived += list(zip(st.tolist(), va.tolist(), ti.tolist()))
            assert seqs == [before + sum(len(b[2]) for b in batch[:k + 1]) for k in range(3)]
        steps, values, times = (np.array(c) for c in zip(*arrived))
        got = store.read_series("m", "s", limit=10**9)
        order = np.argsort(steps, kind="stable")
        assert np.array_equal(got["steps"], steps[order])
        assert np.array_equal(got["values"], values[order])
        for buckets in (3, 700):
            level = bucket_level(int(steps.min()), int(steps.max()), buckets)
            want = aggregate(steps, values, times, level)
            agg = store.read_buckets("m", "s", buckets)["agg"]
            for field in ("cell", "count", "vmin", "vmax", "first", "last"):
                assert np.array_equal(agg[field], want[field]), (buckets, field)


@pytest.fixture
def many_series_app(store_location):
    with Store(store_location) as store:
        store.write_points([("big", f"s{j:04d}", None, [1.0], None) for j in range(2500)]
                           + [("small", "loss", None, [2.0], None)])
        yield webtest.TestApp(make_app(store))


def test_a_model_with_many_series_is_listed_a_page_of_series_at_a_time(many_series_app):
    app = many_series_app
    listed = {m["name"]: m for m in app.get("/api/v1/models").json["models"]}
    big, small = listed["big"], listed["small"]
    assert (len(big["series"]), big["series_count"], big["series_next"]) == (1000, 2500,
                                                                            "s0999")
    assert (len(small["series"]), small["series_count"], small["series_next"]) == (1, 1, None)
    names, after = [s["name"] for s in big["series"]], big["series_next"]
    while after is not None:
        more = app.get("/api/v1/models/big", {"series_after": after,
                                              "series_limit": 700}).json
        assert more["series_count"] == 2500 and len(more["series"]) <= 700
        names += [s["name"] for s in more["series"]]
        after = more["series_next"]
    assert names == [f"s{j:04d}" for j in range(2500)]
