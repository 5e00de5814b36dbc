# The two commands of the README: `make` sets everything up and renders the default
# report; `make test` runs the test suite (and is what .ci/run runs).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DATA   ?= data/register.csv
OUT    ?= _output

.PHONY: all setup report test lint format data benchmark

all: report

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

report: setup
	$(BIN)/rehabstats render $(DATA) --lang sv en --format html pdf --out $(OUT)
	@echo "Open $(OUT)/sv/report.html or $(OUT)/sv/report.pdf (English: $(OUT)/en/)."

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerate the shipped synthetic dataset and its dictionary page, bit for bit.
data: setup
	$(BIN)/rehabstats synth --seed 0 --n 4188 --scenario default --out data/register.csv
	$(BIN)/rehabstats dictionary --out data/dictionary.md

# The benchmarks of benchmarks/README.md at their full sizes (about half an hour and up to
# 8 GiB at 3 M rows); each prints its figures. Smaller: e.g. SIZES="10000 100000".
SIZES ?= 10000 100000 1000000 3000000
benchmark: setup
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_statistics.py --sizes $(SIZES)
	$(BIN)/python benchmarks/bench_cox.py
