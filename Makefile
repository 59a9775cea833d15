# TrustHub: `make run` serves the demo; `make test` passes the whole suite. Both set up what they need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_CITIZENS ?= 2000
PGTEST_PORT ?= 55432
PYTEST_ARGS ?= -n 2
BENCH_ARGS ?=
export PGTEST_PORT

.DEFAULT_GOAL := help
.PHONY: help run test lint bench assets system-deps clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.runtime: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.runtime
	$(BIN)/pip install -q -e ".[dev]"
	@touch $@

assets: ## Fetch GOV.UK Frontend and axe-core from npm and copy them into the app
	@command -v npm >/dev/null 2>&1 || ./scripts/system-deps.sh
	./scripts/build-assets.sh

system-deps: ## Install Debian's Chromium, PostgreSQL and npm where missing
	./scripts/system-deps.sh

run: $(VENV)/.runtime assets ## Migrate and seed the embedded database, then serve on :8000
	$(BIN)/trusthub db upgrade
	$(BIN)/trusthub demo seed --if-empty --citizens $(DEMO_CITIZENS)
	$(BIN)/trusthub serve

lint: $(VENV)/.dev ## ruff and mypy
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: system-deps $(VENV)/.dev assets lint ## Lint, start a throw-away PostgreSQL, run every test
	@url=$$(./scripts/pg-test.sh start) && \
	  status=0; \
	  TRUSTHUB_TEST_POSTGRES_URL=$$url TRUSTHUB_REQUIRE_POSTGRES=1 TRUSTHUB_REQUIRE_BROWSER=1 \
	    $(BIN)/pytest $(PYTEST_ARGS) || status=$$?; \
	  ./scripts/pg-test.sh stop; exit $$status

bench: system-deps $(VENV)/.dev ## Run every benchmark at its goal's scale (about an hour); see benchmarks/RESULTS.md
	@export PGTEST_PORT=55433 PGTEST_DURABLE=1; url=$$(./scripts/pg-test.sh start) && \
	  status=0; \
	  ./scripts/bench-all.sh "$$url" $(BENCH_ARGS) || status=$$?; \
	  ./scripts/pg-test.sh stop; exit $$status

clean: ## Remove the virtualenv, built assets and local databases
	rm -rf $(VENV) node_modules var src/trusthub/web/static/govuk src/trusthub/web/static/vendor
