"""The bucket rules of tests/vectors/buckets.json, checked against the store.

The same file is checked against the page's ``static/buckets.js`` in real Chromium
(tests/browser/test_bucket_vectors_js.py): the rules are written once, as data.
"""
import json
import math
import pathlib

import pytest

from pastalog.server.store import Store

VECTORS = json.loads((pathlib.Path(__file__).parent / "vectors" / "buckets.json").read_text())["vectors"]
COLUMNS = ("x0", "x1", "s0", "s1", "count", "nans", "min", "max", "first", "last", "mean", "t0", "t1")


def number(x):
    """A vector's value as a float: None (null) and the non-finite strings as NaN."""
    if x is None:
        return math.nan
    return float(x)  # float("NaN"), float("Infinity"), float("-Infinity") all parse


def same(a, b):
    a, b = number(a), number(b)
    if a != a or b != b:
        return a != a and b != b
    return a == b or math.isclose(a, b, rel_tol=1e-12)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_store_follows_vector(store_location, vector):
    store = Store(store_location)
    try:
        # one write per point: the arrival order is the vector's order, across batches
        for step, value, when in vector["points"]:
            store.write_points([("m", "s", [step], [number(value)], [when])])
        q = vector["query"]
        got = store.read_buckets("m", "s", q["buckets"], q["x0"], q["x1"])
    finally:
        store.close()
    want = vector["expected"]
    assert got["level"] == want["level"]
    assert got["count_total"] == want["count_total"]
    agg = got["agg"]
    level = got["level"]
    cells = [int(c) for c in agg["cell"]]
    columns = {
        "x0": [c << level for c in cells],
        "x1": [((c + 1) << level) - 1 for c in cells],
        "s0": agg["fstep"], "s1": agg["lstep"], "count": agg["count"], "nans": agg["nans"],
        "min": agg["vmin"], "max": agg["vmax"], "first": agg["first"], "last": agg["last"],
        "mean": [s / (c - n) if c > n else math.nan
                 for s, c, n in zip(agg["vsum"], agg["count"], agg["nans"])],
        "t0": agg["t0"], "t1": agg["t1"],
    }
    for name in COLUMNS:
        have, expect = list(columns[name]), want["buckets"][name]
        assert len(have) == len(expect), name
        for i, (a, b) in enumerate(zip(have, expect)):
            if name in ("x0", "x1", "s0", "s1", "count", "nans"):
                assert int(a) == b, (name, i, a, b)
            else:
                assert same(a, b), (name, i, a, b)
