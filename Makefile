# The Deep Hashing Workbook. `make workbook` and `make test` install what they need on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
# fast mode: real training on small real data (digits); nothing downloads during tests
TEST_ENV := HASHING_FAST=1 HASHING_OFFLINE=1

.PHONY: install workbook workbook-full test unit notebooks lab lab-fast benchmark clean data student grade book browser-test
# ipywidgets 7.7.1 (Colab's) beside the venv: `make test` runs the widget tests and two widget notebooks with it
# (tests/test_ipywidgets7.py); pure Python, put first on PYTHONPATH, everything else from the venv
IPYW7  := $(VENV)/ipywidgets7

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e ".[notebooks,test,cluster,book,grading]"
	$(BIN)/python -m pip install --quiet --upgrade --no-deps --target $(IPYW7) ipywidgets==7.7.1 ipython_genutils==0.2.0
	$(BIN)/python -c "import hashing_utils, torch, torchvision, nbval, distributed, sphinx, selenium, nbgrader; print('installed: torch', torch.__version__)"
	touch $(STAMP)

## executes every notebook headless in fast mode into build/workbook/, with build/workbook/RESULTS.md
workbook: $(STAMP)
	HASHING_FAST=1 $(BIN)/python tools/run_workbook.py --out build/workbook $(NOTEBOOKS)

## executes every notebook in full mode (the reader's run; Fashion-MNIST and Wikipedia from data/ or
## $$HASHING_DATA_DIR) into build/workbook-full/, with each one's time in RESULTS.md and times.json
workbook-full: $(STAMP)
	HASHING_FAST=0 $(BIN)/python tools/run_workbook.py --out build/workbook-full $(NOTEBOOKS)

## unit tests and nbval on every notebook (fast mode), in one pytest run
test: $(STAMP)
	$(TEST_ENV) IPYWIDGETS7=$(IPYW7) $(BIN)/python -m pytest -q -p no:cacheprovider tests \
		--nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=1200 $(NOTEBOOKS)

unit: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider tests

## full-mode data into data/: Wikipedia features from the SVCL release (SHA-256 verified), Fashion-MNIST via torchvision
data: $(STAMP)
	$(BIN)/python -m hashing_utils download all

## the student handout in build/student/: every notebook without its solutions and hidden tests (the same cells as
## nbgrader's generate_assignment), NOTATION.md, the module's wheel and a README for students
student: $(STAMP)
	$(BIN)/python tools/make_student.py --out build/student $(NOTEBOOKS)

## autograde students' notebooks with nbgrader, in fast mode: SUBMISSIONS=folder holds one folder per student id with
## that student's notebooks; writes build/grading/grades.csv and grades-by-notebook.csv (COURSE.md says the rest)
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder (one sub-folder per student)" >&2; exit 2; }
	$(TEST_ENV) $(BIN)/python tools/grade.py --submissions "$(SUBMISSIONS)" --out build/grading $(NOTEBOOKS)

## the static site in build/book/html/ (Sphinx + myst-nb) from the committed executed notebooks; nothing re-runs
book: $(STAMP)
	$(BIN)/python tools/build_book.py --out build/book

## the browser tests alone (also part of `make test`): the site in headless chromium, the widgets in JupyterLab;
## needs `apt-get install -y chromium chromium-driver` (.ci/run installs them)
browser-test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider -s tests/browser

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

## JupyterLab in fast mode (small bundled data, short training, nothing downloads): what `make test` runs, interactively
lab-fast: $(STAMP)
	HASHING_FAST=1 HASHING_OFFLINE=1 $(BIN)/jupyter lab notebooks/

benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench_map.py

clean:
	rm -rf build .pytest_cache

## notebook 09's comparison on Fashion-MNIST (the table in docs/benchmark.md): every method x 16/32/64 bits x 3 seeds,
## cached in build/cache (so notebook 09 in full mode then reads it back); about 40 min on a 2-core CPU
.PHONY: benchmark-full
benchmark-full: $(STAMP)
	$(BIN)/python benchmarks/run_benchmark.py --dataset fashion-mnist --bits 16 32 64 --seeds 0 1 2 \
		--methods all --epochs 4 --device auto --out benchmarks/results/fashion-mnist.csv

## the CIFAR-10 protocol table in frozen-feature mode (benchmarks/run_protocol.py): needs CIFAR-10 under data/ or
## $$HASHING_DATA_DIR and ImageNet weights in torch's cache; PROTOCOL=cifar10|cifar10-1|cifar10-2, BACKBONE=resnet50|...
## Where CIFAR-10 is absent: make benchmark-protocol DATASET=fashion-mnist BACKBONE=pixels (a stand-in; it says so)
PROTOCOL ?= cifar10
BACKBONE ?= resnet50
DATASET  ?= cifar10
.PHONY: benchmark-protocol
benchmark-protocol: $(STAMP)
	$(BIN)/python benchmarks/run_protocol.py --dataset $(DATASET) --protocol $(PROTOCOL) --backbone $(BACKBONE) \
		--mode frozen --bits 16 32 64 --seeds 0 1 2
