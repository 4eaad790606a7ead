# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck check bench chaos clean docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,docs]'
	touch $(STAMP)

run: $(STAMP)
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
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

docs: $(STAMP)
	$(BIN)/videogen settings --readme docs/settings.md
	$(BIN)/videogen schemas
	$(BIN)/videogen docs
	$(BIN)/mkdocs build --strict
