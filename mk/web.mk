# The web layer end to end (tests/e2e/), after node.mk and python.mk (this
# file is read after them: its rule needs their stamps): `make e2e-test`
# builds the Node addon and the Python wheel as their tests do, installs the Express
# example's packages and playwright-core (npm), then runs the browser test
# of both example apps (examples/web/) in Debian's headless Chromium,
# installed if missing by scripts/with-chromium. Screenshots: target/e2e/.

E2E_DEFAULT_GOAL := $(.DEFAULT_GOAL)

TESTS += e2e-test

.PHONY: e2e-test

e2e-test: $(NODE_ADDON_STAMP) $(PY_WHEEL_STAMP)
	cd examples/web/express && npm install $(NPM_QUIET)
	cd tests/e2e && npm install $(NPM_QUIET)
	scripts/with-chromium sh -c 'cd tests/e2e && npm test --silent'


# The example apps, each one command from a fresh clone (memory store;
# ARGS="--snapshot FILE" or ARGS="--redis URL" for the others).
.PHONY: web-example-express web-example-fastapi

web-example-express: $(NODE_ADDON_STAMP)
	cd examples/web/express && npm install $(NPM_QUIET)
	node examples/web/express/server.mjs $(ARGS)

web-example-fastapi: $(PY_WHEEL_STAMP)
	$(VENV_BIN)/python examples/web/fastapi/app.py $(ARGS)

.DEFAULT_GOAL := $(E2E_DEFAULT_GOAL)
