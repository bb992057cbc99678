# Two commands for a newcomer: `make demo` and `make test`.
# Each creates the virtual environment .venv when it is missing (or pyproject.toml changed).

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test

demo: $(STAMP)
	$(VENV)/bin/judgecal demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e ".[dev]"
	touch $(STAMP)
