# JustIRC: `make run` starts a local server, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
RSTAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(RSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(RSTAMP)

run: $(RSTAMP)
	$(VENV)/bin/justirc-server --host 127.0.0.1 --port 6667 --data-dir ./data

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest -q

test: lint typecheck pytest

BSTAMP := $(VENV)/.installed-bench

$(BSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $@ $(STAMP) $(RSTAMP)

bench: $(BSTAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache
