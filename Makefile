# The two entry points: `make demo` and `make test`. Each does all of its
# own setup on a fresh machine. Each language adds its part from mk/*.mk
# by appending to DEMOS and TESTS.
CARGO ?= cargo
DEMOS := rust-demo
TESTS := lint rust-test

include $(sort $(wildcard mk/*.mk))

.PHONY: demo test rust-demo lint rust-test

demo: $(DEMOS)

test: $(TESTS)

rust-demo:
	$(CARGO) run --quiet -p sojourn --example lifecycle

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# A real redis-server on a free loopback port for the Redis store's tests.
rust-test:
	scripts/with-redis $(CARGO) test --workspace
