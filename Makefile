# The two ways in: `make demo` runs shopkeep on its embedded defaults; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Touched after a successful install: pip runs again only when pyproject.toml changes.
INSTALLED := $(VENV)/.installed

.PHONY: demo serve test install bench clean system-deps sample-invoice

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

system-deps:
	@scripts/system-deps.sh

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: system-deps $(INSTALLED)

demo: install
	$(BIN)/shopkeep serve --demo

serve: install
	$(BIN)/shopkeep serve

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: install
	for b in email invoices discord slack licenses; do $(BIN)/python -m bench.bench_$$b || exit 1; done

# docs/sample-invoice.pdf, from the demo store.
sample-invoice: install
	$(BIN)/python -m scripts.sample_invoice docs/sample-invoice.pdf

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
