# Set-up and the two everyday commands: `make demo` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: install install-test browser demo test lint bench clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# The export-compatibility tests load our files with TRL and HF datasets, which need torch; the
# Ray executor's tests start a real local Ray cluster (the `ray` extra).
# torch is pinned to 2.13.0 first: that version resolves to a local CPU build here, and an
# unpinned torch would pull several GB of CUDA packages.
$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev,compat,ray]"
	touch $@

# The page tests (QC report, review page) drive Debian's headless Chromium with Selenium: the
# browsers that Selenium or Playwright download are not reachable here. Installed with apt-get
# when missing (as root, like CI; sudo otherwise), with a CJK font so screenshots show Chinese.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    chromium chromium-driver fonts-wqy-zenhei; }

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test browser

demo: install
	$(BIN)/dialogforge styles
	$(BIN)/dialogforge generate --style gentle -n 20 --format sharegpt -o out/gentle.jsonl --report out/gentle-report

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install-test lint
	$(PY) -m pytest

bench: install
	$(PY) -m benchmarks.pipeline_overhead --concurrency 32 --n 320 --latency 1.0
	$(PY) -m benchmarks.pipeline_overhead --concurrency 32 --n 320 --latency 1.0 --embedder hashed
	$(PY) -m benchmarks.pipeline_overhead --concurrency 8 --n 160 --latency 1.0
	$(PY) -m benchmarks.embedder_speed
	$(PY) -m benchmarks.embedded_vs_seed000 --style gentle --n 30
	$(PY) -m benchmarks.dataset_import --rows 100000 --rows 1000000 --rounds 3

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
