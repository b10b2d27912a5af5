# The two entry points: `make demo` and `make test`. Each does its own setup.
CARGO ?= cargo

.PHONY: demo test lint unit

demo:
	$(CARGO) run --quiet -p sojourn --example lifecycle

test: lint unit

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace
