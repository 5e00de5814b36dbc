# The two commands of the README: `make` sets everything up and renders the default
# report; `make test` runs the test suite (and is what .ci/run runs).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DATA   ?= data/register.csv
OUT    ?= _output

.PHONY: all setup lock report test test-tools lint format data benchmark benchmark-tools

all: report

setup: $(VENV)/.installed

# Exactly the locked set (uv.lock), installed by the uv version the lock itself pins,
# compiled to bytecode as it is installed: where Python may not write bytecode
# (PYTHONDONTWRITEBYTECODE, a read-only environment) every process would otherwise compile
# pandas, scipy and lifelines again as it imports them, about 3 s per process.
UV_VERSION = 0.13.9
$(VENV)/.installed: pyproject.toml uv.lock
	@test -r uv.lock || { echo "uv.lock is missing or unreadable: restore it from git (git checkout uv.lock) or run 'make lock'" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv sync --quiet --locked --compile-bytecode --extra dev --python $(BIN)/python
	touch $@

# After changing a dependency in pyproject.toml: the lock, the hashed requirements for
# pip users and environment.yml, all from one resolution. Then `make test` and commit.
lock:
	$(BIN)/uv lock --upgrade
	$(BIN)/uv export --quiet --locked --extra dev --no-emit-project --format requirements-txt --output-file requirements.txt
	$(BIN)/python tools/environment_yml.py > environment.yml

report: setup
	$(BIN)/rehabstats render $(DATA) --lang sv en --format html pdf --out $(OUT)
	@echo "Open $(OUT)/sv/report.html or $(OUT)/sv/report.pdf (English: $(OUT)/en/)."

test: setup test-tools
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n auto --dist loadscope

# What the tests run besides Python: R with its survival package (tests/test_against_r.py),
# Debian's chromium, Node.js with npm
# (apt, as root, or through sudo) and axe-core with puppeteer-core, exactly as
# tests/a11y/package-lock.json pins them (npm ci, again whenever the lock changes).
# Only what is missing is installed: a machine whose Node.js comes from elsewhere (such
# as NodeSource's nodejs, which carries npm and conflicts with Debian's npm) keeps it.
# `make` alone (the report) needs none of them.
A11Y = tests/a11y
test-tools:
	@MISSING=; \
	command -v chromium >/dev/null || MISSING="$$MISSING chromium"; \
	command -v node >/dev/null || MISSING="$$MISSING nodejs"; \
	command -v npm >/dev/null || MISSING="$$MISSING npm"; \
	test -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || MISSING="$$MISSING fonts-dejavu-core"; \
	command -v Rscript >/dev/null || MISSING="$$MISSING r-base-core"; \
	Rscript -e 'library(survival)' >/dev/null 2>&1 || MISSING="$$MISSING r-cran-survival"; \
	if [ -n "$$MISSING" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; \
	  elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "make test needs the Debian packages$$MISSING: install them as root (apt-get install$$MISSING) or run make test as root" >&2; exit 2; fi; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $$MISSING; \
	fi
	@$(MAKE) --no-print-directory $(A11Y)/node_modules/.installed

$(A11Y)/node_modules/.installed: $(A11Y)/package-lock.json $(A11Y)/package.json
	npm ci --no-audit --no-fund --prefix $(A11Y)
	touch $@

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

# The R Markdown peer of benchmarks/bench_peer.py (R Markdown, knitr, survminer and what
# they need: about 200 Debian packages, so not among test-tools); as root or through sudo.
benchmark-tools:
	@MISSING=; \
	for p in survival rmarkdown knitr survminer; do \
	  Rscript -e "library($$p)" >/dev/null 2>&1 || MISSING="$$MISSING r-cran-$$p"; \
	done; \
	if [ -n "$$MISSING" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends r-base-core $$MISSING; \
	fi
