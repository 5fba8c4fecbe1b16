# The two commands a newcomer needs: `make run` (the product, locally) and `make test` (the suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast bench browser clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## run: moto server + tables/queues + demo data + API on 127.0.0.1:8000 + queue consumers
run: $(STAMP)
	$(PY) -m infra.local_stack

## browser: Debian's Chromium for the browser tests (installed when missing; needs root)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	  else echo "The browser tests need Chromium: sudo apt-get install -y chromium" >&2; exit 1; fi; }

## test: the whole suite (unit, integration, end-to-end incl. the browser); .ci/run calls exactly this
test: $(STAMP) browser
	$(PY) -m pytest -n 2 --dist loadfile

## test-fast: unit and integration tiers only
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit tests/integration

## bench: benchmarks that print figures (never run by the tests)
bench: $(STAMP)
	$(PY) -m bench.intake
	$(PY) -m bench.resolution
	$(PY) -m bench.hotline
	$(PY) -m bench.import_policies

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
