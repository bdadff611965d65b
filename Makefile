# Paved Road: `make run` serves the API, `make test` runs the suite. Both set everything up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-unit test-integration test-e2e test-browser lint fmt check schema conformance \
        bench bench-isolation bench-events bench-webhooks bench-tokens vendor screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/paved serve

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

# One level of the suite: unit needs no PostgreSQL and takes seconds; the others start one.
test-unit: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q tests/integration

test-e2e: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q tests/e2e

# Pages in a real browser: Debian's Chromium (apt-get install -y chromium), driven by
# Playwright; `make test` runs them too when Chromium is there. Screenshots: build/screenshots/.
test-browser: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q tests/browser

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint test

# Rewrite the committed SDL from the code (the schema test fails until you do).
schema: $(VENV)/.installed-dev
	$(BIN)/paved schema > schema/schema.graphql

# The graphql-http audit suite against a live server on an embedded database.
conformance: $(VENV)/.installed-dev
	bash tools/conformance/run.sh

# Paved Road vs PostGraphile 5 on one seeded PostgreSQL (bench/README.md); needs npm for the
# peer (bench/peer, installed with npm ci on first use). Options: make bench BENCH_ARGS='--repeat 1'
BENCH_ARGS ?=
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Does one actor's flood slow another actor's lookups? Writes bench/ISOLATION.md.
bench-isolation: $(VENV)/.installed-dev
	$(BIN)/python -m bench.isolation $(BENCH_ARGS)

# Events: fan-out to 10, 100 and 1,000 SSE subscribers, and across two processes. Writes the
# "Events fan-out" section of bench/RESULTS.md.
bench-events: $(VENV)/.installed-dev
	$(BIN)/python -m bench.fanout $(BENCH_ARGS)

# Webhook deliveries per second and recovery after a 30 s receiver outage: bench/RESULTS.md.
bench-webhooks: $(VENV)/.installed-dev
	$(BIN)/python -m bench.webhooks $(BENCH_ARGS)

# The catalog reads with and without a bearer API token, and PostGraphile anonymous: the
# "API tokens" section of bench/RESULTS.md.
bench-tokens: $(VENV)/.installed-dev
	$(BIN)/python -m bench.tokens $(BENCH_ARGS)

# Third-party browser files (vendor.json): fetch them from the npm registry with npm, check them
# against their pins, rewrite them and VENDORED.md. After changing a version in vendor.json:
# make vendor VENDOR_ARGS=--update
VENDOR_ARGS ?=
vendor: $(VENV)/.installed-dev
	$(BIN)/python tools/vendor.py $(VENDOR_ARGS)

# The README's pictures of the portal (docs/screenshots/), taken in Chromium on the demo data.
screenshots: $(VENV)/.installed-dev
	PAVED_README_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser/test_portal_pages.py -k readme

clean:
	rm -rf $(VENV) .paved .mypy_cache .ruff_cache .pytest_cache
