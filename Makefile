# The virtual environment is rebuilt whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install bench bench-quick bench-client-auth bench-dpop soak timing burst clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

# The console's browser tests drive Debian's Chromium (tests/admin/browser.py);
# Playwright's own browser downloads are never used.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[test]'
	[ -x /usr/bin/chromium ] || { apt-get update -qq && apt-get install -y -qq chromium; }
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/tokensmith demo
	$(BIN)/tokensmith serve

# Types and lint first: a few seconds, and a failure there is a failure of `make test`.
test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The benchmark makes its own environment in .bench/ (peers, wrk, py-spy, granian):
# none of that is a tokensmith dependency. See bench/README.md.
bench: $(VENV)/.installed
	$(PYTHON) bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/burst.py
	$(BIN)/python bench/client_auth.py
	$(BIN)/python bench/dpop.py

# private_key_jwt beside client_secret_basic (needs wrk: `make bench` installs it).
bench-client-auth: $(VENV)/.installed
	$(BIN)/python bench/client_auth.py $(CLIENT_AUTH_ARGS)

# DPoP issuance and verification beside bearer (needs wrk: `make bench` installs it).
bench-dpop: $(VENV)/.installed
	$(BIN)/python bench/dpop.py $(DPOP_ARGS)

# Guesses released together: how many the brute-force guard lets through unchecked.
burst: $(VENV)/.installed
	$(BIN)/python bench/burst.py $(BURST_ARGS)

bench-quick:
	$(PYTHON) bench/run.py --quick $(BENCH_ARGS)

# About 70% of peak for 10 minutes; writes the Soak section of docs/benchmarks.md.
soak: $(VENV)/.installed
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

# Unknown client ids vs wrong secrets: indistinguishable by response time?
timing: $(VENV)/.installed
	$(BIN)/python bench/timing.py $(TIMING_ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
