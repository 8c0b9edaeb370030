# recon-streams — `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RECON  := $(BIN)/recon
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
UV     := uv==0.13.8
OUT    ?= out

BENCH_ARGS ?=
# Two test processes, a test file each at a time: the integration tests spend much of their
# time waiting (drains, restarts, outages), and files keep their module fixtures together.
# PYTEST_PARALLEL= runs them one at a time.
PYTEST_PARALLEL ?= -n 2 --dist loadfile
LOCK_ARGS  ?=

.PHONY: help venv lock venv-quix demo bench test unit integration lint typecheck broker-start broker-stop clean prometheus-tools postgresql-tools

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# Exactly the locked versions (runtime and dev tools), then the project itself without
# resolving anything: pyproject.toml says what we accept, $(LOCK) what we install.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r $(LOCK)
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP) ## create the virtualenv and install recon-streams with its dev tools

# Keeps every locked version that still fits pyproject.toml; LOCK_ARGS=--upgrade takes the
# newest of everything, LOCK_ARGS='--upgrade-package NAME' of one package.
lock: ## regenerate requirements.lock from pyproject.toml (runtime + dev, with hashes)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q '$(UV)'
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command 'make lock' $(LOCK_ARGS) -o $(LOCK)

demo: $(STAMP) postgresql-tools ## run the rebate, matching and EDI three-way pipelines end to end, deliver to PostgreSQL, self-check
	$(BIN)/python -m streams.tools.demo --out $(OUT)

QUIX_STAMP := .venv-quix/.installed
$(QUIX_STAMP):
	$(PYTHON) -m venv .venv-quix
	.venv-quix/bin/pip install -q 'quixstreams==3.28.1' 'pydantic>=2.7,<2.14' pycountry
	touch $(QUIX_STAMP)

venv-quix: $(QUIX_STAMP) ## the quixstreams baseline's own virtualenv (its pins clash with ours)

bench: $(STAMP) $(QUIX_STAMP) postgresql-tools ## benchmark: ingest, worker end to end, baselines, scaling, latency, delivery (BENCH_ARGS=--quick)
	$(RECON) bench $(BENCH_ARGS)

prometheus-tools: ## install Debian's prometheus package if prometheus/promtool are missing
	sh deploy/ensure-prometheus.sh

postgresql-tools: ## install Debian's postgresql package if initdb/pg_ctl are missing
	sh deploy/ensure-postgresql.sh

test: $(STAMP) prometheus-tools postgresql-tools ## the whole suite: lint, types, unit and integration (starts the local broker and PostgreSQL)
	$(BIN)/ruff check streams tests
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_PARALLEL)

unit: $(STAMP) ## unit tests only
	$(BIN)/pytest -m unit $(PYTEST_PARALLEL)

integration: $(STAMP) prometheus-tools postgresql-tools ## integration tests only (real broker, real PostgreSQL)
	$(BIN)/pytest -m integration $(PYTEST_PARALLEL)

broker-start: $(STAMP) ## start the embedded single-node KRaft broker
	$(RECON) broker start

broker-stop: $(STAMP) ## stop it
	$(RECON) broker stop

clean: ## remove local state, broker data and outputs (not the venv)
	rm -rf .recon $(OUT)
