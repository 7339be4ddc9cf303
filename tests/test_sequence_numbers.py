"""Sequence numbers: every answer and live event says which points it holds (issue 9.6)."""
import threading

from fault_helpers import RawWebSocket

from pastalog.server.store import Store


def test_store_answers_carry_the_snapshot_seq(store_location):
    with Store(store_location) as store:
        store.write_points([("m", "s", [0, 1, 2], [1.0, 2.0, 3.0], None)])
        written = store.write_points([("m", "s", [5, 3], [5.0, 4.0], None)])["series"]
        assert written[0][5]["seq"] == 5
        assert store.read_series("m", "s")["seq"] == 5
        assert store.read_series("m", "s", 0, 1)["seq"] == 5      # of the series, not the range
        assert store.read_buckets("m", "s", 10)["seq"] == 5
        store.delete_series("m", "s")
        store.write_points([("m", "s", None, [9.0], None)])
        assert store.read_series("m", "s")["seq"] == 1            # a new series starts again


def test_live_events_and_answers_merge_exactly_once(server):
    """Concurrent writers; a reader fetching mid-stream merges by seq with no gap/overlap."""
    ws = RawWebSocket(server.port, "/ws?model=m")
    events = []
    done = threading.Event()

    def read():
        try:
            while True:
                events.extend(ws.events())
        except (EOFError, OSError):
            return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def writer(k):
        for i in range(40):
            server.post_json("/api/v1/points", {"series": [
                {"model": "m", "name": "s", "values": [float(k), float(i)]}]})

    server.post_json("/api/v1/points", {"series": [{"model": "m", "name": "s",
                                                    "values": [-1.0]}]})
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    _, mid = server.get_json("/api/v1/series?model=m&series=s")
    for t in threads:
        t.join()
    _, end = server.get_json("/api/v1/series?model=m&series=s&buckets=10")
    assert end["seq"] == end["count_total"] == 241
    deadline = 50
    while sum(len(e["steps"]) for e in events if e["type"] == "points") < 241 and deadline:
        done.wait(0.1)
        deadline -= 1
    done.set()
    ws.close()
    points = [e for e in events if e["type"] == "points"]
    # every point has exactly one sequence number, and together they are 1..241
    seqs = sorted(s for e in points for s in range(e["seq"] - len(e["steps"]) + 1, e["seq"] + 1))
    assert seqs == list(range(1, 242))
    # the mid-stream answer holds exactly the points with seq <= its seq
    assert len(mid["steps"]) == mid["seq"]
    pending = [s for s in seqs if s > mid["seq"]]
    assert len(mid["steps"]) + len(pending) == 241
