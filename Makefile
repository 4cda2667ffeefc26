# Quick start: `make run` (main job on bundled data) and `make test` (whole test suite).
# Both create .venv in the repository root and install the pinned dependencies first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installerad
FRONTEND := src/utanforskap/web/frontend

SPARK := $(VENV)/.spark

.PHONY: run test test-snabb lint bench clean systempaket

$(STAMP): pyproject.toml requirements.lock $(FRONTEND)/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	cd $(FRONTEND) && npm ci --no-audit --no-fund && npm run bygg
	touch $(STAMP)

# The optional Spark engine, for the Spark test (tests/test_microdata_spark.py).
$(SPARK): requirements-spark.lock $(STAMP)
	$(BIN)/pip install -q -r requirements-spark.lock
	touch $(SPARK)

# Chromium, fonts and Java from Debian, when missing (scripts/systempaket.sh).
systempaket:
	scripts/systempaket.sh

run: $(STAMP)
	$(BIN)/utanforskap karta

# ruff and mypy (docs/arkitektur.md); part of `make test`, so CI runs them too.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: $(STAMP) $(SPARK) systempaket lint
	$(BIN)/python -m pytest

# The inner loop: everything but the tests marked slow or browser.
test-snabb: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser"

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) resultat
