# Two commands for a newcomer: `make demo` and `make test`.
# Each creates the virtual environment .venv when it is missing (or pyproject.toml changed).
# `make docs` builds the docs site (mkdocs build --strict) into site/.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test docs

demo: $(STAMP)
	$(VENV)/bin/judgecal demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict -d site

# The distribution was called "judgecal" in earlier checkouts; an old editable install of
# that name is removed first (the import name stays judgecal).
$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip uninstall -y -q judgecal >/dev/null 2>&1 || true
	$(VENV)/bin/pip install -e ".[dev]"
	touch $(STAMP)
