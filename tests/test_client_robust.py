"""The client's sender survives what the network, the disk and the caller throw at it.

Issues #9 (races, all-or-nothing ``write_many``, the step range), #10 (the sender
must not die, whole-request deadlines) and #12 (a refused token is said plainly).
A real server subprocess where one can answer; a tiny raw-socket server where the
answer cannot be real (a huge ``Content-Length``, one byte every so often).
"""
import logging
import os
import socket
import threading
import time

import pytest

import pastalog
from pastalog import _spool
from pastalog.limits import MAX_STEP

from helpers import ServerProcess, free_port
from fault_helpers import read_series, wait_for


class RawServer:
    """Accepts connections on 127.0.0.1, reads each HTTP request, calls ``answer(conn)``.

    ``answer`` returns False to close the connection after answering.
    """

    def __init__(self, answer, port=None):
        self.answer = answer
        self.requests = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        data = b""
        try:
            while not self.stopped.is_set():
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(data) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                data = data[length:]
                self.requests += 1
                if self.answer(conn, self) is False:
                    return
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        self.stopped.set()
        self.sock.close()
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()


def points_on_disk(directory):
    """How many points the spool files under ``directory`` hold."""
    total = 0
    for root, _, names in os.walk(directory):
        for name in names:
            if name.endswith(".spool"):
                for head, _ in _spool.read_records(os.path.join(root, name)):
                    total += int(head.split(" ", 1)[0])
    return total


def steps_with_token(srv, model, series, token):
    """Stored steps of a series on a server started with ``--token``, or []."""
    status, got = srv.request("GET", f"/api/v1/series?model={model}&series={series}",
                              headers={"Authorization": f"Bearer {token}"})
    return got["steps"] if status == 200 else []


def warnings_about(caplog, text):
    return [r for r in caplog.records if r.levelno >= logging.WARNING and text in r.getMessage()]


# -- #9.1: a new series while the sender drains ------------------------------------

def test_new_series_while_the_sender_drains_do_not_kill_it(server):
    log = pastalog.Log(server.port, "race", flush_interval=0.0005, spool_dir=False)
    for i in range(30_000):
        log.write(f"s{i}", 1.0)
    assert log.flush(timeout=60)
    log.write("s0", 2.0)
    assert log.flush(timeout=10)
    log.close()
    assert read_series(server, "race", "s29999")[0] == [0]
    assert read_series(server, "race", "s0")[:2] == ([0, 1], [1.0, 2.0])


# -- #9.2, #9.7: write_many all or nothing, steps within ±(2**53-1) ----------------

def test_write_many_commits_all_or_nothing(server):
    with pastalog.Log(server.port, "many", spool_dir=False) as log:
        log.write_many({"a": 1.0, "b": 2.0})
        with pytest.raises(pastalog.InvalidValue):
            log.write_many({"a": 10.0, "b": "bad"})
        with pytest.raises(pastalog.InvalidName):
            log.write_many({"a": 10.0, "": 2.0})
        with pytest.raises(pastalog.InvalidValue):
            log.write_many({"a": 10.0, "b": 2.0}, step=MAX_STEP + 1)
        log.write_many({"a": 3.0, "b": 4.0})
        assert log.flush(timeout=10)
    assert read_series(server, "many", "a")[:2] == ([0, 1], [1.0, 3.0])
    assert read_series(server, "many", "b")[:2] == ([0, 1], [2.0, 4.0])


PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b55"
                    "0000000a4944415408d76360000000020001e221bc330000000049454e44ae426082")


@pytest.mark.parametrize("call", [
    lambda log, step: log.write("s", 1.0, step),
    lambda log, step: log.write("s", 1.0, step=float(step)),
    lambda log, step: log.post("s", 1.0, step),
    lambda log, step: log.write_many({"s": 1.0}, step),
    lambda log, step: log.image("img", PNG, step),
], ids=["write", "write-float", "post", "write_many", "image"])
def test_steps_beyond_2_to_the_53_raise_at_once(server, call):
    with pastalog.Log(server.port, "steps", spool_dir=False) as log:
        for bad in (MAX_STEP + 1, -MAX_STEP - 1, 2**62):
            with pytest.raises(pastalog.InvalidValue, match=r"2\*\*53"):
                call(log, bad)
        call(log, MAX_STEP)
        call(log, -MAX_STEP)
        assert log.flush(timeout=10)


