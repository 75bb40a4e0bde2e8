# Entry points of the book. `make book` and `make test` set up everything they need.

PYTHON ?= python3
# A pipeline fails when any of its commands fails (make test's runs pipe pytest into sed).
SHELL := bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Matplotlib's font cache, of this clone's environments only. The default, ~/.cache/matplotlib,
# is shared by every environment of one matplotlib version, and records the paths of the fonts
# inside the environment that wrote it: another clone's removed environment leaves it without
# the fonts mathtext needs, and every plot then warns on stderr, which nbval compares.
export MPLCONFIGDIR := $(CURDIR)/_build/matplotlib
# What the fast tier leaves out: a browser, a book build, the Colab-like run, JupyterLab,
# notebook kernels (nbval's included), and fresh Python processes that import torch.
SLOW := browser or build or colab or lab or kernel or processes or nbval

.PHONY: help env assets book colab-smoke runtimes classroom assignment grade test test-notebooks test-rest test-blas check lab sync notebooks export lib pdf bench lock browser sandbox clean

help:
	@echo "make book       build the HTML book into _build/html (sets up .venv if needed), and its PDF"
	@echo "make test       run every test: units, notebooks (nbval), build, browser"
	@echo "                (two runs side by side: make test-notebooks, the notebooks in every runtime;"
	@echo "                make test-rest, every other test)"
	@echo "make check      the fast tier: unit tests, drift checks and ruff (no browser, no build)"
	@echo "make lab        open JupyterLab on book/: the .md pages open as notebooks"
	@echo "make sync       rewrite each paired .ipynb from its .md, keeping outputs"
	@echo "make notebooks  sync, then re-execute each .ipynb whose code or d2lsave changed"
	@echo "make export     write notebooks/*.ipynb: the executed notebooks in plain Markdown, for launching"
	@echo "make lib        regenerate the d2lsave package from the #@save cells"
	@echo "make pdf        print the built book to _build/pdf/book.pdf (and _build/html/book.pdf)"
	@echo "make bench      weigh and time every page (the explorer's first plot too), then time the readers"
	@echo "                (in all four frameworks), the generators, the disk I/O and the explorer's redraw"
	@echo "make colab-smoke run every notebook in an environment of Colab's published versions"
	@echo "make runtimes   run every notebook on a bare Jupyter and in Binder's environment"
	@echo "make classroom  zip the notebooks for a class: _build/classroom.zip"
	@echo "make assignment release the graded assignment: _build/assignment/{student,teacher}"
	@echo "make grade SUBMISSIONS=dir  grade one folder per student: _build/assignment/grades.csv"
	@echo "make lock       resolve constraints.txt again from requirements.txt (uv pip compile)"

# uv installs the pinned set about three times as fast as pip, from the same indexes and wheel
# folders as pip is set up to use (tools/pip_sources.py), so the same files, torch included.
UV_PIP = $(BIN)/uv pip --quiet
UV_SOURCES = --python $(BIN)/python $$($(BIN)/python -m tools.pip_sources)

$(STAMP): requirements.txt requirements-nodeps.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep -E '^uv==' requirements.txt)"
	$(UV_PIP) install $(UV_SOURCES) -r requirements.txt -c constraints.txt
	$(UV_PIP) install $(UV_SOURCES) --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# MXNet's own environment (requirements-mxnet.txt), its kernel registered in .venv as "mxnet".
PYTHON_MXNET ?= python3.11
MXNET_SOURCES = --python $(MXNET_VENV)/bin/python $$($(BIN)/python -m tools.pip_sources)
MXNET_VENV := .venv-mxnet
MXNET_STAMP := $(MXNET_VENV)/.installed
KERNELS := $(VENV)/share/jupyter/kernels

