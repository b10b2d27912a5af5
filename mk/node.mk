# The Node package (node/, over bindings/node): `make node-test` installs
# node/'s tools with npm (`npm install`: `npm ci` refuses the lockfile that
# npm 11 writes for @napi-rs/cli), builds the addon in release with
# `napi build --platform` (into target/<triple>/, then node/; in one
# codegen unit, the root Cargo.toml's profile), type-checks
# the declarations against a typed usage file with `tsc --noEmit`, and runs
# `node --test` (both are `npm test`): the scenarios, the Node tests, and the check that the
# `npm pack` tarball installs into an empty folder and runs the README
# there. The tests run under scripts/with-redis (a real redis-server and a
# real three-master Redis Cluster, for RedisTracker's tests; they fail,
# never skip, without them). `make node-demo` runs
# examples/node/lifecycle.mjs. Stamps in target/node make a warm run quick.

# Rules here must not become make's default goal: restored at the end.
NODE_DEFAULT_GOAL := $(.DEFAULT_GOAL)

NODE_STAMPS := target/node
NODE_TOOLS_STAMP := $(NODE_STAMPS)/tools.stamp
NODE_ADDON_STAMP := $(NODE_STAMPS)/addon.stamp
NODE_SOURCES := Cargo.toml Cargo.lock core/Cargo.toml bindings/node/Cargo.toml bindings/node/build.rs \
	node/browser/sojourn.js $(shell find core/src bindings/node/src -name '*.rs')
NPM_QUIET := --no-audit --no-fund --loglevel=error

DEMOS += node-demo
TESTS += node-test

.PHONY: node-demo node-test node-addon

$(NODE_TOOLS_STAMP): node/package.json node/package-lock.json
	cd node && npm install $(NPM_QUIET)
	mkdir -p $(@D)
	touch $@

$(NODE_ADDON_STAMP): $(NODE_TOOLS_STAMP) $(NODE_SOURCES)
	cd node && npm run --silent build
	touch $@

node-addon: $(NODE_ADDON_STAMP)

node-test: $(NODE_ADDON_STAMP)
	scripts/with-redis sh -c 'cd node && npm test --silent'

node-demo: $(NODE_ADDON_STAMP)
	node examples/node/lifecycle.mjs

.DEFAULT_GOAL := $(NODE_DEFAULT_GOAL)
