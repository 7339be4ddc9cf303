"""Group commit: point writes that wait for the busy writer are stored together.

What must not change whatever the grouping: each request gets its own answer (a bad
one is refused alone), a retried batch id is stored once, steps continue in arrival
order, and a group whose transaction fails loses nothing already stored and tells no
one "stored" for what was not.
"""
import http.client
import json
import os
import sqlite3
import threading

import gevent
import numpy as np

from pastalog.errors import BadRequest, LimitExceeded, StorageError
from pastalog.server.groupwrite import GroupWriter
from pastalog.server.store import SQLiteStore, Store
from pastalog.server.store.pyramid import (FIELDS, LEVELS_ABOVE, aggregate, pyramid_columns,
                                           pyramid_columns_many)
from pastalog.wire import CONTENT_TYPE, encode_batch

from helpers import ServerProcess


def _requests():
    """A sequence of point writes with every per-request rule in it."""
    t = [100.0, 101.0, 102.0]
    return [
        ([("m", "a", None, [1.0, 2.0, 3.0], t)], "x", None),
        ([("m", "a", None, [4.0, 5.0], t[:2]), ("m", "b", [10, 11], [0.5, 0.25], t[:2])],
         "y", None),
        # refused: lengths differ; its batch id must not be remembered
        ([("m", "b", [12, 13], [1.0], t[:1])], "z", None),
        ([("m", "a", None, [9.0], t[:1])], "x", None),               # a retry of "x"
        ([("m", "a", None, [6.0], t[:1])], "z", None),               # "z" again: stored now
        ([("m", "c", [0, 1, 2], [7.0, 8.0, 9.0], t, True)], None, "s1"),
        ([("m", "c", [3, 4], [1.5, 2.5], t[:2], True)], None, "s1"),
        ([("m", "c", [0, 1], [3.5, 4.5], t[:2], True)], None, "s2"),  # a new session: shifted
        ([("m", "b", [5], [np.nan], t[:1]), ("m", "a", None, [], [])], "w", None),
        ([("n", "a", None, [1.0] * 5000, np.arange(5000.0))], None, None),
        ([("n", "a", None, [2.0] * 20000, np.arange(20000.0))], None, None),  # a pyramid
        ([("n", "a", None, [3.0] * 10, np.arange(10.0))], None, None),
    ]


def test_the_pyramid_of_several_series_at_once_is_each_series_pyramid():
    rng = np.random.default_rng(7)
    parts = []
    for base, n in [(6, 3000), (0, 1), (3, 0), (6, 257), (12, 5000)]:
        steps = rng.integers(-50, 4 * n + 1, n)      # out of order, repeated steps
        values = rng.standard_normal(n)
        values[rng.random(n) < 0.1] = np.nan
        parts.append((base, steps, values, rng.random(n)))
    many = pyramid_columns_many(parts)
    for k, (base, steps, values, times) in enumerate(parts):
        mine = many["key"] == k
        for level in range(base, base + LEVELS_ABOVE + 1):   # each level from the points
            want = aggregate(steps, values, times, level)
            at = mine & (many["level"] == level)
            for name in FIELDS:   # sums merged level by level: equal but for rounding
                check = (np.testing.assert_allclose if name == "vsum"
                         else np.testing.assert_array_equal)
                check(many[name][at], want[name], err_msg=f"part {k} level {level} {name}")
        assert mine.sum() == sum(len(np.unique(steps >> level))
                                 for level in range(base, base + LEVELS_ABOVE + 1))
    single = pyramid_columns(*parts[0][1:], parts[0][0])
    for name, col in single.items():
        np.testing.assert_array_equal(col, many[name][many["key"] == 0])


def _one_by_one(store, requests):
    out = []
    for series, bid, session in requests:
        try:
            out.append(store.write_points(series, bid, session))
        except BadRequest as exc:
            out.append(exc)
    return out


def _plain(outcome):
    """An outcome as JSON text, comparable with ``==`` (NaN too; errors as their text)."""
    if isinstance(outcome, Exception):
        return json.dumps([type(outcome).__name__, str(outcome)])
    return json.dumps({**outcome, "series": [(m, n, np.asarray(s).tolist(), np.asarray(v).tolist(),
                                   np.asarray(t).tolist(), stats)
                                  for m, n, s, v, t, stats in outcome["series"]]})


def _contents(store):
    return json.dumps({f"{m}/{n}": {k: np.asarray(v).tolist() for k, v in
                     store.read_series(m, n, limit=10**6).items() if k != "next"}
            for m, n in store.iter_series()})


