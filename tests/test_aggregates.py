"""The chart path returns exactly what a scan of the raw points returns.

An independent, naive pure-Python scan (no numpy, no store code) is the reference:
per bucket of width 2**level it keeps count, NaN count, min and max ignoring NaN,
first/last (value at the lowest/highest step; ties to the first/last to arrive), the
earliest/latest time and the mean of the non-NaN values. Data are random with NaN,
+-Inf, duplicate steps and steps out of order across batches, in series big enough
(> 16,384 points) for the store to keep an aggregate pyramid, and small enough for it
not to; checked through ``Store`` directly and through the HTTP API.
"""
import math
import random
import urllib.parse

import numpy as np
import pytest

from pastalog.server.store import Store

INF = math.inf
PYRAMID_SIZE = 40_000  # well past the 16,384 points after which the store keeps a pyramid


# -- the reference ------------------------------------------------------------------

def naive_level(x0, x1, buckets):
    """The smallest level whose buckets cover [x0, x1] in at most ``buckets`` buckets."""
    level = 0
    while (x1 >> level) - (x0 >> level) + 1 > buckets:
        if x0 >> level == -1 and x1 >> level == 0:
            break  # steps -1 and 0 share no bucket at any level: two it is
        level += 1
    return level


def naive_buckets(points, level, x0, x1):
    """Scan ``points`` (step, value, time) in arrival order; dict cell -> bucket."""
    lo = (x0 >> level) << level
    hi = (((x1 >> level) + 1) << level) - 1
    out = {}
    for step, value, when in points:
        if not lo <= step <= hi:
            continue
        cell = step >> level
        b = out.get(cell)
        if b is None:
            b = out[cell] = {"count": 0, "nans": 0, "min": None, "max": None, "sum": 0.0,
                             "real": 0, "first": None, "fstep": None, "last": None,
                             "lstep": None, "t0": INF, "t1": -INF}
        b["count"] += 1
        if value != value:
            b["nans"] += 1
        else:
            b["min"] = value if b["min"] is None or value < b["min"] else b["min"]
            b["max"] = value if b["max"] is None or value > b["max"] else b["max"]
            b["sum"] += value
            b["real"] += 1
        if b["fstep"] is None or step < b["fstep"]:
            b["first"], b["fstep"] = value, step
        if b["lstep"] is None or step >= b["lstep"]:
            b["last"], b["lstep"] = value, step
        b["t0"] = min(b["t0"], when)
        b["t1"] = max(b["t1"], when)
    for b in out.values():
        b["mean"] = b["sum"] / b["real"] if b["real"] else math.nan
    return dict(sorted(out.items()))


def naive_raw(points, x0, x1):
    """Raw points in step order, ties in arrival order (a stable sort)."""
    return sorted([p for p in points if x0 <= p[0] <= x1], key=lambda p: p[0])


def same(a, b):
    """Float equality where NaN equals NaN (and None stands for NaN)."""
    a = math.nan if a is None else float(a)
    b = math.nan if b is None else float(b)
    return (a != a and b != b) or a == b


