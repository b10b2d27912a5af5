# The supply chain: `make supply` checks the Rust dependencies with
# cargo-deny against deny.toml (licenses, duplicate major versions, and
# sources: crates.io only). cargo-deny is installed into target/tools if
# missing (a warm target/ keeps it; a cold install builds about 140 crates,
# unoptimized: about 2 minutes of CPU, where an optimized build took 7
# minutes on two busy cores; a check takes seconds either way). The checks read Cargo.lock and the crates'
# manifests, fetched first from crates.io, and need nothing else.
#
# Not checked here (see SECURITY.md): RustSec advisories (`cargo deny check
# advisories` clones its database from GitHub), npm advisories (`npm audit`
# posts to the registry's advisory endpoint) and Python advisories
# (pip-audit asks the PyPI JSON API per version, or OSV); none of them
# answers from this build machine. The npm and pip packages have no runtime
# dependencies; their development tools are pinned (node/package-lock.json,
# python/requirements-dev.txt).

# Rules here must not become make's default goal: restored at the end.
SUPPLY_DEFAULT_GOAL := $(.DEFAULT_GOAL)

CARGO_DENY_VERSION := 0.20.2
CARGO_DENY := target/tools/bin/cargo-deny

TESTS += supply

.PHONY: supply

supply:
	$(CARGO_DENY) --version 2>/dev/null | grep -qx 'cargo-deny $(CARGO_DENY_VERSION)' \
		|| $(CARGO) install --debug --locked --root target/tools cargo-deny@$(CARGO_DENY_VERSION)
	$(CARGO) fetch --locked --quiet
	$(CARGO_DENY) --frozen check licenses bans sources

.DEFAULT_GOAL := $(SUPPLY_DEFAULT_GOAL)
