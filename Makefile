# pgshift.mysql: every entry point. Run as root on Debian 12.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help setup lab-up lab-down lint unit integration molecule test demo demo-rollback bench bench-quick clean

help:
	@echo "make demo    set up, start the lab, migrate the demo data into PostgreSQL and report"
	@echo "make test    set up, start the lab, run lint, unit, integration and Molecule tests"
	@echo "make setup | lab-up | lab-down | lint | unit | integration | molecule | bench | bench-quick"

setup:
	bash scripts/setup-host.sh

lab-up: setup
	bash scripts/lab.sh up

lab-down:
	bash scripts/lab.sh down

lint: setup
	bash scripts/lint.sh

unit: setup
	$(BIN)/pytest -q tests/unit

integration: lab-up
	$(BIN)/pytest -q tests/integration

molecule: setup
	bash scripts/molecule-all.sh

test: lab-up
	bash scripts/test-all.sh

demo: lab-up
	bash scripts/demo.sh

demo-rollback: lab-up
	bash scripts/demo-rollback.sh

bench: lab-up
	$(BIN)/python bench/run.py

bench-quick: lab-up
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf .pytest_cache .ruff_cache build
