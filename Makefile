# recnet — the targets a newcomer guesses. Everything runs inside .venv, made on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run serve install test test-fast lint format openapi migrate bench clean

run: serve

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "recnet needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/recnet migrate
	$(BIN)/recnet demo
	$(BIN)/recnet serve

# Both run on every core (pytest-xdist); `pytest tests/unit/test_config.py` alone runs in one process.
test: $(STAMP)
	$(BIN)/pytest -n auto

# The quick run while working: SQLite only, without the tests marked slow. `make test` before a push.
test-fast: $(STAMP)
	env -u RECNET_TEST_DATABASE_URL $(BIN)/pytest -n auto -m "not slow"

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
