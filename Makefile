# voucher-ledger: `make run` serves the product on SQLite, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench install clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The demo: migrate the SQLite default under ./var, build the demo year (re-runnable), serve.
run: install
	$(VENV)/bin/voucher-ledger db upgrade
	$(VENV)/bin/voucher-ledger demo --base-url http://$(HOST):$(PORT)
	$(VENV)/bin/voucher-ledger serve --host $(HOST) --port $(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/ledger_bench.py
	$(PY) bench/rules_bench.py
	$(PY) bench/api_bench.py
	$(PY) bench/report_bench.py
	$(PY) bench/console_bench.py
	$(PY) bench/pg_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
