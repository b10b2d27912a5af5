# `make stress`: the promises of issue #14 under load, at full scale
# (stress/README.md: what each check proves, and the figures of a run):
# ticks and exactly-once ends from 8 Rust threads, Python threads and Node
# worker threads, 100,000,000 starts with flat memory, four processes on
# a Redis restarted twice, snapshots under kill -9. Not part of `make
# test`; `make stress-smoke` runs every check at a thousandth of the
# scale (under a minute). Under scripts/with-redis for the Node workers'
# Redis; the `redis` check starts its own (with an append-only file).

STRESS_DEFAULT_GOAL := $(.DEFAULT_GOAL)

.PHONY: stress stress-smoke stress-build stress-generated

# The generated bad-input suites (python/tests/test_generated.py,
# node/test/generated.test.mjs) with 50 times their examples.
stress-generated: python-wheel node-addon
	SOJOURN_GENERATED_RUNS=50 scripts/with-redis $(VENV_BIN)/python -m pytest python/tests/test_generated.py
	cd node && SOJOURN_GENERATED_RUNS=50 node --test test/generated.test.mjs

stress: stress-generated

stress-build:
	$(CARGO) build --release --quiet -p sojourn-stress

stress: stress-build python-wheel node-addon
	scripts/with-redis stress/run.sh

stress-smoke: stress-build python-wheel node-addon
	STRESS_SCALE=0.001 scripts/with-redis stress/run.sh

.DEFAULT_GOAL := $(STRESS_DEFAULT_GOAL)
