# Two commands for readers: `make book` and `make test`. Both create the environment if it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Sphinx warnings are errors: a broken reference or a missing figure fails the build.
BOOKFLAGS ?= -W --keep-going
# pytest-xdist: one worker per core; loadscope keeps each notebook's cells in order on one worker
# (the training chapters run single-threaded, so two notebooks share two cores without slowing down)
PARALLEL ?= -n auto --dist loadscope

.PHONY: env lock test book pdf execute reproduce clean

## env: the exact environment of requirements.lock (torch's CPU or CUDA build: whichever pip finds,
## or the one already in the venv), then symlib itself, editable, without touching the pins
env: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) scripts/lock.py check
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python scripts/lock.py installed
	touch $(STAMP)

## lock: compile requirements.lock from pyproject.toml (pip-tools; keeps current pins where it can)
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip-tools>=7.4"
	$(BIN)/python scripts/lock.py compile

## test: ruff (the rules in pyproject.toml), then pytest over the library's tests and every notebook (strict nbval against stored outputs), and
## the built book in headless Chromium (tests/test_browser.py: run `make book` first; skipped without
## chromium or a built book, except in CI)
test: env
	$(BIN)/ruff check --no-cache .
	$(BIN)/python -m pytest --nbval $(PARALLEL) tests notebooks

## book: build the HTML book into _build/html from the notebooks' stored outputs, then check it
book: env
	$(BIN)/jupyter-book build $(BOOKFLAGS) .
	$(BIN)/python scripts/check_book.py _build/html

## pdf: the whole book as one PDF, _build/pdf/symmetry.pdf (one-page HTML printed by headless Chromium)
pdf: env
	$(BIN)/jupyter-book build $(BOOKFLAGS) --builder singlehtml .
	$(BIN)/python scripts/book_pdf.py _build/singlehtml _build/pdf/symmetry.pdf

## execute: re-run every notebook at ci scale and store its outputs (do this after changing a chapter)
execute: env
	$(BIN)/python scripts/execute_notebooks.py notebooks/*.ipynb

## reproduce: re-run published experiments at the papers' settings on this CPU (both cores), resumable;
## writes results/*.json, which the book's Reproductions page renders (scripts/reproduce.py)
reproduce: env
	$(BIN)/python scripts/reproduce.py all

clean:
	rm -rf _build .pytest_cache .hypothesis
