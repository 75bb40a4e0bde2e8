# Aliases of `python -m tools <command>` (tools/__main__.py), which makes or reuses the
# environments a command needs (tools/env.py) first, `make help` lists them; and the test runs.
PYTHON ?= python3
TOOLS = $(PYTHON) -m tools
PY = .venv/bin/python
SHELL := bash
.SHELLFLAGS := -o pipefail -c
export MPLCONFIGDIR := $(CURDIR)/_build/matplotlib
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Python's default, whatever the machine says: a module imported once is kept compiled (torch
# and d2l import in 4 s so, 11 s from source, and make test starts Python hundreds of times).
unexport PYTHONDONTWRITEBYTECODE
# nbval checks the stored outputs on one thread, with other BLAS kernels than made them.
NBVAL_ENV = OPENBLAS_CORETYPE=Sandybridge MKL_ENABLE_INSTRUCTIONS=AVX OPENBLAS_NUM_THREADS=1 \
  MKL_NUM_THREADS=1 OMP_NUM_THREADS=1
BESIDE = nbval or colab
.PHONY: help book notebooks pdf assignment classroom lab env grade check test test-notebooks \
  test-rest bench lock clean

help:
	@$(TOOLS) --help

book notebooks pdf assignment classroom lab lock bench env:
	$(TOOLS) $@ $(ARGS)

grade:
	$(TOOLS) grade $(SUBMISSIONS) $(ARGS)

# The fast tier, after every change: unit tests, the drift check and ruff.
check:
	$(PYTHON) -m tools.env
	$(PY) -m pytest tests/unit -q

# Two runs side by side, one per core: the notebooks where readers run them (the runtime
# environments; nbval on the chapter's and Going Further's notebooks), and everything else,
# then nbval on the other notebooks. Neither uses what the other writes.
NBVAL_FIRST = $(wildcard book/synthetic-regression-data*.ipynb book/going-further*.ipynb)
test: env
	@$(MAKE) --no-print-directory -k -j2 test-notebooks test-rest
test-notebooks:
	env $(NBVAL_ENV) $(PY) -m pytest -m "$(BESIDE)" tests $(NBVAL_FIRST) | sed -u 's/^/[nb] /'
test-rest:
	$(PY) -m pytest -m "not ($(BESIDE))" tests | sed -u 's/^/[rest] /'
	env $(NBVAL_ENV) $(PY) -m pytest $(filter-out $(NBVAL_FIRST),$(wildcard book/*.ipynb)) \
	  | sed -u 's/^/[rest, nbval] /'

clean:
	rm -rf _build