def test_continuing_past_the_largest_step_raises(server):
    with pastalog.Log(server.port, "steps", spool_dir=False) as log:
        log.write("s", 1.0, MAX_STEP)
        with pytest.raises(pastalog.InvalidValue, match=r"2\*\*53"):
            log.write("s", 2.0)
        with pytest.raises(pastalog.InvalidValue, match=r"2\*\*53"):
            log.write_many({"s": 2.0})
        log.image("img", PNG, MAX_STEP)
        with pytest.raises(pastalog.InvalidValue, match=r"2\*\*53"):
            log.image("img", PNG)
        assert log.flush(timeout=10)
    assert read_series(server, "steps", "s")[0] == [MAX_STEP]


# -- #10.2: the sender survives what it meets --------------------------------------

@pytest.mark.parametrize("where", ["under-a-file", "is-a-file"])
def test_unusable_spool_dir_means_no_spool_and_one_warning(tmp_path, caplog, where):
    afile = tmp_path / "afile"
    afile.write_text("x")
    spool_dir = str(afile / "spool") if where == "under-a-file" else str(afile)
    port = free_port()
    with caplog.at_level(logging.WARNING, logger="pastalog"):
        log = pastalog.Log(port, "nospool", spool_dir=spool_dir, max_memory_points=100,
                           batch_points=50)
        for i in range(1000):
            log.write("loss", float(i))
        assert not log.flush(timeout=0.5)
        assert len(warnings_about(caplog, "spool")) == 1, caplog.text
        srv = ServerProcess(tmp_path / "data", port=port).start()
        try:
            assert log.flush(timeout=20)
            log.close()
            assert read_series(srv, "nospool", "loss")[0] == list(range(1000))
        finally:
            srv.stop()
    assert "Traceback" not in caplog.text


def test_close_never_claims_points_are_spooled_when_they_are_not(tmp_path, caplog):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with caplog.at_level(logging.WARNING, logger="pastalog"):
        log = pastalog.Log(free_port(), "lost", spool_dir=str(afile / "spool"))
        for i in range(100):
            log.write("loss", float(i))
        assert not log.flush(timeout=0.3)
        log.close(timeout=0)
    assert "next pastalog.Log" not in caplog.text
    assert "100 points/images" in caplog.text and "lost" in caplog.text


@pytest.mark.parametrize("token", ["secret\n", "sec\rret", "a\x00b", "tab\t"])
def test_a_token_with_control_characters_raises_at_once(token):
    with pytest.raises(ValueError, match="token"):
        pastalog.Log(8120, "m", token=token)


def test_a_token_read_from_a_file_with_its_newline_raises_at_once(monkeypatch):
    monkeypatch.setenv("PASTALOG_TOKEN", "secret\n")
    with pytest.raises(ValueError, match="newline"):
        pastalog.Log(8120, "m")


def test_a_token_outside_latin1_works_as_with_curl(make_server, tmp_path):
    token = "pässwörd-✓-トークン"
    srv = make_server(extra_args=["--token", token]).start()
    with pastalog.Log(srv.port, "utf8", token=token, spool_dir=str(tmp_path / "sp")) as log:
        log.write("loss", 1.5)
        assert log.flush(timeout=10), log.last_error
    # what curl sends: the token's UTF-8 bytes (urllib sends a str header as latin-1)
    assert steps_with_token(srv, "utf8", "loss", token.encode().decode("latin-1")) == [0]


def test_a_refused_token_is_said_plainly(make_server, tmp_path, caplog):
    srv = make_server(extra_args=["--token", "right"]).start()
    spool = str(tmp_path / "spool")
    with caplog.at_level(logging.WARNING, logger="pastalog"):
        log = pastalog.Log(srv.port, "tok", token="wrong", spool_dir=spool,
                           max_memory_points=1000, batch_points=500)
        assert log.last_error is None
        for i in range(5000):
            log.write("loss", float(i))
        assert not log.flush(timeout=1)
        assert "401" in log.last_error and "token" in log.last_error
        with pytest.raises(pastalog.PastalogError, match="token"):
            log.flush(timeout=0.2, raise_on_error=True)
        wait_for(lambda: points_on_disk(spool) >= 4000, 10, what="the memory bound")
        log.close()
    said = warnings_about(caplog, "refused the token")
    assert len(said) == 1 and "401" in said[0].getMessage(), caplog.text
    log = pastalog.Log(srv.port, "other", token="right", spool_dir=spool)
    wait_for(lambda: steps_with_token(srv, "tok", "loss", "right") == list(range(5000)), 20,
             what="the spooled points")
    assert log.last_error is None
    log.close()


def huge_answer(conn, raw):
    conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100000000000\r\n"
                 b"Content-Type: application/json\r\n\r\n{}")
    return False


