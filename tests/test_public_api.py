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


def _pure_twin(fn):
    """A compiled method's pure-Python twin, whose types mypy and IDEs see."""
    from pastalog import client

    return getattr(client._PyWriter, fn.__name__)


@pytest.mark.parametrize("fn", list(_public_callables()), ids=lambda f: f.__qualname__)
def test_public_functions_are_annotated(fn):
    if inspect.ismethoddescriptor(fn):      # pastalog._cwrite's Log.write
        fn = _pure_twin(fn)
    sig = inspect.signature(fn)
    missing = [p.name for p in sig.parameters.values()
               if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    assert not missing, f"{fn.__qualname__}: parameters without a type: {missing}"
    assert sig.return_annotation is not inspect.Signature.empty, \
        f"{fn.__qualname__} has no return type"


def test_a_compiled_write_has_its_twins_signature_and_docs():
    import pastalog
    from pastalog import client

    if client._cwrite is None:
        pytest.skip("the compiled write is not built here (pure-Python write)")
    compiled, pure = pastalog.Log.write, _pure_twin(pastalog.Log.write)
    strip = [p.replace(annotation=inspect.Parameter.empty, kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)
             for p in inspect.signature(pure).parameters.values()]
    assert [(p.name, p.default) for p in inspect.signature(compiled).parameters.values()] \
        == [(p.name, p.default) for p in strip]
    assert compiled.__doc__.split("\n")[0] == pure.__doc__.split("\n")[0]


def test_the_package_ships_its_types():
    assert os.path.isfile(os.path.join(ROOT, "pastalog", "py.typed"))


def test_mypy_passes_on_the_public_api():
    out = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
