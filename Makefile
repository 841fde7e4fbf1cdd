# Two commands on a fresh machine:   make console   ·   make test
# Both create .venv, install the bot into it, and install redis-server (tests: also jq, curl) when missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: console test image-check bench bench-reminders bench-e2e clean

console: $(VENV)/.installed  ## run the bot as a local team chat in the terminal
	@scripts/ensure-system-deps.sh
	$(BIN)/socialmedia-check console

test: $(VENV)/.test-installed  ## run the whole test suite (starts its own redis-server)
	@scripts/ensure-system-deps.sh test
	@# pytest exits 5 when it collected no tests: that is a failure here, and it says so
	$(BIN)/python -m pytest; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; exit $$status

image-check: $(VENV)/.test-installed  ## build the container image and run it for real (root; podman, debootstrap)
	deploy/check-image.sh

bench: $(VENV)/.installed  ## the answer-path benchmark
	@scripts/ensure-system-deps.sh
	$(BIN)/python bench/answers.py

bench-reminders: $(VENV)/.installed  ## the reminder scheduler: 3 worker processes, 100,000 reminders
	@scripts/ensure-system-deps.sh
	$(BIN)/python bench/reminders.py

bench-e2e: $(VENV)/.test-installed  ## serve processes, the platform fakes, a real Redis: answers/s, latency, start-up, RSS
	@scripts/ensure-system-deps.sh
	$(BIN)/python bench/e2e.py

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
