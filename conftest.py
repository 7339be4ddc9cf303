"""pytest at the root: doctests of the package run with ``--doctest-modules pastalog``.

Modules that cannot be imported in the main test process stay out of doctest
collection: ``serve.py`` monkey-patches the process for gevent on import (it is the
server's entry point), and the Lasagne add-ons need Theano (tested in .venv-legacy).
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

collect_ignore = ["setup.py", "pastalog/server/serve.py", "pastalog/__main__.py",
                  "pastalog/lasagne_addons"]
# conftest files are plugins, not modules to search for doctests (they share a name)
collect_ignore_glob = ["tests/conftest.py", "tests/*/conftest.py"]
