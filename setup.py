"""Shim for tools that still call setup.py; the metadata lives in pyproject.toml.

The one thing here: ``pastalog._cwrite``, ``Log.write``'s common case in C. It is
optional: without a C compiler (or Python's headers) the build goes on without it and
``Log.write`` runs in pure Python, as it does with ``PASTALOG_PURE_PYTHON=1``.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("pastalog._cwrite", ["pastalog/_cwrite.c"], optional=True,
                             extra_compile_args=["-O2"])])