$(MXNET_STAMP): requirements-mxnet.txt constraints-mxnet.txt requirements-nodeps.txt | $(STAMP)
	test -x $(MXNET_VENV)/bin/python || $(PYTHON_MXNET) -m venv $(MXNET_VENV)
	$(UV_PIP) install $(MXNET_SOURCES) \
	  -r requirements-mxnet.txt -c constraints-mxnet.txt
	$(UV_PIP) install $(MXNET_SOURCES) \
	  --no-deps -r requirements-nodeps.txt
	$(MXNET_VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(MXNET_VENV)/bin/python -m ipykernel install --prefix $(VENV) --name mxnet \
	  --display-name "Python 3 (MXNet)" >/dev/null
	touch $@

# The font caches are built here, not by the first plot in a notebook, where matplotlib's
# "building the font cache" notice would be an output on stderr.
FONT_CACHE := $(MPLCONFIGDIR)/.built
$(FONT_CACHE): $(STAMP) $(MXNET_STAMP)
	@mkdir -p $(@D)
	$(BIN)/python -c "import matplotlib.font_manager"
	$(MXNET_VENV)/bin/python -c "import matplotlib.font_manager"
	@touch $@

env: $(STAMP) $(MXNET_STAMP) $(FONT_CACHE)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

assets: node_modules/.package-lock.json env
	$(BIN)/python -m tools.web_assets

# Every page's download menu links the whole book as a PDF, printed again when a page changed.
# `make book PDF=no` leaves the PDF as it is: for quick rebuilds while writing.
ifeq ($(origin PDF),command line)
ifeq ($(filter $(PDF),yes no),)
$(error PDF=$(PDF): expected yes or no)
endif
else
PDF := yes
endif

# The book executes nothing: each notebook page is rendered from the notebooks `make notebooks`
# executed (book/<page>.tabs.json, tools/frameworks.py), and a page changed since, in its code
# or the d2lsave it imports, stops the build with its name and `make notebooks`.
book: env assets $(if $(filter yes,$(PDF)),browser)
	$(BIN)/python -m tools.frameworks merge
	$(BIN)/jupyter-book build . --warningiserror --keep-going
ifeq ($(PDF),yes)
	$(BIN)/python -m tools.pdf --if-changed
endif
	@echo
	@echo "Open $(CURDIR)/_build/html/index.html in a browser."

browser:
	@test -x $(CHROMIUM) || sh tools/install_debian.sh chromium

# Grading runs each submission in bubblewrap (tools/sandbox.py).
sandbox:
	@command -v bwrap >/dev/null || sh tools/install_debian.sh bubblewrap

# Two pytest runs side by side, one per core. One runs the notebooks where readers run them:
# the Colab-like, bare and Binder environments, which no other test touches, and nbval on the
# chapter's and Going Further's notebooks, each in its own kernel. The other runs every other
# test, then nbval on the other notebooks, which evens the two runs out. Neither writes what
# the other reads (tests work on copies in temporary folders; tests/conftest.py refuses a test
# of the first run that needs the built book). Each line is printed as it comes, prefixed with
# its run's name; both runs go to their end (-k), and `make test` fails if either fails.
# nbval runs on one thread and with other BLAS kernels than those that stored the outputs,
# which must hold all the same.
RUNS_NOTEBOOKS := nbval or colab
NBVAL_FIRST = $(wildcard book/synthetic-regression-data*.ipynb book/going-further*.ipynb)
NBVAL_REST = $(filter-out $(NBVAL_FIRST),$(wildcard book/*.ipynb))
test: env assets browser sandbox
	@$(MAKE) --no-print-directory -k -j2 test-notebooks test-rest

test-notebooks: env browser
	env $(BLAS_OTHER) CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -m "$(RUNS_NOTEBOOKS)" \
	  tests $(NBVAL_FIRST) 2>&1 | sed -u 's/^/[notebooks] /'

test-rest: env assets browser sandbox
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -m "not ($(RUNS_NOTEBOOKS))" 2>&1 \
	  | sed -u 's/^/[rest] /'
	env $(BLAS_OTHER) $(BIN)/python -m pytest $(NBVAL_REST) 2>&1 | sed -u 's/^/[rest, nbval] /'

# The stored outputs hold with other BLAS kernels and thread counts (tests/nbval_sanitize.cfg).
# `make test-blas`: nbval on book/ with OpenBLAS's older Sandybridge kernels (AVX without FMA),
# then on one thread; `make test` runs both changes at once.
BLAS_KERNELS := OPENBLAS_CORETYPE=Sandybridge MKL_ENABLE_INSTRUCTIONS=AVX
BLAS_THREADS := OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_NUM_THREADS=1
BLAS_OTHER := $(BLAS_KERNELS) $(BLAS_THREADS)
test-blas: env
	env $(BLAS_KERNELS) $(BIN)/python -m pytest book -q 2>&1 | sed -u 's/^/[BLAS kernels] /'
	env $(BLAS_THREADS) $(BIN)/python -m pytest book -q 2>&1 | sed -u 's/^/[one thread] /'

# Unit tests, drift checks and ruff (tests/unit/test_derived_files.py). Only tests/ is collected:
# nbval's run of book/*.ipynb executes the notebooks, which is the full tier's job.
check: $(STAMP)
	$(BIN)/python -m pytest tests -m "not ($(SLOW))" -q

# The .md files open as notebooks (lab-settings/overrides.json); saving writes the .md only.
lab: env
	$(BIN)/jupyter lab --notebook-dir=book --LabApp.app_settings_dir=$(CURDIR)/lab-settings \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root)

sync: env
	$(BIN)/python -m tools.notebooks sync

# d2lsave first, which later pages import; then only the notebooks whose inputs (their code,
# kernel, or the d2lsave they import) changed since their last run are executed.
notebooks: lib
	$(BIN)/python -m tools.notebooks execute
	$(BIN)/python -m tools.export_notebooks

# The notebooks readers launch: book/*.ipynb with their MyST made plain Markdown.
export: env
	$(BIN)/python -m tools.export_notebooks

# Only the modules whose code changes are written.
lib: env
	$(BIN)/python -m tools.extract_saved

bench: book browser
	$(BIN)/python -m tools.bench_pages
	$(BIN)/python -m tools.bench_loaders
	$(BIN)/python -m tools.bench_frameworks
	$(BIN)/python -m tools.bench_streams
	$(BIN)/python -m tools.bench_io
	$(BIN)/python -m tools.bench_explorer

colab-smoke: env
	$(BIN)/python -m tools.colab_smoke

runtimes: env
	$(BIN)/python -m tools.bare_runtime

# Chromium prints each built page; pypdf joins them, with one bookmark per page and section.
# `make book` prints it whenever a page changed; this names where it is.
pdf: book
	@echo "The book as one PDF: $(CURDIR)/_build/pdf/book.pdf"

classroom: env
	$(BIN)/python -m tools.classroom

# The graded assignment (book/teaching.md): derive each source's .ipynb (run with its answers,
# only when it changed), then write the student release and the teacher's course folder.
assignment: lib
	$(BIN)/python -m tools.assignment notebooks
	$(BIN)/python -m tools.assignment release

# make grade SUBMISSIONS=folder-of-student-folders [GRADE_OPTIONS="--task batches"]
grade: env sandbox
	@test -n "$(SUBMISSIONS)" || { echo 'usage: make grade SUBMISSIONS=folder [GRADE_OPTIONS=...]'; exit 2; }
	@test -d _build/assignment/teacher || $(MAKE) assignment
	$(BIN)/python -m tools.assignment grade "$(SUBMISSIONS)" $(GRADE_OPTIONS)

# Resolves requirements.txt to every package it needs, for this Python and platform. Pins
# already in constraints.txt are kept unless requirements.txt asks otherwise; to move them all
# to the newest releases that fit: make lock LOCK_OPTIONS=--upgrade
lock: env
	$(UV_PIP) compile --python $(BIN)/python $$($(BIN)/python -m tools.pip_sources --indexes-only) \
	  $(LOCK_OPTIONS) --custom-compile-command "make lock" \
	  requirements.txt -o constraints.txt
	$(UV_PIP) compile --python-version 3.11 $$($(BIN)/python -m tools.pip_sources --indexes-only) \
	  $(LOCK_OPTIONS) --custom-compile-command "make lock" \
	  requirements-mxnet.txt -o constraints-mxnet.txt

clean:
	rm -rf _build
