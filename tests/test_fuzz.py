"""Bad input, property-based: every POST route of a real server, and the client.

One server for the module. Each hostile request must be answered 200 or 4xx (never
500), a refused request must store nothing (the store's point total and the image
list do not move), an accepted one exactly what it says, and a sentinel model the
fuzz never targets must read back byte-identical at the end.
``PASTALOG_FUZZ_EXAMPLES`` (default 40; 600 under ``PASTALOG_STRESS=1``) sets the
examples per property.
"""
import http.client
import json
import math
import os
import struct
import urllib.parse

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import pastalog
from fault_helpers import sized
from helpers import ServerProcess
from pastalog.wire import CONTENT_TYPE, MAGIC

pytestmark = pytest.mark.stress_or_fault

EXAMPLES = int(os.environ.get("PASTALOG_FUZZ_EXAMPLES") or sized(40, 600))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
SENTINEL = "sentinel ✓ model"
TRIED = {"requests": 0, "accepted": 0, "refused": 0}


class Api:
    """A keep-alive HTTP connection to the module's server."""

    def __init__(self, srv):
        self.srv = srv
        self.conn = None

    def call(self, method, path, body=None, ctype="application/json"):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=120)
        headers = {"Content-Type": ctype} if body is not None else {}
        try:
            self.conn.request(method, path, body, headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException):
            self.conn = None
            assert self.srv.proc.poll() is None, f"the server died: {self.srv.log()}"
            raise
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return resp.status, raw

    def total(self):
        status, raw = self.call("GET", "/healthz")
        assert status == 200
        return json.loads(raw)["points"]

    def snapshot(self):
        """Raw bytes of the sentinel's series, model and image listings."""
        q = urllib.parse.quote
        out = [self.call("GET", f"/api/v1/models/{q(SENTINEL, safe='')}")]
        for name in ("loss", "odd/values"):
            out.append(self.call("GET", "/api/v1/series?" + urllib.parse.urlencode(
                {"model": SENTINEL, "series": name})))
        out.append(self.call("GET", "/api/v1/images?" + urllib.parse.urlencode(
            {"model": SENTINEL, "name": "img"})))
        assert all(status == 200 for status, _ in out), out
        return out

    def hostile(self, method, path, body, ctype="application/json"):
        """Send one hostile request and check the invariants; returns (status, json)."""
        before = self.total()
        status, raw = self.call(method, path, body, ctype)
        TRIED["requests"] += 1
        assert status in (200, 400, 404, 413, 414), (status, raw[:300], path[:300], body[:300])
        if status == 414:          # URL over gevent's line limit: refused before the app
            assert self.total() == before
            TRIED["refused"] += 1
            return status, {}
        doc = json.loads(raw)                     # always JSON, strict
        after = self.total()
        if status == 200:
            TRIED["accepted"] += 1
            assert doc["ok"] is True
            assert after == before + doc.get("points", 0), "stored other than it said"
        else:
            TRIED["refused"] += 1
            assert isinstance(doc.get("error"), str) and doc["error"], doc
            assert after == before, f"a refused request ({status}) stored points: {doc}"
        return status, doc


PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d605b1"
    "0000000049454e44ae426082")


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("fuzz") / "data").start()
    api = Api(srv)
    status, _ = api.call("POST", "/api/v1/points", json.dumps({"series": [
        {"model": SENTINEL, "name": "loss", "steps": list(range(100)),
         "values": [i / 3 for i in range(100)]},
        {"model": SENTINEL, "name": "odd/values", "steps": [0, 1, 2, 3, 4, 4],
         "values": ["NaN", "Infinity", "-Infinity", 1e308, -5e-324, 0.0]}]}))
    assert status == 200
    query = urllib.parse.urlencode({"model": SENTINEL, "name": "img", "step": 3})
    assert api.call("POST", f"/api/v1/images?{query}", PNG_1x1, "image/png")[0] == 200
    before = api.snapshot()
    yield api
    after = api.snapshot()
    assert after == before, "data stored before the fuzz changed"
    assert srv.proc.poll() is None
    srv.stop()
    print(f"\nFUZZ: {TRIED['requests']} hostile requests ({TRIED['accepted']} accepted, "
          f"{TRIED['refused']} refused), {EXAMPLES} examples per property, no 500s")


# -- strategies -----------------------------------------------------------------------

EDGE_NAMES = ["", "a" * 256, "a" * 257, "x" * 10_000, "\x00", "a\x00b", "../", "../../etc/passwd",
              "..", "/", "a/b/c", "%2F", "\u2028", "\x7f", "\x9f", "ж" * 256, "😀" * 256,
              "😀" * 257, "<script>alert(1)</script>", " ", "\t", "\ud800", "a\udfffb",
              "\ufeff", "NaN", "null"]
names = st.one_of(st.sampled_from(EDGE_NAMES), st.text(max_size=300),
                  st.text(st.characters(codec="utf-8"), min_size=1, max_size=20),
                  st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2))

# Never the sentinel (lone surrogates included: they must be refused like the rest).
names = names.filter(lambda n: n != SENTINEL)
EDGE_VALUES = [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 10**400, -10**400,
               "NaN", "Infinity", "-Infinity", "nan", "inf", "1.0", "", True, False, None,
               [], {}, [1.0], 2**63, 2**64]
values = st.one_of(st.sampled_from(EDGE_VALUES), st.floats(), st.integers(),
                   st.text(max_size=10))
EDGE_STEPS = [0, -1, -2**62, 2**62, 2**62 + 1, -2**62 - 1, 2**63, 1.5, 3.0, -0.0, 1e300,
              math.nan, math.inf, "3", True, None, [], 10**30]
steps = st.one_of(st.sampled_from(EDGE_STEPS), st.integers(-10, 10), st.floats())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=10), kids,
                                                              max_size=5),
    max_leaves=30)


def dumps(obj):
    """JSON text, NaN/Infinity literals allowed (the server accepts them)."""
    return json.dumps(obj, allow_nan=True)


def body_of(obj):
    try:
        return dumps(obj).encode("utf-8", "surrogatepass")
    except (ValueError, OverflowError):
        return b"{}"


POST_ROUTES = ["/data", "/api/v1/points"]


# -- properties: arbitrary JSON and bytes ---------------------------------------------

@FUZZ
@given(route=st.sampled_from(POST_ROUTES), doc=json_values)
def test_arbitrary_json_to_point_routes(api, route, doc):
    api.hostile("POST", route, body_of(doc))


@FUZZ
@given(route=st.sampled_from(POST_ROUTES + ["/api/v1/images?model=m&name=n"]),
       ctype=st.sampled_from(["application/json", CONTENT_TYPE, "image/png",
                              "text/plain", ""]),
       data=st.binary(max_size=2000))
def test_arbitrary_bytes_to_every_post_route(api, route, ctype, data):
    api.hostile("POST", route, data, ctype)


# -- properties: well-formed envelopes, hostile fields --------------------------------

point = st.fixed_dictionaries(
    {"modelName": names, "pointType": names, "pointValue": values},
    optional={"globalStep": steps})


@FUZZ
@given(items=st.one_of(point, st.lists(point, max_size=8)))
def test_post_data_with_hostile_fields(api, items):
    status, doc = api.hostile("POST", "/data", body_of(items))
    if status == 200 and isinstance(items, dict) and isinstance(items.get("globalStep"), int):
        # what was accepted reads back as sent (names kept exactly)
        query = urllib.parse.urlencode({"model": items["modelName"],
                                        "series": items["pointType"]}, errors="surrogatepass")
        got_status, raw = api.call("GET", "/api/v1/series?" + query)
        assert got_status == 200, raw
        assert items["globalStep"] in json.loads(raw)["steps"]


series_entry = st.fixed_dictionaries(
    {"model": names, "name": names, "values": st.lists(values, max_size=6)},
    optional={"steps": st.lists(steps, max_size=6),
              "times": st.lists(values, max_size=6)})


@FUZZ
@given(entries=st.lists(series_entry, max_size=4),
       batch=st.one_of(st.none(), st.text(max_size=200), st.integers(), st.just("")))
def test_post_points_json_with_hostile_fields(api, entries, batch):
    doc = {"series": entries}
    if batch is not None:
        doc["batch"] = batch
    api.hostile("POST", "/api/v1/points", body_of(doc))


