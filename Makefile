# Entry points of the book. `make book` and `make test` set up everything they need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help env assets book colab-smoke classroom test lab sync notebooks lib bench lock browser clean

help:
	@echo "make book       build the HTML book into _build/html (sets up .venv if needed)"
	@echo "make test       run every test: units, notebooks (nbval), build, browser"
	@echo "make lab        open JupyterLab on book/ with the .venv kernel"
	@echo "make sync       rewrite each paired .ipynb from its .md, keeping outputs"
	@echo "make notebooks  sync, then re-execute each .ipynb to refresh its stored outputs"
	@echo "make lib        regenerate the d2lsave package from the #@save cells"
	@echo "make bench      time the minibatch readers, and the explorer's redraw in Chromium"
	@echo "make colab-smoke run every notebook in a fresh Colab-like environment"
	@echo "make classroom  zip the notebooks for a class: _build/classroom.zip"
	@echo "make lock       rewrite constraints.txt from the installed environment"

$(STAMP): requirements.txt requirements-nodeps.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --no-deps --no-build-isolation -e .
	touch $@

env: $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

assets: node_modules/.package-lock.json env
	$(BIN)/python -m tools.web_assets

book: env assets
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo
	@echo "Open $(CURDIR)/_build/html/index.html in a browser."

browser:
	@test -x $(CHROMIUM) || sh tools/install_chromium.sh

test: env assets browser
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

lab: env
	$(BIN)/jupyter lab --notebook-dir=book $$([ "$$(id -u)" = 0 ] && echo --allow-root)

sync: env
	$(BIN)/python -m tools.notebooks sync

notebooks: env
	$(BIN)/python -m tools.notebooks execute

lib: env
	$(BIN)/python -m tools.extract_saved

bench: book browser
	$(BIN)/python -m tools.bench_loaders
	$(BIN)/python -m tools.bench_explorer

colab-smoke: env
	$(BIN)/python -m tools.colab_smoke

classroom: env
	$(BIN)/python -m tools.classroom

lock: env
	{ echo "# Every package of the environment, as resolved from requirements.txt. Regenerate with: make lock"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -vE "^(pip|setuptools|wheel|d2l)=="; } > constraints.txt

clean:
	rm -rf _build
