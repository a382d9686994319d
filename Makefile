# StreamMesh: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "StreamMesh needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

.PHONY: install
install: $(STAMP) ## Create .venv and install StreamMesh with its dev tools.

.PHONY: lint
lint: install ## ruff (lint + format check) and mypy strict.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: fmt
fmt: install ## Format and autofix.
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: test
test: lint ## Lint, then run the whole suite (starts and stops its own Kafka).
	$(call need-deb,promtool,prometheus)
	$(call need-deb,kcat,kcat)
	$(call need-deb,chromium,chromium)
	$(BIN)/pytest $(PYTEST_ARGS)

.PHONY: unit
unit: install ## Only the tests that need no broker.
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

.PHONY: broker
broker: install ## Start a local Kafka on 127.0.0.1:9092 (stop: .venv/bin/streammesh broker stop).
	$(BIN)/streammesh broker start

.PHONY: broker-stop
broker-stop: install ## Stop the local Kafka.
	$(BIN)/streammesh broker stop

# Debian packages some targets need: installed with apt-get (as root, or with sudo) when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
define need-deb
	@command -v $(1) >/dev/null || { echo "installing $(2) (Debian package)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(2) >/dev/null; }
endef

.PHONY: bench
bench: install ## Run the benchmarks under bench/ (ratios against same-run baselines).
	$(call need-deb,wrk,wrk)
	@set -e; for module in $$(ls bench/*.py | grep -v __init__ | sed 's|/|.|; s|\.py$$||'); do \
		echo "== $$module"; $(BIN)/python -m $$module; done

DURATION ?=
.PHONY: demo
demo: install ## The whole mesh locally; Ctrl-C stops it (DURATION=60: run 60 s, print a summary).
	$(BIN)/streammesh demo $(if $(DURATION),--duration $(DURATION))

.PHONY: clean
clean: ## Remove the virtualenv and caches (not the Kafka jar cache).
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
