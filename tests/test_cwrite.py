"""The compiled write (pastalog/_cwrite.c) against its pure-Python twin.

The same random calls go to two Logs: one whose ``write`` is the compiled one, one whose
``write`` is ``_PyWriter.write`` (what runs without the compiled module, or with
``PASTALOG_PURE_PYTHON=1``; ``make test`` runs the client's tests that way too). Each
call must raise the same error or none; afterwards both Logs must hold the same points,
the same next steps and the same relative/absolute splits, and must have woken their
sender the same number of times. The senders are kept asleep (a dummy wake, an hour's
flush interval), so the buffers are compared whole.
"""
import math
import os
import shutil
import sys
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pastalog import client
from pastalog.limits import MAX_STEP

compiled = pytest.mark.skipif(client._cwrite is None,
                              reason="the compiled write is not built here")


@pytest.mark.skipif(os.environ.get("PASTALOG_PURE_PYTHON") or not shutil.which("cc"),
                    reason="pure Python asked for, or no C compiler")
def test_the_compiled_write_is_built_where_a_compiler_is():
    # setup.py marks the extension optional: a failing build must not hide here
    assert client._cwrite is not None
    assert type(client.Log.__dict__.get("write", client.Log.write)).__name__ == "method_descriptor"


class PureLog(client.Log):
    write = client._PyWriter.write


class CountingWake:
    def __init__(self):
        self.sets = 0

    def set(self):
        self.sets += 1


def _quiet(cls, resume=True):
    log = cls(8120, "m", transport=lambda path, body, ctype: (200, b"{}"),
              spool_dir=False, flush_interval=3600.0, handle_signals=False, resume=resume)
    real, log._wake = log._wake, CountingWake()
    return log, real


def _drain(log):
    """Each series' buffered (step, value) pairs, taken out of the buffers (NaN as a
    string, so that equal buffers compare equal)."""
    out = {}
    for name, s in log._series.items():
        triples = np.frombuffer(s.buf.take(len(s.buf)), dtype=np.float64).reshape(-1, 3)
        out[name] = [(step, "nan" if value != value else value)
                     for step, value in triples[:, :2].tolist()]
    return out


def _close(log, real):
    log._wake = real
    log.close()


@pytest.fixture
def quiet_log():
    """A compiled-write Log whose sender sleeps (see the module's docstring)."""
    log, real = _quiet(client.Log)
    yield log
    _close(log, real)


class Odd(str):
    def __hash__(self):
        return hash(str(self))


# Mostly the common case (two series, floats, implicit or small steps), which the
# compiled path takes, mixed with every odd case it hands to the pure one.
names = st.one_of(st.sampled_from(["loss", "acc"]),
                  st.sampled_from(["a/b", "", " x", "x" * 300, "\x00", 7, None, Odd("loss")]))
values = st.one_of(st.floats(), st.floats(),
                   st.integers(-2**70, 2**70), st.booleans(),
                   st.sampled_from([np.float64(1.5), np.float32(2.5), np.int64(3), "2.5",
                                    None, [1.0], np.array([1.0, 2.0]), 10**400]))
steps = st.one_of(st.none(), st.none(), st.integers(-3, 20),
                  st.integers(-MAX_STEP - 2, MAX_STEP + 2),
                  st.sampled_from([MAX_STEP, MAX_STEP - 1, -MAX_STEP, True, 3.0, 3.5,
                                   np.int64(5), "4", 2**64]))
calls = st.lists(st.tuples(names, values, steps, st.booleans()), max_size=60)


@compiled
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls, st.booleans())
def test_compiled_and_pure_write_agree(ops, resume):
    fast, fast_wake = _quiet(client.Log, resume)
    pure, pure_wake = _quiet(PureLog, resume)
    try:
        assert type(fast).write is not type(pure).write
        for name, value, step, keyword in ops:
            outcomes = []
            for log in (fast, pure):
                try:
                    if keyword:
                        log.write(series=name, value=value, step=step)
                    else:
                        log.write(name, value, step)
                    outcomes.append(None)
                except Exception as exc:  # noqa: BLE001 - compared below
                    outcomes.append((type(exc), str(exc)))
            assert outcomes[0] == outcomes[1], (name, value, step)
        assert {k: (s.next, s.relative, s.split) for k, s in fast._series.items()} \
            == {k: (s.next, s.relative, s.split) for k, s in pure._series.items()}
        assert fast._wake.sets == pure._wake.sets
        assert _drain(fast) == _drain(pure)
    finally:
        _close(fast, fast_wake)
        _close(pure, pure_wake)


@compiled
def test_times_are_the_wall_clock_and_steps_values_exact(quiet_log):
    log = quiet_log
    log.write("s", 0.25)                      # first: through the pure path (new series)
    before = time.time()
    for k in range(1000):
        log.write("s", k * 0.1)
    log.write("s", -1e300, MAX_STEP - 1)      # explicit: the series turns absolute
    after = time.time()
    buf = log._series["s"].buf
    assert len(buf) == 3 * 1002
    triples = np.frombuffer(buf.take(len(buf)), dtype=np.float64).reshape(-1, 3)
    assert list(triples[:1001, 0]) == list(range(1001))
    assert triples[1001, 0] == MAX_STEP - 1
    assert list(triples[1:1001, 1]) == [k * 0.1 for k in range(1000)]
    assert triples[1001, 1] == -1e300
    times = triples[1:, 2]
    assert before <= times.min() and times.max() <= after
    assert (np.diff(times) >= 0).all()
    assert log._series["s"].next == MAX_STEP
    with pytest.raises(client.InvalidValue, match="largest step"):
        log.write("s", 1.0)
        log.write("s", 1.0)
    assert len(buf) == 3                        # MAX_STEP - 1 + 1 = MAX_STEP went in


@compiled
def test_no_reference_is_leaked_or_stolen(quiet_log):
    log = quiet_log
    name, value, step = "leak" + str(id(log)), 1234.5, 10**6
    log.write(name, value)
    counts = [sys.getrefcount(x) for x in (name, value, step)]
    for k in range(10_000):
        log.write(name, value)
        log.write(name, value, step + k)
    assert [sys.getrefcount(x) for x in (name, value, step)] == counts


@compiled
def test_a_taken_burst_gives_its_memory_back(quiet_log):
    log = quiet_log
    log.write("burst", 0.0)
    tracemalloc.start()
    try:
        for k in range(1, 200_000):
            log.write("burst", float(k))
        grown = tracemalloc.get_traced_memory()[0]
        buf = log._series["burst"].buf
        chunk = buf.take(len(buf))
        assert len(chunk) == 200_000 * 3 * 8 and len(buf) == 0
        assert np.frombuffer(chunk, dtype=np.float64)[-2] == 199_999.0
        del chunk
        assert grown - tracemalloc.get_traced_memory()[0] > 200_000 * 3 * 8 * 0.9
    finally:
        tracemalloc.stop()
    with pytest.raises(ValueError):
        buf.take(3)
    log.write("burst", math.inf)
    assert len(buf) == 3