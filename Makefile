# xiaoqi — two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# PyTorch is pinned and installed first so nothing pulls a multi-GB CUDA build. Elsewhere, point
# TORCH_PIP_ARGS at PyTorch's CPU wheel index (see README, "Installing elsewhere").
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_ENTERPRISES ?= 3000

.PHONY: install demo serve test test-all lint typecheck bench screenshots clean db-stop load

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/.installed

# Fresh machine → venv, embedded PostgreSQL, sample data, indexes, server on http://$(HOST):$(PORT)
demo: install
	MALLOC_ARENA_MAX=$${MALLOC_ARENA_MAX:-2} XIAOQI_MODE=demo $(BIN)/xiaoqi demo --enterprises $(DEMO_ENTERPRISES) --host $(HOST) --port $(PORT)

serve: install
	MALLOC_ARENA_MAX=$${MALLOC_ARENA_MAX:-2} $(BIN)/xiaoqi serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests

test-all: install
	$(BIN)/python -m pytest -q -m "" tests

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy service models indexing scripts

# Soak (issue 14): mixed load on loopback for 5 minutes at 100,000 enterprises, 2 workers; exits 1
# on any error answer or a memory drift >= 5%. The world is built once under /tmp/load100k.
LOAD_ARGS ?=
load: install
	$(BIN)/xiaoqi load $(LOAD_ARGS)

screenshots: install
	$(BIN)/python -m scripts.screenshots --out docs/screenshots

db-stop: install
	$(BIN)/xiaoqi db stop

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
