# Two commands do all the set-up on a fresh machine:
#   make run    venv + install + migrate the embedded SQLite database + sample studies + serve
#   make test   venv + test dependencies + Debian peers (as root) + the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
ROUNDS ?= 5

.PHONY: run test peers install install-test bench clean

# The demo studies are off unless asked for (config/publisher.toml load_samples); make run asks.
run: install
	PUBLISHER_LOAD_SAMPLES=true $(BIN)/publisher serve

test: install-test peers
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

# Real peers the interop tests talk to (DCMTK, dicom3tools, Orthanc, xorriso, Chromium...).
peers:
	@bash .ci/install-peers.sh

# Every benchmark against its peer, interleaved (ROUNDS=N), one table, also written to docs/performance.md.
bench: install-test peers
	$(BIN)/python bench/run.py --rounds $(ROUNDS)

clean:
	rm -rf $(VENV) var .pytest_cache
