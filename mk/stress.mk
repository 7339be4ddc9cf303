# Long versions of the fault, fuzz and load tests (issue 6).
# Include from the Makefile with:  include mk/stress.mk
.PHONY: stress

stress: dev
	PASTALOG_STRESS=1 $(PYTHON) -m pytest -m stress_or_fault -s -q -p no:cacheprovider \
		tests/test_faults.py tests/test_fuzz.py tests/test_load.py
