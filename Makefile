# Two commands on a fresh machine:   make console   ·   make test
# Both create .venv, install the bot into it, and install redis-server when it is missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: console test bench redis clean

console: $(VENV)/.installed redis  ## run the bot as a local team chat in the terminal
	$(BIN)/socialmedia-check console

test: $(VENV)/.test-installed redis  ## run the whole test suite (starts its own redis-server)
	$(BIN)/python -m pytest

bench: $(VENV)/.installed redis  ## the answer-path benchmark
	$(BIN)/python bench/answers.py

redis:
	@scripts/ensure-redis.sh

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
