# The benchmark suite (issue 5). Included from the top-level Makefile:
#     include benchmarks/bench.mk
# Not part of `make test`; nothing here asserts a time. Writes benchmarks/RESULTS.md.
#   make bench                 pastalog alone (about 6 min on 2 cores)
#   make bench-peers           also the peers, each in a venv under .peers/ (pip, first use)
#   make bench BENCH_ARGS=--quick
#   make bench-histogram       Log.histogram's cost on the caller's thread (prints only)
#   make bench-pg              issue 13's PostgreSQL figures and the MLflow anchor (venv
#                              under .peers/ on first use; BENCH_ARGS=--no-mlflow skips it)

PYTHON ?= python3
BENCH_ARGS ?=

.PHONY: bench bench-peers bench-pg bench-deps bench-histogram

bench-deps:
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[bench]'

bench: bench-deps
	$(PYTHON) -m benchmarks $(BENCH_ARGS)

bench-peers: bench-deps
	$(PYTHON) -m benchmarks --peers $(BENCH_ARGS)

bench-histogram: bench-deps
	$(PYTHON) -m benchmarks.histogram_bench

bench-pg: bench-deps
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[postgresql]'
	$(PYTHON) -m benchmarks.pg_bench $(BENCH_ARGS)
