"""Routes in process through the WSGI app (webtest): no socket, no subprocess."""
import numpy as np
import pytest
import webtest

from pastalog._images import encode_png
from pastalog.limits import MAX_STEP
from pastalog.server.app import make_app
from pastalog.server.store import Store
from pastalog.wire import CONTENT_TYPE, encode_batch


@pytest.fixture
def app(tmp_path):
    with Store(tmp_path) as store:
        yield webtest.TestApp(make_app(store))


def test_steps_up_to_2_53_minus_1_round_trip_exactly(app):
    app.post_json("/api/v1/points", {"series": [
        {"model": "m", "name": "s", "steps": [-MAX_STEP, MAX_STEP], "values": [1.0, 2.0]}]})
    got = app.get("/api/v1/series?model=m&series=s").json
    assert got["steps"] == [-MAX_STEP, MAX_STEP]
    assert app.get(f"/api/v1/series?model=m&series=s&buckets=4&x0={-MAX_STEP}"
                   f"&x1={MAX_STEP}").json["buckets"]["count"] == [1, 1]


@pytest.mark.parametrize("step", [MAX_STEP + 1, -MAX_STEP - 1, 2**62])
def test_steps_beyond_2_53_are_refused_on_every_route(app, step):
    def refused(res):
        assert res.status_int == 400 and "2**53" in res.json["error"], res.json
    refused(app.post_json("/data", {"modelName": "m", "pointType": "s", "pointValue": 1,
                                    "globalStep": step}, expect_errors=True))
    refused(app.post_json("/api/v1/points", {"series": [
        {"model": "m", "name": "s", "steps": [0, step], "values": [1.0, 2.0]}]},
        expect_errors=True))
    body = encode_batch("b1", [("m", "s", np.array([0, step], np.int64),
                                np.array([1.0, 2.0]), np.array([1.0, 2.0]))])
    refused(app.post("/api/v1/points", body, headers={"Content-Type": CONTENT_TYPE},
                     expect_errors=True))
    refused(app.post(f"/api/v1/images?model=m&name=i&step={step}",
                     encode_png(np.zeros((2, 2), np.uint8)), expect_errors=True))
    assert app.get(f"/api/v1/series?model=m&series=s&buckets=4&x0={step}",
                   expect_errors=True).status_int == 400
    assert app.get("/api/v1/models").json["models"] == []   # nothing half-stored


def test_malformed_parameters_are_400s_that_say_why(app):
    app.post_json("/api/v1/points", {"series": [{"model": "m", "name": "s",
                                                 "values": [1.0, 2.0]}]})
    for query, says in (("model=%FF&series=s", "'model' is not UTF-8"),
                        ("model=m&series=s&after=99999999999999999999999:0", "cursor"),
                        ("model=m&series=s&after=1:99999999999999999999999", "cursor"),
                        ("model=m&series=s&after=1:-1", "cursor")):
        res = app.get("/api/v1/series?" + query, expect_errors=True)
        assert res.status_int == 400 and says in res.json["error"], (query, res.body)
    assert app.delete("/api/v1/series?model=%FF&series=s", expect_errors=True).status_int == 400
    assert app.get("/api/v1/series?model=m&series=s").json["values"] == [1.0, 2.0]
