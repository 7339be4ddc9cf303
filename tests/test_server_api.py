"""The HTTP API against a real server subprocess (wire contract in docs/API.md)."""
import json
import math
import threading

import pytest
import websocket

from pastalog.wire import CONTENT_TYPE, encode_batch


@pytest.fixture
def server(make_server_on):
    """A server on each store in turn: a data dir, then a fresh PostgreSQL database."""
    return make_server_on().start()


@pytest.fixture
def make_server(make_server_on):
    return make_server_on


def points(server, model, series, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    from urllib.parse import quote
    status, body = server.get_json(
        f"/api/v1/series?model={quote(model)}&series={quote(series)}&{query}")
    assert status == 200, body
    return body


def test_original_post_data_single_and_array(server):
    status, body = server.post_json("/data", {"modelName": "m", "pointType": "validLoss",
                                              "pointValue": 2.5, "globalStep": 1})
    assert (status, body["points"]) == (200, 1)
    status, body = server.post_json("/data", [
        {"modelName": "m", "pointType": "validLoss", "pointValue": 2.0, "globalStep": 2},
        {"modelName": "m2", "pointType": "trainLoss", "pointValue": 1.0, "globalStep": 0}])
    assert (status, body["points"]) == (200, 2)
    got = points(server, "m", "validLoss")
    assert got["steps"] == [1, 2] and got["values"] == [2.5, 2.0]
    status, models = server.get_json("/api/v1/models")
    assert [m["name"] for m in models["models"]] == ["m", "m2"]


def test_missing_step_continues_the_series(server):
    for value in (3.0, 2.0, 1.0):
        server.post_json("/data", {"modelName": "m", "pointType": "loss", "pointValue": value})
    assert points(server, "m", "loss")["steps"] == [0, 1, 2]


def test_nan_and_infinities_round_trip(server):
    body = ('[{"modelName":"m","pointType":"s","pointValue":NaN,"globalStep":0},'
            '{"modelName":"m","pointType":"s","pointValue":Infinity,"globalStep":1},'
            '{"modelName":"m","pointType":"s","pointValue":-Infinity,"globalStep":2},'
            '{"modelName":"m","pointType":"s","pointValue":null,"globalStep":3},'
            '{"modelName":"m","pointType":"s","pointValue":"-Infinity","globalStep":4}]')
    status, _ = server.request("POST", "/data", body.encode(), {"Content-Type": "application/json"})
    assert status == 200
    got = points(server, "m", "s")
    assert got["values"] == ["NaN", "Infinity", "-Infinity", "NaN", "-Infinity"]
    agg = points(server, "m", "s", buckets=1)["buckets"]
    assert agg["nans"] == [2] and agg["min"] == ["-Infinity"] and agg["max"] == ["Infinity"]


@pytest.mark.parametrize("payload, field", [
    ({"pointType": "s", "pointValue": 1}, "modelName"),
    ({"modelName": "m", "pointValue": 1}, "pointType"),
    ({"modelName": "m", "pointType": "s"}, "pointValue"),
    ({"modelName": "m", "pointType": "s", "pointValue": "abc"}, "pointValue"),
    ({"modelName": "m", "pointType": "s", "pointValue": [1]}, "pointValue"),
    ({"modelName": "m", "pointType": "s", "pointValue": 1, "globalStep": 1.5}, "globalStep"),
    ({"modelName": "m", "pointType": "s", "pointValue": 1, "globalStep": "x"}, "globalStep"),
    ({"modelName": "", "pointType": "s", "pointValue": 1}, "modelName"),
    ({"modelName": "m" * 257, "pointType": "s", "pointValue": 1}, "modelName"),
    ({"modelName": "m", "pointType": "a\x00b", "pointValue": 1}, "pointType"),
    ({"modelName": 5, "pointType": "s", "pointValue": 1}, "modelName"),
])
def test_bad_fields_are_named_and_nothing_stored_is_lost(server, payload, field):
    server.post_json("/data", {"modelName": "keep", "pointType": "s", "pointValue": 1.5,
                               "globalStep": 0})
    status, body = server.post_json("/data", payload)
    assert status == 400
    assert field in body["error"]
    assert points(server, "keep", "s")["values"] == [1.5]


def test_a_bad_item_in_an_array_stores_nothing_of_it(server):
    status, body = server.post_json("/data", [
        {"modelName": "m", "pointType": "s", "pointValue": 1, "globalStep": 0},
        {"modelName": "m", "pointType": "s", "pointValue": "oops", "globalStep": 1}])
    assert status == 400 and body["error"].startswith("item 1:")
    status, _ = server.get_json("/api/v1/series?model=m&series=s")
    assert status == 404


@pytest.mark.parametrize("raw", [b"{bad", b"", b"\xff\xfe", b"[" * 100000 + b"]" * 100000,
                                 b'"just a string"', b"42"],
                         ids=["bad-json", "empty", "not-utf8", "deep", "string", "number"])
def test_malformed_bodies_are_400(server, raw):
    status, body = server.request("POST", "/data", raw, {"Content-Type": "application/json"})
    assert status == 400 and "error" in body


def test_huge_body_is_413_and_stored_data_survives(make_server):
    srv = make_server(extra_args=["--max-body-mb", "1"]).start()
    srv.post_json("/data", {"modelName": "m", "pointType": "s", "pointValue": 1.0})
    status, body = srv.request("POST", "/data", b"[" + b"1," * 600_000 + b"1]",
                               {"Content-Type": "application/json"})
    assert status == 413 and "cap" in body["error"]
    assert points(srv, "m", "s")["values"] == [1.0]


@pytest.mark.parametrize("name", ["conv1/mean", 'with "quotes"', "<script>alert(1)</script>",
                                  "🔥 loss ünïcode", "x" * 256, "../../etc/passwd", "a b%20c"])
def test_names_are_kept_exactly(server, name):
    status, _ = server.post_json("/data", {"modelName": name, "pointType": name,
                                           "pointValue": 1.0, "globalStep": 0})
    assert status == 200
    assert points(server, name, name)["values"] == [1.0]
    from urllib.parse import quote
    status, model = server.get_json(f"/api/v1/models/{quote(name, safe='')}")
    assert status == 200 and model["name"] == name
    assert model["series"][0]["name"] == name


def test_batch_json_and_binary_and_idempotent_batch_ids(server):
    doc = {"batch": "b-1", "series": [{"model": "m", "name": "loss", "steps": [0, 1, 2],
                                       "values": [3, 2.5, "NaN"]}]}
    assert server.post_json("/api/v1/points", doc)[1] == {"ok": True, "points": 3,
                                                          "duplicate": False}
    assert server.post_json("/api/v1/points", doc)[1]["duplicate"] is True
    body = encode_batch("b-2", [("m", "loss", [3, 4], [1.5, 1.0], [10.0, 11.0]),
                                ("m", "acc", [0], [0.5], [12.0])])
    status, reply = server.request("POST", "/api/v1/points", body, {"Content-Type": CONTENT_TYPE})
    assert (status, reply["points"]) == (200, 3)
    got = points(server, "m", "loss")
    assert got["steps"] == [0, 1, 2, 3, 4] and got["values"][3:] == [1.5, 1.0]
    assert got["times"][3:] == [10.0, 11.0]


@pytest.mark.parametrize("body", [b"PLB1", b"PLB1\xff\xff\xff\xff{}",
                                  encode_batch("x", [("m", "s", [0], [1.0], [1.0])])[:-3],
                                  encode_batch("x", [("", "s", [0], [1.0], [1.0])])])
def test_broken_binary_batches_are_400(server, body):
    status, reply = server.request("POST", "/api/v1/points", body, {"Content-Type": CONTENT_TYPE})
    assert status == 400 and reply["error"]


def test_images_store_list_serve_and_delete(server):
    from pastalog._images import encode_png
    import numpy as np

    png = encode_png(np.full((4, 6, 3), 200, np.uint8))
    for step in (0, 5):
        status, rec = server.request("POST", f"/api/v1/images?model=m&name=act&step={step}",
                                     png, {"Content-Type": "image/png"})
        assert status == 200 and (rec["width"], rec["height"]) == (6, 4)
    status, listing = server.get_json("/api/v1/images?model=m&name=act")
    assert [i["step"] for i in listing["images"]] == [0, 5]
    status, raw = server.request("GET", listing["images"][0]["url"])
    assert status == 200 and raw == png
    assert server.request("POST", "/api/v1/images?model=m&name=act", b"not a png",
                          {"Content-Type": "image/png"})[0] == 400
    assert server.request("GET", "/api/v1/blobs/..%2F..%2Fpastalog.sqlite3")[0] == 404
    assert server.request("DELETE", "/api/v1/images?model=m&name=act")[1]["deleted"] == 2
    assert server.get_json("/api/v1/images?model=m&name=act")[1]["images"] == []


def test_delete_series_and_model(server):
    server.post_json("/data", [{"modelName": "m", "pointType": s, "pointValue": 1.0}
                               for s in ("a", "b")])
    assert server.request("DELETE", "/api/v1/series?model=m&series=a")[1]["deleted"] == 1
    assert server.get_json("/api/v1/series?model=m&series=a")[0] == 404
    assert server.request("DELETE", "/api/v1/series?model=m&series=a")[0] == 404
    assert server.request("DELETE", "/api/v1/models/m")[0] == 200
    assert server.get_json("/api/v1/models")[1]["models"] == []


def test_websocket_pushes_new_points_and_filters_by_model(server):
    got_all, got_m2 = [], []
    ws_all = websocket.create_connection(server.url.replace("http", "ws") + "/ws", timeout=5)
    ws_m2 = websocket.create_connection(server.url.replace("http", "ws") + "/ws?model=m2",
                                        timeout=5)
    assert json.loads(ws_all.recv())[0]["type"] == "hello"
    assert json.loads(ws_m2.recv())[0]["type"] == "hello"
    server.post_json("/data", {"modelName": "m1", "pointType": "s", "pointValue": 1.0})
    server.post_json("/data", {"modelName": "m2", "pointType": "s", "pointValue": NAN_TEXT})
    while len(got_all) < 2:
        got_all.extend(json.loads(ws_all.recv()))
    got_m2.extend(json.loads(ws_m2.recv()))
    assert [e["model"] for e in got_all] == ["m1", "m2"]
    assert [(e["type"], e["model"], e["values"]) for e in got_m2] == [("points", "m2", ["NaN"])]
    ws_all.close()
    ws_m2.close()


NAN_TEXT = "NaN"


def test_unknown_routes_and_params_are_json_errors(server):
    status, body = server.get_json("/api/v1/nope")
    assert status == 404 and "error" in body
    status, body = server.get_json("/api/v1/series?model=m")
    assert status == 400 and "series" in body["error"]
    status, body = server.get_json("/api/v1/series?model=m&series=s&buckets=abc")
    assert status == 400 and "buckets" in body["error"]


def test_page_has_content_security_policy(server):
    import urllib.request

    with urllib.request.urlopen(server.url + "/") as resp:
        csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_buckets_for_many_models_in_one_request(server):
    from urllib.parse import quote

    server.post_json("/data", [{"modelName": m, "pointType": "loss", "pointValue": v,
                                "globalStep": s}
                               for m, v, s in (("a/ü", 1.0, 3), ("b", 2.0, 5), ("b", 4.0, 9))])
    status, got = server.get_json(
        f"/api/v1/buckets?series=loss&buckets=1&model={quote('a/ü')}&model=b&model=none")
    assert status == 200
    a, b, none = got["results"]
    assert (a["model"], a["buckets"]["s0"], a["buckets"]["max"]) == ("a/ü", [3], [1.0])
    assert b["buckets"]["s0"] == [5] and b["buckets"]["s1"] == [9] and b["count_total"] == 2
    assert "error" in none
    single = server.get_json("/api/v1/series?model=b&series=loss&buckets=1")[1]
    assert single["buckets"] == b["buckets"]
