# nnopt: `make lab` opens the course, `make test` checks all of it.
# Both create .venv from requirements.txt on first use; later runs reuse it
# (the stamp file is rebuilt only when requirements.txt or pyproject.toml change).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# JupyterLab refuses to start as root unless told it may.
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: lab test test-notorch test-browser-course test-browser-explorers test-handout html clean-notebooks lint benchmarks crosscheck clean

$(STAMP): requirements.txt pyproject.toml binder/overrides.json binder/jupyter_server_config.json
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "nnopt needs Python 3.11 or newer, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	binder/install_jupyter_settings.sh $(VENV)
	touch $@

# Served from the repository root (so the library's source is one click away), opened on the welcome notebook.
lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks/00_welcome.ipynb

# The tests run numpy on one BLAS thread: the networks here are small, and OpenBLAS's worker
# threads cost more than they save (lesson 09: 12.4 s -> 10.0 s on an idle 2-core machine, and
# 132 s -> 29 s when other processes compete for the cores). Results do not change.
test test-notorch test-browser-course test-browser-explorers: export OPENBLAS_NUM_THREADS := 1

# Lint, library unit tests, repository checks, the PyTorch cross-check matrix and
# every notebook under nbval (plus the browser test where chromium is installed).
test: $(STAMP)
	$(BIN)/ruff check nnopt_lib tests benchmarks tools notebooks
	$(BIN)/python -m nnopt_lib.crosscheck
	$(BIN)/python -m pytest

# Every notebook again in a kernel where `import torch` fails (tools/torch_blocked): the
# from-scratch cells must all run and each PyTorch check must print how to install torch and skip.
NO_TORCH := PYTHONPATH=$(CURDIR)/tools/torch_blocked
test-notorch: $(STAMP)
	$(NO_TORCH) $(BIN)/python -c 'from nnopt_lib import crosscheck; assert crosscheck.import_torch() is None'
	$(NO_TORCH) $(BIN)/python -m pytest notebooks

# Every lesson, one after another, in one JupyterLab session in headless chromium: the server
# and its kernels must stay under 1.5 GB (Binder's limit is 2 GB). Needs chromium; a few minutes.
test-browser-course: $(STAMP)
	NNOPT_BROWSER_COURSE=1 $(BIN)/python -m pytest -s tests/test_browser_course.py

# Every explorer of every lesson in JupyterLab at 1024x768 (a projector) in headless chromium:
# every control moved must change the figure, the smallest text must be at least 9 px on screen,
# and the slider latency is recorded (build/browser/explorers.json). Needs chromium; a few minutes.
test-browser-explorers: $(STAMP)
	NNOPT_BROWSER_EXPLORERS=1 $(BIN)/python -m pytest -s tests/test_browser_explorers.py

crosscheck: $(STAMP)
	$(BIN)/python -m nnopt_lib.crosscheck

# The offline handout: every ready lesson executed into HTML pages, an index in course order,
# MathJax copied beside them, so the pages need no network (tools/handout.py).
html: $(STAMP)
	rm -rf build/html
	OPENBLAS_NUM_THREADS=1 $(BIN)/python tools/notebooks.py html --out build/html

# The handout's pages in headless chromium with the network blocked: no failed request, math
# typeset, every explorer's figure visible, the index complete. Needs chromium.
test-handout: html
	NNOPT_HANDOUT=1 NNOPT_HANDOUT_DIR=build/html $(BIN)/python -m pytest tests/test_handout.py

# Strip outputs, execution counts and stray metadata from every notebook before committing.
clean-notebooks: $(STAMP)
	$(BIN)/python tools/notebooks.py clean notebooks/*.ipynb

lint: $(STAMP)
	$(BIN)/ruff check nnopt_lib tests benchmarks tools notebooks

benchmarks: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build
