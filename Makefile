PYTHON ?= python3
STAMPS := .cache/stamps

.PHONY: test dev chromium clean

# Everything the tests need, then the tests: the main suite (server, client, browser),
# then the Theano/Lasagne add-ons in their own virtualenv.
test: dev chromium
	$(PYTHON) -m pytest -q
	$(MAKE) test-legacy LEGACY_SERVER_PYTHON="$$(command -v $(PYTHON))"

dev: $(STAMPS)/dev
$(STAMPS)/dev: pyproject.toml setup.py
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

# Browser tests drive Debian's Chromium (Playwright's own download cannot work here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q chromium; }

include mk/legacy.mk
include mk/stress.mk
include benchmarks/bench.mk

clean:
	rm -rf .cache/stamps .pytest_cache build *.egg-info