def _buckets(store, model, name):
    got = store.read_buckets(model, name, 50)
    return json.dumps({k: np.asarray(v).tolist() for k, v in got["agg"].items()})


def test_a_group_answers_and_stores_exactly_what_one_by_one_writes_do(any_store, tmp_path):
    requests = _requests()
    alone = Store(str(tmp_path / "alone"))
    try:
        want = _one_by_one(alone, requests)
        got = any_store.write_points_group(requests)
        assert [_plain(o) for o in got] == [_plain(o) for o in want]
        assert isinstance(got[2], BadRequest)
        assert got[3]["duplicate"] and not got[4]["duplicate"]
        assert _contents(any_store) == _contents(alone)
        assert _buckets(any_store, "n", "a") == _buckets(alone, "n", "a")
        assert any_store.total_points() == alone.total_points()
        # groups after the first: retries are still known, steps still continue
        more = [([("m", "a", None, [0.0], [1.0])], "y", None),
                ([("m", "a", None, [11.0], [1.0])], "v", None)]
        assert [_plain(o) for o in any_store.write_points_group(more)] == \
            [_plain(o) for o in _one_by_one(alone, more)]
        assert _contents(any_store) == _contents(alone)
    finally:
        alone.close()


def test_a_series_past_the_cap_is_refused_alone(tmp_path):
    store = Store(str(tmp_path / "data"), max_series=2)
    try:
        got = store.write_points_group([
            ([("m", "a", [0], [1.0], [1.0])], None, None),
            ([("m", "b", [0], [1.0], [1.0]), ("m", "c", [0], [1.0], [1.0])], "c", None),
            ([("m", "b", [0], [2.0], [1.0])], None, None),
            ([("m", "c", [0], [3.0], [1.0])], "c", None),
        ])
        assert [type(o).__name__ for o in got] == ["dict", "LimitExceeded", "dict",
                                                   "LimitExceeded"]
        assert sorted(store.iter_series()) == [("m", "a"), ("m", "b")]
        assert store.read_series("m", "b")["values"].tolist() == [2.0]
    finally:
        store.close()


class _FailingStore(SQLiteStore):
    """Fails (as a full disk or an I/O error would) whenever it writes series "boom"."""

    def _append(self, conn, sid, stats, steps, values, times):
        name = conn.execute("SELECT name FROM series WHERE id=?", (sid,)).fetchone()[0]
        if name == "boom":
            raise sqlite3.OperationalError("disk I/O error")
        return super()._append(conn, sid, stats, steps, values, times)


def test_a_failed_group_is_retried_one_by_one_and_loses_nothing(tmp_path):
    store = _FailingStore(str(tmp_path / "data"))
    try:
        store.write_points([("m", "a", None, [1.0, 2.0], None)], "before")
        before = _contents(store)
        got = store.write_points_group([
            ([("m", "a", None, [3.0], [1.0])], "ok1", None),
            ([("m", "boom", None, [4.0], [1.0]), ("m", "a", None, [5.0], [1.0])], "bad",
             None),
            ([("m", "a", None, [6.0], [1.0])], "before", None),   # a retry of a stored batch
            ([("m", "a", None, [7.0], [1.0])], "ok2", None),
        ])
        assert isinstance(got[1], StorageError) and "I/O" in str(got[1])
        assert got[0]["points"] == 1 and got[3]["points"] == 1 and got[2]["duplicate"]
        values = store.read_series("m", "a")["values"].tolist()
        assert values == [1.0, 2.0, 3.0, 7.0]     # nothing of the failed request
        assert store.read_series("m", "boom") is None
        assert store.total_points() == 4
        assert json.loads(_contents(store))["m/a"]["steps"] == [0, 1, 2, 3]
        assert json.loads(before)["m/a"]["values"] == [1.0, 2.0]
        # the failed batch's id was not remembered: its retry (disk fixed) is stored
        ok = SQLiteStore(str(tmp_path / "data"))
        try:
            assert ok.write_points([("m", "boom", None, [4.0], [1.0])], "bad")["points"] == 1
        finally:
            ok.close()
        assert store.check() == "ok"
    finally:
        store.close()


def test_an_error_outside_the_store_errors_fails_the_group_members_alone(tmp_path):
    """A bug's exception in one request (not a PastalogError) is its answer only."""

    class Buggy(SQLiteStore):
        def _write_points(self, conn, series, batch_id, *rest):
            if batch_id == "bug":
                raise ZeroDivisionError("a bug")
            return super()._write_points(conn, series, batch_id, *rest)

    store = Buggy(str(tmp_path / "data"))
    try:
        got = store.write_points_group([
            ([("m", "a", None, [1.0], [1.0])], "one", None),
            ([("m", "a", None, [2.0], [1.0])], "bug", None),
            ([("m", "a", None, [3.0], [1.0])], "two", None)])
        assert isinstance(got[1], ZeroDivisionError)
        assert store.read_series("m", "a")["values"].tolist() == [1.0, 3.0]
    finally:
        store.close()