def close(a, b):
    """Means are sums in another order: equal to rounding, same non-finite class."""
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)):
        return same(a, b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# -- the data -----------------------------------------------------------------------

def random_value(rnd):
    r = rnd.random()
    if r < 0.04:
        return math.nan
    if r < 0.05:
        return INF
    if r < 0.06:
        return -INF
    return rnd.gauss(2.0, 1.5)


def make_batches(seed, total, n_batches, span=None, negative=False):
    """Batches (steps, values, times) whose steps overlap, repeat and go backwards."""
    rnd = random.Random(seed)
    span = span or total // 2  # about two points per step: many duplicates
    first = -span // 3 if negative else 0
    batches = []
    clock = 1.7e9
    sizes = [total // n_batches] * n_batches
    sizes[-1] += total - sum(sizes)
    for k, size in enumerate(sizes):
        if k % 3 == 0:  # a run that continues forwards
            start = first + rnd.randrange(span)
            steps = [start + i for i in range(size)]
        elif k % 3 == 1:  # scattered, out of order, with duplicates inside the batch
            steps = [first + rnd.randrange(span) for _ in range(size)]
        else:  # backwards over an earlier range
            start = first + rnd.randrange(span)
            steps = [start - i for i in range(size)]
        values = [random_value(rnd) for _ in steps]
        times = [clock + rnd.random() * 1000 for _ in steps]
        clock += 10
        batches.append((steps, values, times))
    # whole buckets of NaN only, and a tie on the same step within one batch
    batches.append(([first + 5] * 3 + [first + span + 100 + i for i in range(64)],
                    [1.5, math.nan, -2.5] + [math.nan] * 64,
                    [clock + i for i in range(67)]))
    return batches


def arrival(batches):
    return [p for steps, values, times in batches for p in zip(steps, values, times)]


def queries(points, rnd, n=8):
    """(buckets, x0, x1) chart queries: whole range and zooms, many levels.

    ``buckets=1`` over a range holding steps -1 and 0 is asked too: no level puts those
    in one bucket, so the answer has two.
    """
    lo = min(p[0] for p in points)
    hi = max(p[0] for p in points)
    out = [(2000, None, None), (7, None, None), (100_000, None, None),
           (300, hi - (hi - lo) // 100, hi), (50, lo, lo + 1000)]
    out.append((1, None, None))
    for _ in range(n):
        a, b = sorted(rnd.randrange(lo - 50, hi + 50) for _ in range(2))
        buckets = rnd.choice([1, 3, 64, 500, 2000, 5000])
        out.append((buckets, a, b))
    return out


# -- checks ---------------------------------------------------------------------------

def check_store_answer(result, points, buckets, x0, x1):
    lo = min(p[0] for p in points) if x0 is None else x0
    hi = max(p[0] for p in points) if x1 is None else x1
    level = naive_level(lo, hi, buckets)
    assert result["level"] == level
    assert result["count_total"] == len(points)
    want = naive_buckets(points, level, lo, hi)
    agg = result["agg"]
    assert [int(c) for c in agg["cell"]] == list(want), (buckets, x0, x1)
    for i, b in enumerate(want.values()):
        where = f"bucket {i} of query {(buckets, x0, x1)}"
        assert int(agg["count"][i]) == b["count"], where
        assert int(agg["nans"][i]) == b["nans"], where
        assert same(agg["vmin"][i], b["min"]), where
        assert same(agg["vmax"][i], b["max"]), where
        assert same(agg["first"][i], b["first"]), where
        assert same(agg["last"][i], b["last"]), where
        assert int(agg["fstep"][i]) == b["fstep"], where
        assert int(agg["lstep"][i]) == b["lstep"], where
        assert agg["t0"][i] == b["t0"] and agg["t1"][i] == b["t1"], where
        real = b["count"] - b["nans"]
        if real:
            assert close(agg["vsum"][i] / real, b["mean"]), where


def check_http_answer(doc, points, buckets, x0, x1):
    lo = min(p[0] for p in points) if x0 is None else x0
    hi = max(p[0] for p in points) if x1 is None else x1
    level = naive_level(lo, hi, buckets)
    assert doc["level"] == level and doc["width"] == 2 ** level
    assert doc["count_total"] == len(points)
    want = naive_buckets(points, level, lo, hi)
    got = doc["buckets"]
    assert got["x0"] == [c << level for c in want], (buckets, x0, x1)
    assert got["x1"] == [((c + 1) << level) - 1 for c in want]
    for key in ("count", "nans", "first", "last", "t0", "t1"):
        col = [b[key] for b in want.values()]
        assert all(same(g, w) for g, w in zip(got[key], col)), (key, buckets, x0, x1)
    for key in ("min", "max"):  # null (not "NaN") when a bucket holds only NaN
        col = [b[key] for b in want.values()]
        assert [g is None for g in got[key]] == [w is None for w in col], key
        assert all(same(g, w) for g, w in zip(got[key], col)), (key, buckets, x0, x1)
    assert all(close(g, b["mean"]) for g, b in zip(got["mean"], want.values()))


def has_pyramid(store):
    """Whether the store keeps aggregates for the series (an internal look, so that
    these tests know they cover both the pyramid and the raw-scan path)."""
    from store_helpers import sql

    return sql(store, "SELECT count(*) FROM agg")[0][0] > 0


# -- through Store ----------------------------------------------------------------------

@pytest.mark.parametrize("seed,total,n_batches,negative", [
    (1, PYRAMID_SIZE, 6, False),    # pyramid built mid-way, then updated by later batches
    (2, PYRAMID_SIZE, 3, True),     # negative steps, big batches
    (3, 3_000, 5, False),           # no pyramid: every query scans the raw points
])
def test_store_buckets_equal_a_scan(store_location, seed, total, n_batches, negative):
    batches = make_batches(seed, total, n_batches, negative=negative)
    store = Store(store_location)
    try:
        for steps, values, times in batches:
            store.write_points([("m", "s", steps, values, times)])
        points = arrival(batches)
        rnd = random.Random(seed)
        for buckets, x0, x1 in queries(points, rnd):
            result = store.read_buckets("m", "s", buckets, x0, x1)
            check_store_answer(result, points, buckets, x0, x1)
        assert has_pyramid(store) == (total > 16_384)
        raw = store.read_series("m", "s")
        want = naive_raw(points, min(p[0] for p in points), max(p[0] for p in points))
        assert raw["steps"].tolist() == [p[0] for p in want]
        assert all(same(a, p[1]) for a, p in zip(raw["values"].tolist(), want))
        assert raw["times"].tolist() == [p[2] for p in want]
    finally:
        store.close()


def test_store_remembered_answers_follow_writes_and_deletes(store_location):
    """Answers from raw points are remembered (store/aggcache.py): a repeated query gets
    the same figures, a write is seen at once, and a series deleted and written again,
    to the same count (SQLite may give it the same id), never gets the old answer."""
    store = Store(store_location)
    try:
        first = make_batches(21, 3_000, 3)
        for steps, values, times in first:
            store.write_points([("m", "s", steps, values, times)])
        points = arrival(first)
        for _ in range(2):      # computed, then remembered
            check_store_answer(store.read_buckets("m", "s", 100), points, 100, None, None)
        check_store_answer(store.read_buckets("m", "s", 100, 10, 900), points, 100, 10, 900)
        store.write_points([("m", "s", [3_500], [42.0], [1.8e9])])
        points.append((3_500, 42.0, 1.8e9))
        check_store_answer(store.read_buckets("m", "s", 100), points, 100, None, None)
        assert store.delete_series("m", "s") == len(points)
        # the same steps (the same cells) with other values: only the values tell
        again = [(steps, [v + 1.0 for v in values], times) for steps, values, times in first]
        again.append(([3_500], [41.0], [1.8e9]))
        for steps, values, times in again:
            store.write_points([("m", "s", steps, values, times)])
        points = arrival(again)
        check_store_answer(store.read_buckets("m", "s", 100), points, 100, None, None)
        assert store.delete_model("m") > 0
        for steps, values, times in first + [([3_500], [42.0], [1.8e9])]:
            store.write_points([("m", "s", steps, values, times)])
        check_store_answer(store.read_buckets("m", "s", 100),
                           arrival(first) + [(3_500, 42.0, 1.8e9)], 100, None, None)
    finally:
        store.close()


def test_store_many_small_batches_then_pyramid(store_location):
    """Small writes (merged chunks) cross the pyramid threshold one batch at a time."""
    rnd = random.Random(11)
    store = Store(store_location)
    points = []
    try:
        step = 0
        for k in range(90):
            n = rnd.randrange(50, 400)
            steps = []
            for _ in range(n):
                step += rnd.choice([0, 1, 1, 1, 2, 5])  # duplicates and gaps
                steps.append(step if rnd.random() > 0.05 else rnd.randrange(step + 1))
            values = [random_value(rnd) for _ in steps]
            times = [1.7e9 + k + rnd.random() for _ in steps]
            store.write_points([("m", "s", steps, values, times)])
            points.extend(zip(steps, values, times))
        assert len(points) > 16_384
        for buckets, x0, x1 in queries(points, rnd, n=12):
            check_store_answer(store.read_buckets("m", "s", buckets, x0, x1), points,
                               buckets, x0, x1)
    finally:
        store.close()


def test_store_far_steps_after_the_pyramid(store_location):
    """Steps far beyond the range the pyramid was sized for: the coarse levels that are
    merged on read, and buckets holding both old and new points."""
    rnd = random.Random(21)
    store = Store(store_location)
    try:
        batches = [(list(range(20_000)), [random_value(rnd) for _ in range(20_000)],
                    [1.7e9 + i for i in range(20_000)])]
        far = sorted(rnd.randrange(2**40, 2**41) for _ in range(3_000))
        batches.append((far, [random_value(rnd) for _ in far], [1.8e9] * len(far)))
        batches.append(([3, 2**40 + 7, -2**45], [9.0, math.nan, -INF], [1.9e9] * 3))
        for steps, values, times in batches:
            store.write_points([("m", "s", steps, values, times)])
        assert has_pyramid(store)
        points = arrival(batches)
        for buckets, x0, x1 in [(2000, None, None), (2, None, None), (500, 0, 2**41),
                                (64, 2**40, 2**41), (1000, 0, 25_000), (9, -2**45, 10)]:
            check_store_answer(store.read_buckets("m", "s", buckets, x0, x1), points,
                               buckets, x0, x1)
    finally:
        store.close()


def test_store_duplicate_steps_ties_across_batches(store_location):
    """first/last on a tie: the first/last point to arrive, whichever batch it came in."""
    store = Store(store_location)
    try:
        base = list(range(20_000))
        store.write_points([("m", "s", base, [0.0] * len(base), [1.0] * len(base))])
        store.write_points([("m", "s", [0, 19_999, 8, 8], [7.0, 9.0, math.nan, -1.0],
                             [2.0, 2.0, 2.0, 2.0])])
        store.write_points([("m", "s", [0, 19_999], [11.0, 13.0], [3.0, 3.0])])
        points = list(zip(base, [0.0] * len(base), [1.0] * len(base)))
        points += [(0, 7.0, 2.0), (19_999, 9.0, 2.0), (8, math.nan, 2.0), (8, -1.0, 2.0),
                   (0, 11.0, 3.0), (19_999, 13.0, 3.0)]
        for buckets in (1, 2, 16, 2000, 20_000):
            check_store_answer(store.read_buckets("m", "s", buckets), points, buckets, None,
                               None)
        whole = store.read_buckets("m", "s", 1)["agg"]
        assert whole["first"].tolist() == [0.0] and whole["last"].tolist() == [13.0]
    finally:
        store.close()


def test_one_bucket_over_a_range_crossing_zero_returns(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from pastalog.server.store import Store; s = Store(sys.argv[1]); "
            "s.write_points([('m', 's', [-5, 0, 5], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0])]); "
            "print(s.read_buckets('m', 's', 1)['agg']['count'].tolist())")
    try:
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "d")],
                             capture_output=True, text=True, timeout=3)
    except subprocess.TimeoutExpired:
        pytest.fail("read_buckets(buckets=1) over steps -5..5 did not return in 3 s")
    assert out.returncode == 0, out.stderr
    assert sum(eval(out.stdout)) == 3


# -- through HTTP ----------------------------------------------------------------------

def _json_number(x):
    if x != x:
        return "NaN"
    if x in (INF, -INF):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def _post(server, batches, model, name):
    for k, (steps, values, times) in enumerate(batches):
        status, body = server.post_json("/api/v1/points", {
            "batch": f"{model}-{name}-{k}",
            "series": [{"model": model, "name": name, "steps": steps,
                        "values": [_json_number(v) for v in values], "times": times}]})
        assert status == 200 and body["points"] == len(steps), body


def _get(server, **params):
    status, doc = server.get_json("/api/v1/series?" + urllib.parse.urlencode(
        {k: v for k, v in params.items() if v is not None}))
    assert status == 200, doc
    return doc


def test_http_buckets_equal_a_scan(server):
    big = make_batches(5, PYRAMID_SIZE, 5)
    small = make_batches(6, 2_500, 4, negative=True)
    _post(server, big, "model one", "loss/train")
    _post(server, small, "model one", "acc")
    rnd = random.Random(5)
    for batches, name in ((big, "loss/train"), (small, "acc")):
        points = arrival(batches)
        for buckets, x0, x1 in queries(points, rnd, n=5):
            doc = _get(server, model="model one", series=name, buckets=buckets, x0=x0, x1=x1)
            check_http_answer(doc, points, buckets, x0, x1)
        raw = _get(server, model="model one", series=name)
        want = naive_raw(points, min(p[0] for p in points), max(p[0] for p in points))
        assert raw["steps"] == [p[0] for p in want]
        assert all(same(a, p[1]) for a, p in zip(raw["values"], want))


def test_http_large_binary_batch_matches_numpy_scan(server):
    """One 100,000-point batch (the client's binary format) with NaN and infinities."""
    from pastalog.wire import CONTENT_TYPE, encode_batch

    rng = np.random.default_rng(9)
    n = 100_000
    steps = rng.permutation(n // 2).tolist() * 2  # every step twice, out of order
    values = rng.standard_normal(n)
    values[rng.random(n) < 0.03] = np.nan
    values[rng.random(n) < 0.005] = np.inf
    values[rng.random(n) < 0.005] = -np.inf
    times = (1.7e9 + rng.random(n) * 100).tolist()
    values = values.tolist()
    body = encode_batch("one-big-batch", [("m", "s", steps, values, times)])
    status, reply = server.request("POST", "/api/v1/points", body,
                                   {"Content-Type": CONTENT_TYPE})
    assert status == 200 and reply["points"] == n
    points = list(zip(steps, values, times))
    for buckets, x0, x1 in [(2000, None, None), (10, 100, 30_000), (128, 49_000, 60_000)]:
        doc = _get(server, model="m", series="s", buckets=buckets, x0=x0, x1=x1)
        check_http_answer(doc, points, buckets, x0, x1)
