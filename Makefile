# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck check bench chaos clean docs site types

$(STAMP): pyproject.toml clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,docs]'
	$(BIN)/pip install --quiet -e clients/python
	touch $(STAMP)

run: $(STAMP)
	test -f site/index.html || $(MAKE) --no-print-directory site  # the guide at /guide, built once
	$(BIN)/videogen up

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.render

chaos: $(STAMP)
	$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/e2e/test_chaos.py
	$(BIN)/python -m bench.chaos --jobs 10 --kills 3 --seconds 8 --size 640x360

clean:
	rm -rf var site docs/reference .pytest_cache .mypy_cache .ruff_cache

docs: $(STAMP)
	$(BIN)/videogen settings --readme docs/settings.md
	$(BIN)/videogen schemas
	$(BIN)/videogen openapi
	$(BIN)/videogen client-models
	$(MAKE) --no-print-directory site

# The documentation site: generated reference pages (pictures rendered by the engine), then MkDocs.
site: $(STAMP)
	$(BIN)/videogen docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# TypeScript types for the studio and Node users, from the OpenAPI document (Node is needed here only).
types: $(STAMP)
	$(BIN)/videogen openapi
	cd clients/typescript && npm ci --no-audit --no-fund && npm run --silent generate
