# `make demo` and `make test` do all the set-up on a fresh machine: they create .venv if it
# is absent and install offlabel with its test extras into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.offlabel-installed

.PHONY: install test lint demo docs clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# The whole suite: unit tests, golden tests and the backend suite on DuckDB and, when a
# server is reachable (OFFLABEL_TEST_POSTGRES, default postgresql://postgres@127.0.0.1:5432/postgres),
# on PostgreSQL. Without one, the PostgreSQL tests are skipped and the summary says so.
test: $(STAMP)
	$(PY) -m pytest

# Pyflakes-level checks (F: undefined names, unused imports; E9: syntax errors).
lint: $(STAMP)
	$(VENV)/bin/ruff check --isolated --select F,E9 src tests benchmarks

demo: $(STAMP)
	$(VENV)/bin/offlabel demo

docs: $(STAMP)
	$(PY) -m offlabel.spec.docs > docs/study-file.md

clean:
	rm -rf $(VENV) .pytest_cache
