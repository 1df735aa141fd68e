# stocksdb: two commands set everything up on a fresh machine: `make demo` and `make test`.
# `make demo` installs the runtime dependencies only; test, lint and bench add the dev extra.
# Each install has its stamp, so neither repeats until pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev
PIP    := $(BIN)/python -m pip install --progress-bar on
SAMPLE ?= sample
export STOCKSDB_HOME ?= $(CURDIR)/.stocksdb

.PHONY: venv dev demo test lint bench bench-scale clean stop

venv: $(RUNTIME_STAMP)

dev: $(DEV_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	@echo "installing stocksdb and its runtime dependencies into $(VENV) (a few minutes the first time)"
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(RUNTIME_STAMP)
	@echo "installing the dev tools (pytest, ruff, mypy, ...) into $(VENV)"
	$(PIP) -e '.[dev]'
	touch $@

demo: venv
	$(BIN)/stocksdb db start
	test -f $(SAMPLE)/manifest.json || $(BIN)/stocksdb sample $(SAMPLE)
	$(BIN)/stocksdb bootstrap --source files --path $(SAMPLE) --start 2023-01-03 --report reports/demo
	$(BIN)/stocksdb db status
	@echo "quality report (open it in a browser):"
	$(BIN)/stocksdb report --out reports/latest

test: dev
	$(BIN)/python -m pytest -q

lint: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src tests bench

bench: dev
	$(BIN)/python bench/run.py

# Five years of the full universe (issue 16); the market is generated once under bench/data/.
bench-scale: dev
	$(BIN)/python bench/bench_scale.py

stop: venv
	$(BIN)/stocksdb db stop

clean:
	-$(BIN)/stocksdb db stop
	rm -rf $(VENV) .stocksdb $(SAMPLE) bench/data reports backups
