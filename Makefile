# The Deep Hashing Workbook. `make workbook` and `make test` install what they need on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
# fast mode: real training on small real data (digits); nothing downloads during tests
TEST_ENV := HASHING_FAST=1 HASHING_OFFLINE=1

.PHONY: install workbook test unit notebooks lab benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e ".[notebooks,test]"
	$(BIN)/python -c "import hashing_utils, torch, torchvision, nbval; print('installed: torch', torch.__version__)"
	touch $(STAMP)

## executes every notebook headless in fast mode into build/workbook/, with build/workbook/RESULTS.md
workbook: $(STAMP)
	HASHING_FAST=1 $(BIN)/python tools/run_workbook.py --out build/workbook $(NOTEBOOKS)

## unit tests and nbval on every notebook (fast mode), in one pytest run
test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider tests \
		--nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=1200 $(NOTEBOOKS)

unit: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider tests

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench_map.py

clean:
	rm -rf build .pytest_cache
