"""A connection the server closed for idling costs the client nothing (issue 10.7's pair)."""
import logging
import time

import pastalog


def test_a_write_after_the_server_closed_the_idle_connection_goes_through(make_server, caplog):
    srv = make_server(extra_args=["--idle-timeout", "0.5"]).start()
    caplog.set_level(logging.WARNING, logger="pastalog")
    log = pastalog.Log(srv.url, "idle", flush_interval=0.05)
    for value in (1.0, 2.0, 3.0):
        log.write("loss", value)
        assert log.flush(timeout=10)
        time.sleep(1.2)                      # the server drops the keep-alive connection
    log.close()
    # no failed request, so no warning of an outage and nothing to retry after a backoff
    assert [r.getMessage() for r in caplog.records] == []
    _, got = srv.get_json("/api/v1/series?model=idle&series=loss")
    assert got["values"] == [1.0, 2.0, 3.0]
