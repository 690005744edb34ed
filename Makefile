# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck docs docs-check bench bench-live bench-reach clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[test,lint]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pipewarden scan examples/ --fail-on none
	$(VENV)/bin/pipewarden demo

test: $(STAMP)
	$(VENV)/bin/ruff format --check src tests scripts benchmarks
	$(VENV)/bin/ruff check src tests scripts benchmarks
	$(VENV)/bin/mypy
	$(PY) scripts/gen_docs.py --check
	$(PY) scripts/gen_permissions.py --check
	$(PY) -m pytest -q

docs: $(STAMP)
	$(PY) scripts/gen_docs.py

bench: $(STAMP)
	$(PY) benchmarks/bench_scan.py

bench-live: $(STAMP)
	$(PY) benchmarks/bench_live.py

bench-reach: $(STAMP)
	$(PY) benchmarks/bench_reach.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
