# The two commands a newcomer needs: `make run` (the product, locally) and `make test` (the suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## run: moto server + tables/queues + demo data + API on 127.0.0.1:8000 + queue consumers
run: $(STAMP)
	$(PY) -m infra.local_stack

## test: the whole suite (unit, integration, end-to-end); .ci/run calls exactly this
test: $(STAMP)
	$(PY) -m pytest

## test-fast: unit and integration tiers only
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit tests/integration

## bench: benchmarks that print figures (never run by the tests)
bench: $(STAMP)
	$(PY) -m bench.intake

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
