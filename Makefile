PYTHON ?= python3
STAMPS := .cache/stamps

.PHONY: test dev chromium postgresql nginx clean

# Everything the tests need, then the tests: the main suite (server, client, browser,
# the package's doctests, mypy on the public API), the client's core tests again with
# the pure-Python write (what runs where pip found no C compiler for _cwrite.c), then
# the Theano/Lasagne add-ons in their own virtualenv.
# The main suite runs in TEST_WORKERS processes (pytest-xdist), a test file each at a
# time: most of its time is spent waiting on servers, browsers and timeouts.
TEST_WORKERS ?= 2

test: dev chromium postgresql nginx
	$(PYTHON) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --doctest-modules tests pastalog
	PASTALOG_PURE_PYTHON=1 $(PYTHON) -m pytest -q tests/test_client.py tests/test_client_threads.py
	$(MAKE) test-legacy LEGACY_SERVER_PYTHON="$$(command -v $(PYTHON))"

dev: $(STAMPS)/dev
# torch first, pinned: its CPU build installs in seconds here, while an unpinned torch
# (pulled in by captum, lightning, transformers) would fetch a multi-GB CUDA build.
$(STAMPS)/dev: pyproject.toml setup.py pastalog/_cwrite.c
	$(PYTHON) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PYTHON) -m pip install -q --disable-pip-version-check torch==2.13.0 \
		-e '.[dev,torch,lightning,keras,transformers,postgresql]'
	$(PYTHON) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	@mkdir -p $(STAMPS) && touch $@

# Browser tests drive Debian's Chromium (Playwright's own download cannot work here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q chromium; }

# The PostgreSQL store's tests run their own throwaway cluster (tests/pg_cluster.py)
# with Debian's server binaries.
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q postgresql; }

# tests/test_deploy.py runs docs/deploy.md's nginx configuration with Debian's nginx.
nginx:
	@test -x /usr/sbin/nginx || { apt-get update -q && apt-get install -y -q nginx; }

include mk/legacy.mk
include mk/stress.mk
include benchmarks/bench.mk

clean:
	rm -rf .cache/stamps .pytest_cache build *.egg-info
