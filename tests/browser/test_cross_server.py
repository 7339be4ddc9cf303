"""A page on server A draws, live, the points posted to server B (one PostgreSQL
database; the events cross through LISTEN/NOTIFY)."""
import time

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def server(make_server, pg_url):
    """Server A, which the page opens (the ``page`` fixture takes this one)."""
    return make_server(extra_args=["--store", pg_url]).start()


def post(srv, model, steps):
    status, body = srv.post_json("/api/v1/points", {"series": [
        {"model": model, "name": "loss", "steps": steps, "values": [s / 10 for s in steps]}]})
    assert status == 200, body


def lines(page):
    return {l["model"]: l["points"] for l in page.state()["charts"][0]["lines"]}


def test_a_page_on_one_server_draws_points_posted_to_another(page, server, make_server,
                                                             pg_url):
    other = make_server(extra_args=["--store", pg_url]).start()
    post(server, "a", [0])
    post(other, "b", [0])               # B's model, listed by A from the database
    page.open()
    page.wait_for("s.charts.length && s.charts[0].lines.length === 2 "
                  "&& s.charts[0].lines.every(l => l.points === 1)")
    assert lines(page) == {"a": 1, "b": 1}
    t0 = time.monotonic()
    for k in range(1, 41):              # live, through B only
        post(other, "a" if k % 2 else "b", [k])
    page.wait_for("s.charts[0].lines.every(l => l.points === 21)", timeout=10)
    print(f"\npage on A drew 40 points posted to B within {time.monotonic() - t0:.2f} s")
    assert lines(page) == {"a": 21, "b": 21}
    assert page.errors == []
