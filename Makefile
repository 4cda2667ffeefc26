# Quick start: `make run` (main job on bundled data) and `make test` (whole test suite).
# Both create .venv in the repository root and install the pinned dependencies first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installerad
FRONTEND := src/utanforskap/web/frontend

SPARK := $(VENV)/.spark

.PHONY: run test bench clean systempaket

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

test: $(STAMP) $(SPARK) systempaket
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) resultat
