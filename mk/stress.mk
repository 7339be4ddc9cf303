# Long versions of the fault, fuzz and load tests (issue 6), and the hostile clients of
# issue 10 (items 5-9) whose server RSS and /healthz figures the report prints.
# Include from the Makefile with:  include mk/stress.mk
.PHONY: stress stress-report

STRESS_REPORT ?= .cache/stress/bounds.json

stress: dev
	rm -f $(STRESS_REPORT)
	PASTALOG_STRESS=1 PASTALOG_STRESS_REPORT=$(STRESS_REPORT) $(PYTHON) -m pytest \
		-m stress_or_fault -s -q -p no:cacheprovider tests/test_faults.py \
		tests/test_fuzz.py tests/test_load.py tests/test_bounds_hostile.py; \
		status=$$?; $(PYTHON) tests/stress_report.py $(STRESS_REPORT) || status=1; \
		exit $$status

stress-report:
	$(PYTHON) tests/stress_report.py $(STRESS_REPORT)
