# stocksdb: two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLE ?= sample
export STOCKSDB_HOME ?= $(CURDIR)/.stocksdb

.PHONY: venv demo test lint bench bench-scale clean stop

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: venv
	$(BIN)/stocksdb db start
	test -f $(SAMPLE)/manifest.json || $(BIN)/stocksdb sample $(SAMPLE)
	$(BIN)/stocksdb bootstrap --source files --path $(SAMPLE) --start 2023-01-03 --report reports/demo
	$(BIN)/stocksdb db status
	@echo "quality report (open it in a browser):"
	$(BIN)/stocksdb report --out reports/latest

test: venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src tests bench

bench: venv
	$(BIN)/python bench/run.py

# Five years of the full universe (issue 16); the market is generated once under bench/data/.
bench-scale: venv
	$(BIN)/python bench/bench_scale.py

stop: venv
	$(BIN)/stocksdb db stop

clean:
	-$(BIN)/stocksdb db stop
	rm -rf $(VENV) .stocksdb $(SAMPLE) bench/data reports backups
