# Vigil developer tasks. Every target creates or reuses .venv at the repository
# root and installs what it needs, so a fresh clone needs nothing else.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
BIN := $(VENV)/bin
# Lambda runs Python 3.12: prefer it for the virtualenv (pyenv keeps one here), else any
# python3 >= 3.11. A candidate must really run: a pyenv shim may exist and fail.
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
	&& { command -v $$p; break; }; done)
STAMP := $(VENV)/.installed
SAM := SAM_CLI_TELEMETRY=0 $(BIN)/sam
# sam build needs python3.12 (Lambda's runtime) on PATH. If the one on PATH is missing or
# fails (a pyenv shim), put pyenv's newest 3.12 first. Evaluated only when a target uses it.
BUILD_PATH = $(shell python3.12 -c '' >/dev/null 2>&1 || for d in $$(ls -d $$HOME/.pyenv/versions/3.12*/bin 2>/dev/null | sort -V -r); do \
	test -x $$d/python3.12 && { printf '%s:' $$d; break; }; done)$(PATH)

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# Everything .venv holds comes from requirements-dev.txt: exact versions, each with its
# hashes (pip refuses a file whose hash differs). Vigil itself is installed in place.
$(STAMP): pyproject.toml requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps --requirement requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--no-build-isolation --editable .
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install Vigil with its dev tools

test: $(STAMP) ## run the whole test suite (unit, integration with moto, PostgreSQL and loopback servers)
	@.ci/system-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP) ## performance benchmark: runner vs the asyncio floor, cold start, memory, writes, status API (<3 min)
	$(BIN)/python -m tests.bench.run

demo: $(STAMP) ## watch Vigil catch failures and recoveries on local targets (about 75 s, no AWS account)
	$(BIN)/vigil demo

lint: $(STAMP) ## ruff (lint + format), cfn-lint and sam validate --lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint --region us-east-1

# The layer's lock takes the dev lock's versions (--constraint): the tests run what is
# deployed, and nothing in the layer shadows the runtime's boto3 with a version it refuses.
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --upgrade --custom-compile-command "make lock"
lock: $(STAMP) ## re-pin every dependency with hashes (after editing pyproject.toml or shared/requirements.in)
	$(UV_COMPILE) pyproject.toml --extra dev --universal --python-version 3.11 \
		--output-file requirements-dev.txt
	$(UV_COMPILE) shared/requirements.in --constraint requirements-dev.txt \
		--python-platform aarch64-manylinux2014 --python-version 3.12 \
		--output-file shared/requirements.txt

build: $(STAMP) ## sam build: the runner function and the vigil layer, into .aws-sam/ (needs python3.12)
	@PATH="$(BUILD_PATH)" python3.12 -c '' 2>/dev/null || { \
		echo "make build: sam build needs python3.12 (Lambda's runtime) on PATH; install it (e.g. pyenv install 3.12)" >&2; exit 1; }
	PATH="$(BUILD_PATH)" $(SAM) build

.PHONY: help venv test bench demo lint lock build