@FUZZ
@given(heads=st.lists(st.tuples(names, names, st.one_of(st.integers(-2, 5), st.just(2**40),
                                                         st.floats(0, 3), st.none())),
                      max_size=3),
       batch=st.one_of(st.none(), st.text(max_size=130), st.integers()),
       payload=st.binary(max_size=400), trim=st.integers(-16, 16))
def test_post_points_binary_with_hostile_header(api, heads, batch, payload, trim):
    header = {"series": [list(h) for h in heads]}
    if batch is not None:
        header["batch"] = batch
    head = dumps(header).encode("utf-8", "surrogatepass")
    # pay exactly what the header asks for (when it asks sensibly), then trim or pad
    need = sum(24 * h[2] for h in heads if isinstance(h[2], int) and 0 <= h[2] < 100)
    body = MAGIC + struct.pack("<I", len(head)) + head + (payload * (need // max(len(payload), 1)
                                                                     + 1))[:need]
    body = body[:len(body) + trim] if trim < 0 else body + payload[:trim]
    api.hostile("POST", "/api/v1/points", body, CONTENT_TYPE)


@FUZZ
@given(model=names, name=names, step=st.one_of(st.none(), steps.map(str), st.text(max_size=5)),
       when=st.one_of(st.none(), st.text(max_size=8), st.just("1e400"), st.just("-inf"),
                      st.just("1e308"), st.just("nan")),
       batch=st.one_of(st.none(), st.text(max_size=130)),
       png=st.one_of(st.just(PNG_1x1), st.binary(max_size=64),
                     st.builds(lambda w, h: PNG_1x1[:16] + struct.pack(">II", w, h)
                               + PNG_1x1[24:], st.integers(0, 2**32 - 1),
                               st.integers(0, 2**32 - 1))))
def test_post_images_with_hostile_params(api, model, name, step, when, batch, png):
    params = {"model": model, "name": name, "step": step, "time": when, "batch": batch}
    query = "&".join(f"{k}={urllib.parse.quote(str(v), safe='', errors='surrogatepass')}"
                     for k, v in params.items() if v is not None)
    listing = "/api/v1/images?" + urllib.parse.urlencode(
        {"model": str(model), "name": str(name)}, errors="surrogatepass")
    before = api.call("GET", listing)
    status, doc = api.hostile("POST", f"/api/v1/images?{query}", png, "image/png")
    if status != 200:
        assert api.call("GET", listing) == before, "a refused image was stored"


# -- big, deep and many ---------------------------------------------------------------

def test_deeply_nested_bodies_are_400(api):
    for depth in (1_000, 100_000, 1_000_000):
        api.hostile("POST", "/data", b"[" * depth + b"]" * depth)
        api.hostile("POST", "/api/v1/points",
                    b'{"series": [{"model": "m", "name": "n", "values": ' + b"[" * depth
                    + b"]" * depth + b"}]}")
        api.hostile("POST", "/api/v1/points", b'{"series":' + b'{"a":' * depth + b"1"
                    + b"}" * depth + b"}")


