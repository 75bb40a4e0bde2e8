# Aliases of `python -m tools <command>` (tools/__main__.py), which makes or reuses the
# environments a command needs (tools/env.py) before it runs. `make help` lists them.
PYTHON ?= python3
TOOLS = $(PYTHON) -m tools
BIN = .venv/bin
SHELL := bash
.SHELLFLAGS := -o pipefail -c
export MPLCONFIGDIR := $(CURDIR)/_build/matplotlib
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# nbval checks the stored outputs on one thread and with other BLAS kernels than made them.
NBVAL_ENV = OPENBLAS_CORETYPE=Sandybridge MKL_ENABLE_INSTRUCTIONS=AVX OPENBLAS_NUM_THREADS=1 \
  MKL_NUM_THREADS=1 OMP_NUM_THREADS=1
FAST = not (browser or build or colab or lab or kernel or processes or nbval)
BESIDE = nbval or colab

.PHONY: help book notebooks check test test-notebooks test-rest lab bench pdf assignment grade \
  classroom lock env clean

help:
	@$(TOOLS) --help

book notebooks pdf assignment classroom env:
	$(TOOLS) $@ $(ARGS)

grade:
	$(TOOLS) grade $(SUBMISSIONS) $(ARGS)

# The fast tier: unit tests, the drift check and ruff; no browser, build or kernel.
check:
	$(PYTHON) -m tools.env
	$(BIN)/python -m pytest tests -m "$(FAST)" -q

# Two runs side by side, one per core: the notebooks where readers run them (the runtime
# environments, nbval on the chapter's and Going Further's notebooks), and everything else
# then nbval on the other notebooks. Neither uses what the other writes.
NBVAL_FIRST = $(wildcard book/synthetic-regression-data*.ipynb book/going-further*.ipynb)
NBVAL_REST = $(filter-out $(NBVAL_FIRST),$(wildcard book/*.ipynb))
test:
	$(TOOLS) env
	@$(MAKE) --no-print-directory -k -j2 test-notebooks test-rest

test-notebooks:
	env $(NBVAL_ENV) $(BIN)/python -m pytest -m "$(BESIDE)" tests $(NBVAL_FIRST) 2>&1 \
	  | sed -u 's/^/[notebooks] /'

test-rest:
	$(BIN)/python -m pytest -m "not ($(BESIDE))" tests 2>&1 | sed -u 's/^/[rest] /'
	env $(NBVAL_ENV) $(BIN)/python -m pytest $(NBVAL_REST) 2>&1 | sed -u 's/^/[rest, nbval] /'

# JupyterLab on book/: the .md pages open as notebooks (lab-settings/overrides.json).
lab:
	$(TOOLS) env
	$(BIN)/jupyter lab --notebook-dir=book --LabApp.app_settings_dir=$(CURDIR)/lab-settings \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root)

bench: book
	$(BIN)/python -m tools.bench

# Resolve the constraints again from the requirements (ARGS=--upgrade moves every pin).
lock:
	$(PYTHON) -m tools.env
	for name in "" -mxnet; do $(BIN)/uv pip compile $$($(BIN)/python -m tools.pip_sources \
	  --indexes-only) --python-version 3.11 $(ARGS) --custom-compile-command "make lock" \
	  requirements$$name.txt -o constraints$$name.txt; done

clean:
	rm -rf _build
