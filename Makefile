# Paved Road: `make run` serves the API, `make test` runs the suite. Both set everything up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test test-unit test-integration test-e2e test-browser lint fmt check schema parity conformance fuzz \
        bench bench-isolation bench-events bench-webhooks bench-import bench-tokens bench-writes bench-audit vendor screenshots clean

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

# deploy/kubernetes: every overlay rendered with `kubectl kustomize`, each object validated
# against the Kubernetes API's schemas, the security properties asserted
# (tests/unit/test_kubernetes_manifests.py; `make test` runs it too, skipped without kubectl).
# kubectl, when missing, from Debian's kubernetes-client; here a kubectl that cannot render
# the overlays (older than 1.21) fails the check instead of skipping it.
.PHONY: k8s-check
k8s-check: $(VENV)/.installed-dev
	@command -v kubectl >/dev/null 2>&1 || { \
	  echo "== installing kubectl (Debian's kubernetes-client) to render the manifests"; \
	  apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    kubernetes-client >/dev/null; }
	PAVED_K8S_CHECK=required $(BIN)/python -m pytest -q tests/unit/test_kubernetes_manifests.py

# Rewrite the committed SDL from the code (the schema test fails until you do).
schema: $(VENV)/.installed-dev
	$(BIN)/paved schema > schema/schema.graphql

# The README's table of which face (GraphiQL, CLI, portal, MCP) offers each mutation.
parity: $(VENV)/.installed-dev
	$(BIN)/python -m tools.parity --write

# The graphql-http audit suite against a live server on an embedded database.
conformance: $(VENV)/.installed-dev
	bash tools/conformance/run.sh

# Schemathesis over the whole GraphQL schema of a live server (positive and negative cases),
# with a read-only token and as the anonymous local admin: no 5xx, no INTERNAL, every answer
# fits the schema (tools/fuzz). More: make fuzz FUZZ_SEED=7 FUZZ_EXAMPLES=40
fuzz: $(VENV)/.installed-dev
	bash tools/fuzz/run.sh

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

# importCatalog of 5,000 components + 500 groups + 2,000 users: first import, again unchanged,
# a dry run, an edit, an export (bench/IMPORT.md).
bench-import: $(VENV)/.installed-dev
	$(BIN)/python -m bench.import_catalog $(BENCH_ARGS)

# The audit chain: 1,000,000 records written set-based, sealed, then `paved audit verify` over
# them (the "Audit chain" section of bench/RESULTS.md). Options: BENCH_ARGS='--records 100000'
bench-audit: $(VENV)/.installed-dev
	$(BIN)/python -m bench.audit_verify $(BENCH_ARGS)

# The catalog reads with and without a bearer API token, and PostGraphile anonymous: the
# "API tokens" section of bench/RESULTS.md.
bench-tokens: $(VENV)/.installed-dev
	$(BIN)/python -m bench.tokens $(BENCH_ARGS)

# createTeam, createService and recordDeployment under load, beside PostGraphile's generated
# create mutations, and a 50/50 read/write mix: the "Writes" section of bench/RESULTS.md.
bench-writes: $(VENV)/.installed-dev
	$(BIN)/python -m bench.writes $(BENCH_ARGS)

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