def test_huge_valid_and_invalid_bodies(api):
    n = sized(50_000, 300_000)
    items = [{"modelName": "huge", "pointType": "loss", "pointValue": i * 0.5,
              "globalStep": i} for i in range(n)]
    status, doc = api.hostile("POST", "/data", body_of(items))
    assert status == 200 and doc["points"] == n
    items[-1]["pointValue"] = "oops"            # one bad point at the very end: none stored
    items = [dict(it, pointType="loss2") for it in items]
    status, doc = api.hostile("POST", "/data", body_of(items))
    assert status == 400 and f"item {n - 1}" in doc["error"], doc
    status, doc = api.hostile("POST", "/api/v1/points", body_of({"series": [
        {"model": "huge", "name": "unicode ✓ ж 😀/" + "長" * 200,
         "values": [1e308, -1e308, "NaN"] * (n // 3)}]}))
    assert status == 200


def test_duplicate_and_fractional_steps(api):
    status, doc = api.hostile("POST", "/api/v1/points", body_of({"series": [
        {"model": "dup", "name": "s", "steps": [5, 5, 5, -3, 3.0], "values": [1, 2, 3, 4, 5]}]}))
    assert status == 200
    _, raw = api.call("GET", "/api/v1/series?model=dup&series=s")
    got = json.loads(raw)
    assert got["steps"] == [-3, 3, 5, 5, 5] and got["values"] == [4, 5, 1, 2, 3]
    for bad in (2.5, -0.5, 1e300, "3"):
        status, doc = api.hostile("POST", "/api/v1/points", body_of({"series": [
            {"model": "dup", "name": "s", "steps": [1, bad], "values": [1, 2]}]}))
        assert status == 400 and "steps[1]" in doc["error"], doc


# -- the client -----------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.points = 0

    def __call__(self, path, body, ctype):
        from pastalog.wire import decode_batch
        if path == "/api/v1/points":
            self.points += sum(len(v) // 8 for _, _, _, v, _ in decode_batch(body)[1])
        return 200, b"{}"


@pytest.fixture(scope="module")
def client():
    rec = Recorder()
    log = pastalog.Log(1, "fuzz", transport=rec, spool_dir=False)
    yield log, rec
    log.close()


client_values = st.one_of(values, st.binary(max_size=5), st.complex_numbers(),
                          st.decimals(allow_nan=True), st.fractions(),
                          st.lists(st.floats(), max_size=2), st.builds(object))
client_names = st.one_of(names, st.binary(max_size=5), st.tuples(st.text(max_size=2)),
                         st.builds(object))


@FUZZ
@given(name=client_names, value=client_values,
       step=st.one_of(st.none(), steps, st.decimals(allow_nan=True), st.fractions()))
def test_client_hostile_input_raises_invalid_at_once(client, name, value, step):
    log, rec = client
    accepted = log._accepted
    try:
        log.write(name, value, step)
    except (pastalog.InvalidName, pastalog.InvalidValue):
        assert log._accepted == accepted
    else:
        assert log._accepted == accepted + 1
        assert isinstance(name, str) and 0 < len(name) <= 256
    assert log._thread.is_alive(), "the sender thread died"


def test_client_sender_survives_and_delivers_after_the_fuzz(client):
    log, rec = client
    log.write("after-fuzz", 1.0)
    assert log.flush(timeout=10) is True
    assert log._thread.is_alive()
    assert rec.points == log._accepted, "accepted points went missing"


# -- regressions: lone surrogates, NaN image times, unhashable names -------------------

@pytest.mark.parametrize("name", ["\ud800", "a\udfffb"])
def test_lone_surrogate_names_are_400_on_every_route(api, name):
    bodies = [
        ("/data", {"modelName": "m", "pointType": name, "pointValue": 1.0}),
        ("/data", {"modelName": name, "pointType": "s", "pointValue": 1.0}),
        ("/api/v1/points", {"series": [{"model": "m", "name": name, "values": [1.0]}]}),
        ("/api/v1/points", {"batch": name, "series": []}),
    ]
    for route, doc in bodies:
        status, raw = api.call("POST", route, body_of(doc))
        assert status == 400, (route, status, raw)


def test_lone_surrogate_names_raise_in_the_client(api):
    log = pastalog.Log(api.srv.port, "surrogate", spool_dir=False)
    try:
        with pytest.raises(pastalog.InvalidName):
            log.write("\ud800", 1.0)
    finally:
        log.write("fine", 1.0)
        delivered = log.flush(timeout=5)     # the bad batch must not block the good one
        log.close(timeout=0)
    assert delivered


def test_image_time_nan_is_400(api):
    for when in ("nan", "NaN", "-nan"):
        query = urllib.parse.urlencode({"model": "imgtime", "name": "n", "time": when})
        status, raw = api.call("POST", f"/api/v1/images?{query}", PNG_1x1, "image/png")
        assert status == 400, (when, status, raw)


@pytest.mark.parametrize("name", [[], ["loss"], {"a": 1}, bytearray(b"x")])
def test_unhashable_name_raises_invalid_name(client, name):
    log, _ = client
    with pytest.raises(pastalog.InvalidName):
        log.write(name, 1.0)
