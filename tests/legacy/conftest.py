"""Fixtures for the Theano/Lasagne tests, which run inside .venv-legacy.

pytest runs under the legacy interpreter (Theano 1.0.5 needs Python <= 3.11
and numpy < 1.24); the pastalog server runs under the main interpreter, which
has bottle and gevent: ``$PASTALOG_SERVER_PYTHON`` (default ``python3``),
started on a free port with a fresh data directory and stopped by its pid.

Run through ``make test-legacy`` (see mk/legacy.mk); pytest is given
``--confcutdir=tests/legacy`` so the main suite's conftest is not loaded here.
"""

import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Before anything imports Theano: one BLAS thread (2 shared cores), and a
# compile cache that survives between runs (cold ~30 s per conv net, warm ~2 s).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
if "base_compiledir" not in os.environ.get("THEANO_FLAGS", ""):
    _flags = os.environ.get("THEANO_FLAGS", "").strip(",")
    _cache = os.path.join(ROOT, ".cache", "theano")
    os.environ["THEANO_FLAGS"] = ",".join(f for f in [_flags, "base_compiledir=" + _cache] if f)

sys.path.insert(0, os.path.join(ROOT, "examples"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from helpers import ServerProcess  # noqa: E402  (standard library only)


def pytest_configure(config):
    # Theano 1.0.5, Lasagne 0.1 and nolearn 0.6.1 use numpy and setuptools
    # aliases that are deprecated now: their warnings are not ours to fix.
    for module in ("theano", "lasagne", "nolearn", "sklearn", "pkg_resources"):
        config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:%s.*" % module)
    config.addinivalue_line("filterwarnings", "ignore:pkg_resources is deprecated")
    # Lasagne 0.1 passes conv2d's old keyword to Theano 1.0, which renamed it.
    config.addinivalue_line("filterwarnings",
                            "ignore:The `image_shape` keyword argument:UserWarning")


class Server(ServerProcess):
    """The main tests' ``ServerProcess`` under ``$PASTALOG_SERVER_PYTHON``, started at once,
    with readers for what the add-ons logged."""

    def __init__(self, data_dir, python=None):
        super().__init__(data_dir, python=python or os.environ.get("PASTALOG_SERVER_PYTHON",
                                                                   "python3"))
        self.start(timeout=30)

    def model(self, name):
        """The model's summary: ``{series name: info}``, ``{image name: info}``."""
        status, body = self.get_json("/api/v1/models/" + urllib.parse.quote(name, safe=""))
        assert status == 200, (status, body)
        return ({s["name"]: s for s in body["series"]},
                {i["name"]: i for i in body["images"]})

    def series(self, model, name):
        query = urllib.parse.urlencode({"model": model, "series": name})
        status, body = self.get_json("/api/v1/series?" + query)
        assert status == 200, (status, body)
        return body["steps"], body["values"]

    def png(self, model, name, save_dir=None):
        """The latest PNG logged under an image name (saved to ``save_dir`` too)."""
        query = urllib.parse.urlencode({"model": model, "name": name})
        status, body = self.get_json("/api/v1/images?" + query)
        assert status == 200 and body["images"], (status, body)
        status, raw = self.request("GET", body["images"][-1]["url"])
        assert status == 200 and raw[:8] == b"\x89PNG\r\n\x1a\n"
        if save_dir:
            os.makedirs(save_dir, exist_ok=True)
            fname = "%s__%s.png" % (model, name.replace("/", "_"))
            with open(os.path.join(save_dir, fname), "wb") as f:
                f.write(raw)
        return raw


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("pastalog-data"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def image_dir():
    """Where the tests leave the PNGs they fetched, to look at: .cache/legacy-images."""
    path = os.path.join(ROOT, ".cache", "legacy-images")
    os.makedirs(path, exist_ok=True)
    return path