def test_an_answer_with_a_huge_content_length(tmp_path, caplog):
    raw = RawServer(huge_answer)
    spool = str(tmp_path / "spool")
    with caplog.at_level(logging.WARNING, logger="pastalog"):
        log = pastalog.Log(raw.port, "huge", spool_dir=spool, max_memory_points=1000,
                           batch_points=500)
        for i in range(3000):
            log.write("loss", float(i))
        wait_for(lambda: raw.requests >= 3, 10, what="three attempts")
        assert not log.flush(timeout=0.2)
        assert "503" in log.last_error
        wait_for(lambda: points_on_disk(spool) >= 2000, 10, what="the memory bound")
        raw.close()
        srv = ServerProcess(tmp_path / "data", port=raw.port).start()
        try:
            for i in range(3000, 3100):
                log.write("loss", float(i))
            assert log.flush(timeout=20)
            assert log.last_error is None
            log.close()
            assert read_series(srv, "huge", "loss")[0] == list(range(3100))
        finally:
            srv.stop()
    assert "MemoryError" not in caplog.text and "stopped" not in caplog.text


class Broken:
    """A transport that raises what a bug would while ``broken``, then takes points."""

    def __init__(self, exc):
        self.exc, self.broken, self.calls = exc, True, 0

    def __call__(self, path, body, ctype):
        self.calls += 1
        if self.broken:
            raise self.exc
        return 200, b"{}"


@pytest.mark.parametrize("exc", [ValueError("Invalid header value b'x\\n'"),
                                 UnicodeEncodeError("latin-1", "✓", 0, 1, "not latin-1"),
                                 MemoryError(), KeyError("surprise")],
                         ids=["ValueError", "UnicodeEncodeError", "MemoryError", "KeyError"])
def test_the_sender_survives_any_error_and_says_so_once(tmp_path, caplog, exc):
    transport = Broken(exc)
    with caplog.at_level(logging.WARNING, logger="pastalog"):
        log = pastalog.Log(1, "m", transport=transport, spool_dir=str(tmp_path),
                           max_memory_points=500, batch_points=250)
        for i in range(3000):
            log.write("loss", float(i))
        wait_for(lambda: transport.calls >= 3, 10, what="three attempts")
        assert not log.flush(timeout=0.2)
        assert type(exc).__name__ in log.last_error
        wait_for(lambda: points_on_disk(tmp_path) >= 2500, 10, what="the memory bound")
        transport.broken = False
        log.write("loss", 1.0)
        assert log.flush(timeout=10)
        assert log.sender_errors >= 3 and log.last_error is None
        log.close()
    assert len(warnings_about(caplog, type(exc).__name__)) == 1, caplog.text


# -- #10.3: whole-request deadlines -------------------------------------------------

def dribble(conn, raw):
    """One byte of an answer that never ends, every 0.2 s."""
    while not raw.stopped.wait(0.2):
        conn.sendall(b"H")
    return False


def test_a_dribbling_server_is_timed_out_per_request(tmp_path):
    raw = RawServer(dribble)
    try:
        log = pastalog.Log(raw.port, "slow", spool_dir=str(tmp_path), request_timeout=0.6)
        log.write("loss", 1.0)
        wait_for(lambda: raw.requests >= 3, 10, what="a retry after the deadline")
        assert "timed out" in log.last_error
        log.close(timeout=0)
    finally:
        raw.close()


def test_close_returns_within_its_timeout_and_spools(tmp_path, caplog):
    raw = RawServer(dribble)
    try:
        with caplog.at_level(logging.WARNING, logger="pastalog"):
            log = pastalog.Log(raw.port, "slow", spool_dir=str(tmp_path), close_timeout=1.0)
            for i in range(100):
                log.write("loss", float(i))
            wait_for(lambda: raw.requests >= 1, 10, what="the request")
            t0 = time.monotonic()
            log.close()
            took = time.monotonic() - t0
        assert took < 1.8, f"close() took {took:.1f}s with close_timeout=1.0"
        assert points_on_disk(tmp_path) == 100
        assert "100 points/images" in caplog.text and "next pastalog.Log" in caplog.text
    finally:
        raw.close()


def test_the_deadline_reader_keeps_one_keep_alive_connection():
    def ok(conn, raw):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                     b"Content-Type: application/json\r\n\r\n{}")
    raw = RawServer(ok)
    try:
        log = pastalog.Log(raw.port, "m", spool_dir=False)
        for _ in range(5):
            log.write("loss", 1.0)
            assert log.flush(timeout=5)
        log.close()
        # 5 batches of points, and the run's first and last records
        assert (raw.requests, len(raw.conns)) == (7, 1)
    finally:
        raw.close()
