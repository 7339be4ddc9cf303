"""Shared fixtures: a real pastalog server subprocess on a free 127.0.0.1 port."""
import os
import subprocess
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


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MiB tmpfs, unmounted afterwards."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    yield mnt
    if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# -- PostgreSQL ------------------------------------------------------------------------
# One throwaway cluster per test session (tests/pg_cluster.py); every test that asks
# gets a database of its own, cloned from one where the schema is already made.

@pytest.fixture(scope="session")
def pg_cluster():
    """A PostgreSQL cluster of our own on 127.0.0.1, stopped (by pid) after the session."""
    from pg_cluster import PgCluster

    cluster = PgCluster(free_port()).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def _pg_template(pg_cluster):
    from pastalog.server.store.postgres import PostgresStore

    url = pg_cluster.create_database("pastalog_template")
    PostgresStore(url).close()
    return "pastalog_template"


@pytest.fixture
def pg_url(pg_cluster, _pg_template):
    """The URL of a fresh PostgreSQL database holding an empty pastalog schema."""
    import uuid

    import psycopg

    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(pg_cluster.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {_pg_template}")
    return pg_cluster.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request, tmp_path):
    """Where to open a store, once per backend: a data dir, then a fresh database.

    The store-level tests take this (``Store(store_location)``) or ``any_store``, so
    one test runs against every backend."""
    if request.param == "sqlite":
        return str(tmp_path / "data")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def any_store(store_location):
    """An open store on each backend (see ``store_location``), closed after the test."""
    from pastalog.server.store import Store

    store = Store(store_location)
    yield store
    store.close()


@pytest.fixture
def make_server_on(tmp_path, store_location):
    """Factory of servers on the test's store (each backend in turn)."""
    started = []

    def make(**kwargs):
        extra = list(kwargs.pop("extra_args", ()))
        data_dir = store_location
        if "://" in store_location:   # the data dir then only holds the server's log
            extra = ["--store", store_location, *extra]
            data_dir = tmp_path / f"srv{len(started)}"
        proc = ServerProcess(data_dir, extra_args=extra, **kwargs)
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop()
