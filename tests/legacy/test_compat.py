"""The Theano/Lasagne workarounds in pastalog.lasagne_addons._compat."""

import logging
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from pastalog.lasagne_addons import _compat

theano, T, lasagne = _compat.require()


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("THEANORC", str(tmp_path / "no-theanorc"))
    return monkeypatch


def test_empty_blas_ldflags_added_when_the_user_set_none(env):
    env.setenv("THEANO_FLAGS", "floatX=float32,base_compiledir=/x")
    _compat._default_blas_ldflags()
    assert os.environ["THEANO_FLAGS"] == "floatX=float32,base_compiledir=/x,blas.ldflags="
    env.delenv("THEANO_FLAGS")
    _compat._default_blas_ldflags()
    assert os.environ["THEANO_FLAGS"] == "blas.ldflags="


def test_users_own_blas_ldflags_are_kept(env, tmp_path):
    env.setenv("THEANO_FLAGS", "blas.ldflags=-lopenblas")
    _compat._default_blas_ldflags()
    assert os.environ["THEANO_FLAGS"] == "blas.ldflags=-lopenblas"
    rc = tmp_path / "theanorc"
    rc.write_text("[blas]\nldflags = -lblas\n")
    env.setenv("THEANORC", str(rc))
    env.setenv("THEANO_FLAGS", "floatX=float32")
    _compat._default_blas_ldflags()
    assert os.environ["THEANO_FLAGS"] == "floatX=float32"


def test_fresh_import_works_and_is_quiet():
    # A new process: Theano not imported yet, no blas.ldflags anywhere.
    env = dict(os.environ, THEANORC=os.devnull)
    env["THEANO_FLAGS"] = ",".join(f for f in env.get("THEANO_FLAGS", "").split(",")
                                   if f and not f.startswith("blas.ldflags"))
    code = ("import numpy as np, pastalog.lasagne_addons, theano, theano.tensor as T\n"
            "a = T.matrix(); f = theano.function([a], T.dot(a, a))\n"
            "print(f(np.eye(3, dtype=theano.config.floatX)).sum())\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3.0"
    assert "BLAS" not in out.stderr


def test_blas_notice_filter_drops_only_that_notice(caplog):
    logger = logging.getLogger("theano.tensor.blas")
    with caplog.at_level(logging.WARNING, logger="theano.tensor.blas"):
        logger.warning("Using NumPy C-API based implementation for BLAS functions.")
        logger.warning("something else")
    messages = [r.getMessage() for r in caplog.records if r.name == "theano.tensor.blas"]
    assert messages == ["something else"]


def test_downsample_shim_matches_pool_2d():
    from theano.tensor.signal import downsample, pool

    x = T.tensor4()
    X = np.random.RandomState(0).rand(2, 3, 7, 7).astype(theano.config.floatX)
    for kw in [dict(ds=(2, 2), ignore_border=True),
               dict(ds=(3, 2), ignore_border=False, st=(1, 2), padding=(0, 0)),
               dict(ds=(2, 2), ignore_border=True, padding=(1, 1), mode="average_inc_pad")]:
        old = theano.function([x], downsample.max_pool_2d(x, **kw))(X)
        new = theano.function([x], pool.pool_2d(
            x, ws=kw["ds"], ignore_border=kw["ignore_border"], stride=kw.get("st"),
            pad=kw.get("padding", (0, 0)), mode=kw.get("mode", "max")))(X)
        assert np.array_equal(old, new), kw


def test_lasagne_max_pool_layer_runs():
    x = T.tensor4()
    layer = lasagne.layers.MaxPool2DLayer(lasagne.layers.InputLayer((None, 1, 4, 4), x), 2)
    X = np.arange(16, dtype=theano.config.floatX).reshape(1, 1, 4, 4)
    out = theano.function([x], lasagne.layers.get_output(layer))(X)
    assert out.reshape(-1).tolist() == [5, 7, 13, 15]


def test_shim_left_out_when_downsample_exists(monkeypatch):
    # As on Lasagne 0.2 setups whose Theano still has (or does not need) it.
    existing = types.ModuleType("theano.tensor.signal.downsample")
    monkeypatch.setitem(sys.modules, "theano.tensor.signal.downsample", existing)
    monkeypatch.setattr(theano.tensor.signal, "downsample", existing, raising=False)
    _compat._downsample_shim(theano)
    assert sys.modules["theano.tensor.signal.downsample"] is existing
    assert not hasattr(existing, "max_pool_2d")
