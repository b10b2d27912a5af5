# The two entry points: `make demo` and `make test`. Each does all of its
# own setup on a fresh machine. Each language adds its part from mk/*.mk
# by appending to DEMOS and TESTS.
CARGO ?= cargo
DEMOS := rust-demo workers-demo
TESTS := lint rust-test

include $(sort $(wildcard mk/*.mk))

.PHONY: demo test rust-demo workers-demo lint rust-test

demo: $(DEMOS)

test: $(TESTS)

rust-demo:
	$(CARGO) run --quiet -p sojourn --example lifecycle
	$(CARGO) run --quiet -p sojourn --example restart

# Two worker processes sharing one session in Redis (a redis-server of its own).
workers-demo:
	scripts/with-redis $(CARGO) run --quiet -p sojourn --example workers

lint:
	$(CARGO) fmt --all --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# A real redis-server on a free loopback port for the Redis store's tests;
# the workers and restart demos assert what they tell, so they run here too.
rust-test:
	scripts/with-redis sh -c '$(CARGO) test --workspace && $(CARGO) run --quiet -p sojourn --example workers && $(CARGO) run --quiet -p sojourn --example restart'
