# Legacy Theano/Lasagne environment and its tests (issue 4).
#
# Included from the top-level Makefile:  include mk/legacy.mk
#
# Theano 1.0.5 cannot run on Python 3.12+, and needs numpy < 1.24, so the
# Lasagne add-ons are tested in their own virtualenv, .venv-legacy, built from
# pyenv's 3.11 (or 3.10).  The pastalog server those tests talk to runs under
# the main interpreter (LEGACY_SERVER_PYTHON), which has bottle and gevent.

LEGACY_VENV    ?= .venv-legacy
LEGACY_BASE_PY ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.11.*/bin/python3.11 \
                                         $(HOME)/.pyenv/versions/3.10.*/bin/python3.10) \
                              python3.11)
LEGACY_SERVER_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.11.7/bin/python) python3)
# Outside the work tree, so that a fresh clone (CI) on this machine compiles warm.
LEGACY_CACHE   ?= $(HOME)/.cache/pastalog-legacy

# Pins known to work together.  Theano 1.0.5 breaks on numpy >= 1.24
# (np.bool etc.); matplotlib 3.8 (with contourpy 1.2 and pyparsing 3.0,
# whose newer releases warn on every figure) and Pillow 10 run on numpy 1.23.5.
LEGACY_PINS = numpy==1.23.5 scipy==1.9.3 six Theano==1.0.5 Lasagne==0.1 \
              nolearn==0.6.1 scikit-learn==1.7.2 joblib tabulate \
              matplotlib==3.8.4 contourpy==1.2.1 pyparsing==3.0.9 Pillow==10.4.0 pytest==8.3.5

LEGACY_STAMP = $(LEGACY_VENV)/.pins-stamp

.PHONY: legacy-venv test-legacy

legacy-venv: $(LEGACY_STAMP)

# The stamp depends on this file, so changing the pins rebuilds the venv;
# otherwise a re-run is instant.
$(LEGACY_STAMP): mk/legacy.mk
	test -x $(LEGACY_VENV)/bin/python || $(LEGACY_BASE_PY) -m venv $(LEGACY_VENV)
	$(LEGACY_VENV)/bin/python -m pip install -q --upgrade pip wheel "setuptools<70"
	$(LEGACY_VENV)/bin/python -m pip install -q $(LEGACY_PINS)
	$(LEGACY_VENV)/bin/python -m pip install -q --no-deps -e .
	touch $@

# The same target under the name the issue uses.
$(LEGACY_VENV): $(LEGACY_STAMP)

# pytest runs inside the legacy venv and starts the server with the main
# interpreter; --confcutdir keeps the main suite's tests/conftest.py out.
test-legacy: $(LEGACY_STAMP)
	mkdir -p $(LEGACY_CACHE)/theano
	OPENBLAS_NUM_THREADS=1 \
	THEANO_FLAGS="$${THEANO_FLAGS:+$$THEANO_FLAGS,}base_compiledir=$(LEGACY_CACHE)/theano" \
	PASTALOG_SERVER_PYTHON=$(LEGACY_SERVER_PYTHON) \
	$(LEGACY_VENV)/bin/python -m pytest -q --confcutdir=tests/legacy tests/legacy $(PYTEST_ARGS)