# -- the writer that groups (in process, no thread: gevent only) -----------------------

def test_group_writer_groups_what_waits_and_answers_each_alone():
    groups = []

    def write_group(requests):
        groups.append([r[1] for r in requests])
        return [LimitExceeded(f"no {r[1]}") if r[1] == "bad" else {"points": len(r[0])}
                for r in requests]

    def run(fn, *args):            # a busy writer: the others arrive meanwhile
        gevent.sleep(0.05)
        return fn(*args)

    writer = GroupWriter(run, write_group, max_points=25)
    jobs = [gevent.spawn(writer, [("m", "s", None, [0.0], None)], "first", None)]
    gevent.sleep(0.01)             # the writer has taken "first"; these wait for it
    jobs += [gevent.spawn(writer, [("m", "s", None, [0.0] * n, None)], bid, None)
             for bid, n in [("a", 10), ("bad", 1), ("b", 10), ("c", 10), ("d", 1)]]
    gevent.joinall(jobs)
    assert groups == [["first"], ["a", "bad", "b"], ["c", "d"]]
    assert [j.value for j in jobs if j.successful()] == [
        {"points": 1}, {"points": 1}, {"points": 1}, {"points": 1}, {"points": 1}]
    assert isinstance(jobs[2].exception, LimitExceeded)
    assert writer.groups == 3 and writer.requests == 6

    def broken(fn, *args):         # the writer itself failed: every member is told
        raise StorageError("the writer stopped")

    writer = GroupWriter(broken, write_group)
    jobs = [gevent.spawn(writer, [("m", "s", None, [0.0], None)], None, None)
            for _ in range(3)]
    gevent.joinall(jobs)
    assert all(isinstance(j.exception, StorageError) for j in jobs)
    job = gevent.spawn(writer, [("m", "s", None, [0.0], None)], None, None)  # and goes on
    job.join()
    assert isinstance(job.exception, StorageError)


# -- a real server, many clients at once -----------------------------------------------

class _Client:
    def __init__(self, srv):
        self.conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)

    def post(self, body, ctype=CONTENT_TYPE):
        self.conn.request("POST", "/api/v1/points", body=body,
                          headers={"Content-Type": ctype})
        resp = self.conn.getresponse()
        return resp.status, json.loads(resp.read())


def _fill(path, leave):
    """Take the disk's free space down to about ``leave`` bytes."""
    st = os.statvfs(os.path.dirname(path))
    with open(path, "wb") as fh:
        fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))


def _threads(n, fn):
    errors = []

    def guarded(i):
        try:
            fn(i)
        except BaseException as exc:  # noqa: BLE001 (reported by the test below)
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


def test_many_clients_at_once_store_every_point_once_in_order(tmp_path):
    srv = ServerProcess(tmp_path / "data").start()
    clients, batches, per = 8, 30, 200
    try:
        def client(c):
            http_ = _Client(srv)
            for k in range(batches):
                steps = np.arange(k * per, (k + 1) * per, dtype=np.int64)
                mine = (c * 10**6 + k * per + np.arange(per)).astype(np.float64)
                if k % 2:   # binary and JSON bodies; the shared series without steps
                    body, ctype = encode_batch(f"c{c}-{k}", [
                        (f"client{c}", "own", steps, mine, steps * 1.0)]), CONTENT_TYPE
                else:
                    body, ctype = json.dumps({"batch": f"c{c}-{k}", "series": [
                        {"model": f"client{c}", "name": "own", "steps": steps.tolist(),
                         "values": mine.tolist()},
                        {"model": "all", "name": "shared", "values": mine.tolist()}]}
                    ).encode(), "application/json"
                status, answer = http_.post(body, ctype)
                assert status == 200 and answer["points"] == (1 + (k % 2 == 0)) * per, answer
                if k % 7 == 3:                                      # a retry
                    assert http_.post(body, ctype) == (200, {"ok": True, "points": 0,
                                                             "duplicate": True})

        _threads(clients, client)
        for c in range(clients):
            got = srv.points(f"client{c}", "own")
            assert list(got) == list(range(batches * per))
            assert list(got.values()) == [c * 10**6 + i for i in range(batches * per)]
        _, shared = srv.get_json("/api/v1/series?model=all&series=shared")
        sent = [c * 10**6 + k * per + i for c in range(clients) for k in range(0, batches, 2)
                for i in range(per)]
        assert shared["steps"] == list(range(len(sent)))
        values = shared["values"]
        assert sorted(values) == sorted(sent)
        for c in range(clients):   # each client's points in the order it sent them
            mine = [v for v in values if c * 10**6 <= v < (c + 1) * 10**6]
            assert mine == sorted(mine)
        assert srv.get_json("/healthz")[1]["points"] == clients * batches * per + len(sent)
    finally:
        srv.stop()


