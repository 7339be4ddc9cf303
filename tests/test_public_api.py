"""The public surface: typed, checked by mypy, and its docstring examples run."""
import inspect
import os
import subprocess
import sys

import pytest

from pastalog.server.store.base import Store

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _public_callables():
    import pastalog
    from pastalog import nolearn
    from pastalog.server.app import make_app

    yield make_app
    yield nolearn.PastalogCallback.__init__
    yield nolearn.PastalogCallback.on_epoch_finished
    for name in ("write", "post", "write_many", "image", "histogram", "flush", "close"):
        yield getattr(pastalog.Log, name)
    for name, member in vars(Store).items():
        if callable(member) and not name.startswith("_"):
            yield member


@pytest.mark.parametrize("fn", list(_public_callables()), ids=lambda f: f.__qualname__)
def test_public_functions_are_annotated(fn):
    sig = inspect.signature(fn)
    missing = [p.name for p in sig.parameters.values()
               if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    assert not missing, f"{fn.__qualname__}: parameters without a type: {missing}"
    assert sig.return_annotation is not inspect.Signature.empty, \
        f"{fn.__qualname__} has no return type"


def test_the_package_ships_its_types():
    assert os.path.isfile(os.path.join(ROOT, "pastalog", "py.typed"))


def test_mypy_passes_on_the_public_api():
    out = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
