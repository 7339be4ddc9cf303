"""Chart answers in binary and with chosen columns: the same numbers as the JSON answer."""
import math

import numpy as np
import pytest
import webtest

from pastalog.server import bucket_wire
from pastalog.server.app import make_app
from pastalog.server.store import Store


@pytest.fixture
def app(tmp_path):
    with Store(tmp_path) as store:
        rng = np.random.default_rng(3)
        for m in ("a", "b"):
            values = rng.standard_normal(50_000)
            values[[7, 8, 40_000]] = np.nan
            store.write_points([(m, "loss", np.arange(50_000), values, None)])
        store.write_points([("c", "loss", [0, 1], [math.nan, math.nan], None)])
        yield webtest.TestApp(make_app(store))


def _same(binary_cols, json_cols):
    for field, col in binary_cols.items():
        want = np.array([np.nan if x is None else float(x) for x in json_cols[field]])
        np.testing.assert_array_equal(col, want, err_msg=field)


@pytest.mark.parametrize("x0,x1", [(None, None), (49_000, 49_999), (0, 10)])
def test_binary_answer_equals_the_json_answer(app, x0, x1):
    rng = "" if x0 is None else f"&x0={x0}&x1={x1}"
    want = app.get(f"/api/v1/series?model=a&series=loss&buckets=700{rng}").json
    got = app.get(f"/api/v1/series?model=a&series=loss&buckets=700{rng}&format=binary")
    assert got.content_type == bucket_wire.CONTENT_TYPE
    head, cols = bucket_wire.decode(got.body)
    assert head["fields"] == list(bucket_wire.BUCKET_FIELDS)
    r = head["results"][0]
    assert (r["level"], r["seq"], r["n"]) == (want["level"], want["seq"], len(want["buckets"]["x0"]))
    _same(cols[0], want["buckets"])


def test_many_models_in_binary_with_chosen_fields_and_an_unknown_model(app):
    url = "/api/v1/buckets?series=loss&buckets=300&model=a&model=nope&model=b&model=c"
    want = app.get(url).json["results"]
    head, cols = bucket_wire.decode(app.get(url + "&format=binary&fields=max,min,count").body)
    assert head["fields"] == ["x0", "count", "min", "max"]
    assert "error" in head["results"][1] and cols[1] is None
    for i in (0, 2, 3):
        assert set(cols[i]) == {"x0", "count", "min", "max"}
        _same(cols[i], want[i]["buckets"])
    assert np.isnan(cols[3]["min"]).all()          # NaN-only buckets: null in JSON


def test_fields_trim_the_json_answer_too(app):
    got = app.get("/api/v1/series?model=a&series=loss&buckets=10&fields=last").json
    assert set(got["buckets"]) == {"x0", "last"}


@pytest.mark.parametrize("query,message", [
    ("fields=min,median", "unknown field 'median'"),
    ("format=xml", "format must be 'json' or 'binary'"),
])
def test_bad_chart_options_are_400_naming_them(app, query, message):
    r = app.get(f"/api/v1/series?model=a&series=loss&buckets=10&{query}", status=400)
    assert message in r.json["error"]