def test_a_bad_request_among_concurrent_good_ones_is_refused_alone(tmp_path):
    srv = ServerProcess(tmp_path / "data", extra_args=["--max-series", "8"]).start()
    try:
        for c in range(8):
            assert srv.post_json("/api/v1/points", {"series": [
                {"model": "m", "name": f"s{c}", "values": [0.0]}]})[0] == 200
        outcomes = {}

        def client(c):
            http_ = _Client(srv)
            for k in range(20):
                if c == 0 and k % 2:   # a new series each time: past the cap
                    body = encode_batch(f"new{k}", [("m", f"new{k}", [0], [1.0], [1.0]),
                                                    ("m", "s0", [k], [5.0], [1.0])])
                elif c == 1 and k % 2:  # not a batch at all
                    body = b"\x00garbage"
                else:
                    body = encode_batch(f"{c}-{k}", [("m", f"s{c}", [k + 1], [float(k)],
                                                      [1.0])])
                outcomes[c, k] = http_.post(body)[0]

        _threads(8, client)
        assert {k for k, status in outcomes.items() if status != 200} == \
            {(c, k) for c in (0, 1) for k in range(1, 20, 2)}
        assert {outcomes[0, k] for k in range(1, 20, 2)} == {403}
        assert {outcomes[1, k] for k in range(1, 20, 2)} == {400}
        assert len(srv.points("m", "s0")) == 11   # nothing of the refused batches
        for c in range(2, 8):
            assert srv.points("m", f"s{c}") == {0: 0.0, **{k + 1: float(k) for k in range(20)}}
    finally:
        srv.stop()


def test_one_batch_posted_by_many_clients_at_once_is_stored_once(tmp_path):
    srv = ServerProcess(tmp_path / "data").start()
    try:
        body = encode_batch("same", [("m", "loss", [0, 1, 2], [1.0, 2.0, 3.0], [1.0] * 3)])
        answers = []
        barrier = threading.Barrier(8)

        def client(_):
            http_ = _Client(srv)
            barrier.wait()
            answers.extend(http_.post(body) for _ in range(3))

        _threads(8, client)
        assert sorted(a[1]["points"] for a in answers) == [0] * 23 + [3]
        assert {a[0] for a in answers} == {200}
        assert srv.points("m", "loss") == {0: 1.0, 1: 2.0, 2: 3.0}
    finally:
        srv.stop()


def test_a_full_disk_under_concurrent_clients_tells_no_one_stored_for_what_was_not(
        tiny_disk, tmp_path):
    """Groups fail when the disk fills: every request is answered 200 (stored, all of
    it) or 507 (none of it), and what is stored is exactly what was answered 200."""
    srv = ServerProcess(tiny_disk / "data")
    srv.log_path = str(tmp_path / "server.log")      # not on the tiny disk
    srv.start()
    acked = {c: [] for c in range(4)}
    refused = {c: 0 for c in range(4)}
    try:
        _fill(tiny_disk / "filler", leave=600_000)

        def client(c):
            http_ = _Client(srv)
            rng = np.random.default_rng(c)
            for k in range(400):
                steps = np.arange(k * 2000, (k + 1) * 2000, dtype=np.int64)
                status, answer = http_.post(encode_batch(f"{c}-{k}", [
                    (f"c{c}", "loss", steps, rng.random(2000), steps * 1.0)]))
                assert status in (200, 507), (status, answer)
                if status == 200:
                    acked[c].append(k)
                else:
                    refused[c] += 1
                    if refused[c] >= 3:
                        return

        _threads(4, client)
        assert all(refused.values()), "the disk never filled"
        for c in range(4):
            stored = srv.points(f"c{c}", "loss") if acked[c] else {}
            assert sorted(stored) == [k * 2000 + i for k in acked[c] for i in range(2000)]
    finally:
        srv.stop()
    os.unlink(tiny_disk / "filler")
    store = Store(str(tiny_disk / "data"))
    try:
        assert store.check() == "ok"
    finally:
        store.close()
