# Two commands (README): `make demo` sets up and runs the main job; `make test` sets up and runs the tests.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# All state in one folder; the demo uses ./.nrtd unless NRTD_HOME is set.
export NRTD_HOME ?= $(CURDIR)/.nrtd

.PHONY: setup demo test test-slow test-pg bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU torch first, pinned: an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/nrtd setup
	$(BIN)/nrtd demo

test: setup
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

# The fast suite on PostgreSQL (needs `pip install -e '.[pg]'`): each test gets a fresh database on this server
PG_URL ?= postgresql+psycopg://postgres@localhost:5432/
test-pg: setup
	NRTD_TEST_PG='$(PG_URL)' $(BIN)/python -m pytest -q -m "not slow and not browser"

bench: setup
	$(BIN)/python benchmarks/embed.py

clean:
	rm -rf $(VENV) .nrtd
