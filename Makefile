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

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml shared/requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install Vigil with its dev tools

test: $(STAMP) ## run the whole test suite (unit, integration with moto, PostgreSQL and loopback servers)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

.PHONY: help venv test
