# hybridmarket: `make help` lists the targets.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROGRAM_STAMP := $(VENV)/.installed-program

.DEFAULT_GOAL := help
CHROMIUM ?= /usr/bin/chromium
.PHONY: help setup run test lint typecheck idl bench clean program program-verify browser lock

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# pyproject.toml says which versions work (ranges); requirements.lock pins the exact, hashed set
# that is installed and tested (`make lock` regenerates both lock files from pyproject.toml).
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install the project into it (the exact pins of requirements.lock)

# The `program` extra: the pinned compiler (ziglang) and the linker's ELF reader.
$(PROGRAM_STAMP): $(STAMP) requirements-program.lock
	$(BIN)/pip install --quiet --require-hashes -r requirements-program.lock
	@touch $(PROGRAM_STAMP)

lock: ## Regenerate requirements.lock (dev, redis) and requirements-program.lock (+ program) from pyproject.toml (pip-tools)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --no-emit-index-url \
	  --no-emit-find-links --strip-extras --extra dev --extra redis -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --no-emit-index-url \
	  --no-emit-find-links --strip-extras --extra dev --extra redis --extra program \
	  -o requirements-program.lock pyproject.toml

program: $(PROGRAM_STAMP) ## Build the on-chain program (onchain/) into src/hybridmarket/program/hybridmarket.so, its LMSR for the host into lmsr_host.so
	$(BIN)/python -m hybridmarket.sbf build

program-verify: $(PROGRAM_STAMP) ## Rebuild the on-chain program and the host library, check both equal the committed ones
	$(BIN)/python -m hybridmarket.sbf verify

# The browser tests drive Debian's Chromium (Playwright cannot download its own here).
browser: ## Install Debian's Chromium for the browser tests if it is missing (needs root or sudo)
	@test -x $(CHROMIUM) || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "installing chromium (apt-get) for the browser tests"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: setup ## Set up and start the system on embedded defaults (with a demo market world)
	$(BIN)/hybridmarket up --demo

lint: setup ## ruff (lint + format check)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup ## mypy (strict for the program model and codecs)
	$(BIN)/mypy

test: setup $(PROGRAM_STAMP) browser lint typecheck ## Set up (with the program toolchain and Chromium), lint, type-check and run the whole test suite
	$(BIN)/pytest -q

idl: setup ## Regenerate idl/hybridmarket.json from the program model
	$(BIN)/hybridmarket idl > idl/hybridmarket.json

bench: setup ## Run the benchmarks in bench/ (figures go to docs/benchmarks.md)
	$(BIN)/python bench/lmsr.py
	$(BIN)/python bench/program.py
	$(BIN)/python bench/localnet.py
	$(BIN)/python bench/indexer.py
	$(BIN)/python bench/aggregate.py
	$(BIN)/python bench/snapshots.py
	$(BIN)/python bench/api.py

clean: ## Remove .venv and caches (keeps .hybridmarket/ data)
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
