# `make bench`: the side-by-side benchmarks (bench/README.md). Builds the
# wheel and the addon as the tests do, installs the peers (cachetools in
# the venv, lru-cache in bench/node), builds the Rust replays in release,
# then runs bench/run.py under scripts/with-redis (for the Redis rows),
# which prints the table and rewrites
# bench/README.md's results and bench/chart.svg. Not part of `make test`.

BENCH_DEFAULT_GOAL := $(.DEFAULT_GOAL)

.PHONY: bench bench-peers

bench-peers: python-wheel
	.venv/bin/python -m pip install --quiet --disable-pip-version-check -r bench/python/requirements.txt
	cd bench/node && npm install --no-audit --no-fund --loglevel=error
	cd bench/rust && $(CARGO) build --release --quiet --bins

bench: python-wheel node-addon bench-peers
	scripts/with-redis .venv/bin/python bench/run.py --write

.DEFAULT_GOAL := $(BENCH_DEFAULT_GOAL)
