# recnet — the targets a newcomer guesses. Everything runs inside .venv, made on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run serve install lock lock-upgrade test test-fast lint format openapi migrate bench clean

# The sample network (`recnet demo` migrates the embedded database first and prints the demo
# clients' credentials as `export` lines for the README's walkthroughs), then the server.
run: $(STAMP)
	$(BIN)/recnet demo
	$(BIN)/recnet serve

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "recnet needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Exactly the versions in the lock file (as CI and the image install them), then recnet itself.
# pip check fails when pyproject.toml asks for something the lock does not hold: run `make lock`.
$(STAMP): pyproject.toml requirements-test.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-test.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -m pip check || (echo "the lock files are stale: run 'make lock'" >&2; exit 1)
	@touch $(STAMP)

install: $(STAMP)

# The lock files: requirements.lock (what the service runs on: the image) and
# requirements-test.lock (with the test extra: development and CI). `make lock` keeps every pin it
# can and adds what pyproject.toml newly asks for; `make lock-upgrade` moves all to the newest.
LOCK_FLAGS := --quiet --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host

lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c requirements-test.lock pip-tools
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile $(LOCK_FLAGS) $(UPGRADE) --output-file requirements.lock pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile $(LOCK_FLAGS) $(UPGRADE) --extra test --output-file requirements-test.lock pyproject.toml

lock-upgrade:
	$(MAKE) lock UPGRADE=--upgrade

serve: $(STAMP)
	$(BIN)/recnet migrate
	$(BIN)/recnet demo
	$(BIN)/recnet serve

# Both run on every core (pytest-xdist); a worker that runs out of tests takes some from another's
# queue (worksteal), so the long e2e tests do not leave a core idle at the end.
# `pytest tests/unit/test_config.py` alone runs in one process.
test: $(STAMP)
	$(BIN)/pytest -n auto --dist worksteal

# The quick run while working: SQLite only, without the tests marked slow. `make test` before a push.
test-fast: $(STAMP)
	env -u RECNET_TEST_DATABASE_URL $(BIN)/pytest -n auto --dist worksteal -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests migrations bench examples
	$(BIN)/ruff format --check src tests migrations bench examples
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests migrations bench examples
	$(BIN)/ruff check --fix src tests migrations bench examples

openapi: $(STAMP)
	$(BIN)/recnet openapi --write

migrate: $(STAMP)
	$(BIN)/recnet migrate

# Benchmarks need PostgreSQL at 127.0.0.1:5432, wrk and sqlite3 (installed here from Debian if
# missing); bench/suite.py installs Datasette into its own venv under bench/out/.
bench: $(STAMP)
	@command -v wrk >/dev/null && command -v sqlite3 >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq wrk sqlite3)
	$(BIN)/python bench/pools.py
	$(BIN)/python bench/statistics.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/suite.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache recnet.db recnet.db-wal recnet.db-shm
