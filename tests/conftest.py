"""Shared fixtures: a real pastalog server subprocess on a free 127.0.0.1 port."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import ROOT, ServerProcess, free_port  # noqa: E402

__all__ = ["ROOT", "ServerProcess", "free_port"]


@pytest.fixture
def server(tmp_path):
    """A fresh server on a fresh data dir, stopped after the test."""
    proc = ServerProcess(tmp_path / "data").start()
    yield proc
    proc.stop()


@pytest.fixture
def make_server(tmp_path):
    """Factory for servers with options; all are stopped after the test."""
    started = []

    def make(data_dir=None, **kwargs):
        proc = ServerProcess(data_dir or tmp_path / f"data{len(started)}", **kwargs)
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop()
