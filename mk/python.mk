# The Python package (python/, over bindings/python): `make python-test`
# creates .venv at the root if missing, installs the tools of
# python/requirements-dev.txt, builds the abi3 wheel with maturin (one
# release build), installs it, then runs pytest (scenarios on every store
# and Python tests, with the Redis servers of scripts/with-redis),
# stubtest (python/sojourn/_native.pyi against the module) and mypy
# --strict (the package, and typed code using it). `make python-demo`
# runs examples/python/lifecycle.py. Stamps in .venv make a warm run quick.

# Rules here must not become make's default goal: restored at the end.
PY_DEFAULT_GOAL := $(.DEFAULT_GOAL)

PYTHON ?= python3
VENV := .venv
VENV_BIN := $(VENV)/bin
PY_WHEELS := target/python-wheels
PY_TOOLS_STAMP := $(VENV)/.sojourn-tools.stamp
PY_WHEEL_STAMP := $(VENV)/.sojourn-wheel.stamp
PY_SOURCES := Cargo.toml Cargo.lock core/Cargo.toml bindings/python/Cargo.toml \
	python/pyproject.toml python/README.md python/sojourn/py.typed node/browser/sojourn.js \
	$(shell find core/src bindings/python/src python/sojourn -name '*.rs' -o -name '*.py' -o -name '*.pyi')
PY_CHECK := MYPY_CACHE_DIR=target/mypy-cache $(VENV_BIN)/python -m

DEMOS += python-demo
TESTS += python-test

.PHONY: python-demo python-test python-wheel

$(PY_TOOLS_STAMP): python/requirements-dev.txt
	test -x $(VENV_BIN)/python || $(PYTHON) -m venv $(VENV)
	$(VENV_BIN)/python -m pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt
	touch $@

$(PY_WHEEL_STAMP): $(PY_TOOLS_STAMP) $(PY_SOURCES)
	rm -rf $(PY_WHEELS)
	cd python && ../$(VENV_BIN)/maturin build --release --out ../$(PY_WHEELS)
	$(VENV_BIN)/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps $(PY_WHEELS)/*.whl
	touch $@

python-wheel: $(PY_WHEEL_STAMP)

# pytest runs under scripts/with-redis (a real redis-server and a real
# three-master Redis Cluster); a test that finds no Redis fails.
python-test: $(PY_WHEEL_STAMP)
	scripts/with-redis $(VENV_BIN)/python -m pytest python/tests
	cd target && ../$(VENV_BIN)/python -m mypy.stubtest sojourn._native
	$(PY_CHECK) mypy --strict python/sojourn
	$(PY_CHECK) mypy --strict python/tests/typed_usage.py examples/python/lifecycle.py

python-demo: $(PY_WHEEL_STAMP)
	$(VENV_BIN)/python examples/python/lifecycle.py

.DEFAULT_GOAL := $(PY_DEFAULT_GOAL)
