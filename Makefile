# polyad: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist spreads the suite over the machine's cores.
JOBS ?= auto

.PHONY: install demo test test-all fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	POLYAD=$(BIN)/polyad examples/demo.sh

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) -m ''

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis bench/out
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
