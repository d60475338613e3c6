# eegmon: `make demo` runs it, `make test` proves it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test soak reliability-doc lint format bench chromium clean

# The venv is (re)built when missing or older than pyproject.toml.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/eegmon demo

# Browser tests drive Debian's chromium; install it when we can.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "browser tests need chromium: sudo apt-get install -y chromium"; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python .ci/limits.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Two workers: most tests wait on real streams in real time, so they overlap well on two cores;
# a file's tests stay together and in order (some share one monitor for the file).
test: $(STAMP) chromium lint
	LSLAPICFG=$(CURDIR)/tests/lsl_api.cfg $(BIN)/pytest -n 2 --dist loadfile

# The long versions of the reliability suites (an accelerated hour on eight beds, 20 kills...),
# then docs/reliability.md from their figures and those of the last `make test`.
soak: $(STAMP)
	EEGMON_SOAK=1 LSLAPICFG=$(CURDIR)/tests/lsl_api.cfg $(BIN)/pytest tests/reliability --timeout=1800
	$(BIN)/python -m tests.reliability.report

reliability-doc: $(STAMP)
	$(BIN)/python -m tests.reliability.report

bench: $(STAMP)
	LSLAPICFG=$(CURDIR)/tests/lsl_api.cfg $(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
