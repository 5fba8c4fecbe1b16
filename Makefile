# The two commands a newcomer needs: `make run` (the product, locally) and `make test` (the suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint bench browser clean synth deploy destroy redrive

$(STAMP): requirements.txt requirements-dev.txt requirements-infra.txt
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

## lint: ruff (style, imports, likely bugs) on everything, mypy on the shipped code, infra and devkit
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

## test-fast: unit and integration tiers only
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit tests/integration

## bench: benchmarks that print figures (never run by the tests)
bench: $(STAMP)
	$(PY) -m bench.intake
	$(PY) -m bench.resolution
	$(PY) -m bench.hotline
	$(PY) -m bench.import_policies
	$(PY) -m bench.pipeline
	$(PY) -m bench.cold_start
	$(PY) -m bench.memory
	$(PY) -m bench.burst --claims 1000

## redrive: dead letters back to their queue once the cause is fixed (docs/operations.md)
redrive: $(STAMP)
	@test -n "$(QUEUE)" || { echo "make redrive QUEUE=<scoring|dispatch|contacts|notify|all> [ENDPOINT_URL=...] [MAX=N] [DRY_RUN=1]" >&2; exit 2; }
	$(PY) -m infra.redrive $(QUEUE) $(if $(ENDPOINT_URL),--endpoint-url $(ENDPOINT_URL)) $(if $(MAX),--max $(MAX)) $(if $(DRY_RUN),--dry-run)

## synth: CloudFormation of every stage into infra/cdk/cdk.out, offline (no AWS account needed)
synth: $(STAMP)
	$(PY) infra/cdk/app.py $(if $(STAGE),--stage $(STAGE))

# The CDK CLI (Node.js), pinned in infra/cdk/package.json; deploy and destroy need it, synth does not.
CDK := infra/cdk/node_modules/.bin/cdk
$(CDK): infra/cdk/package.json infra/cdk/package-lock.json
	cd infra/cdk && npm ci --no-audit --no-fund
	touch $(CDK)

CDK_CONTEXT = -c stage=$(STAGE) $(if $(PUBLIC_BASE_URL),-c public_base_url=$(PUBLIC_BASE_URL)) \
	$(if $(ALARM_EMAIL),-c alarm_email=$(ALARM_EMAIL)) \
	$(if $(CONNECT_INSTANCE_ARN),-c connect_instance_arn=$(CONNECT_INSTANCE_ARN)) \
	$(if $(SECRETS_REVISION),-c secrets_revision=$(SECRETS_REVISION))

## deploy: one stage (the app synthesizes only STAGE, so --all is that stack) to the AWS account of your credentials (docs/deploying.md): make deploy STAGE=dev
deploy: $(STAMP) $(CDK)
	@test -n "$(STAGE)" || { echo "make deploy STAGE=<dev|prod> [PUBLIC_BASE_URL=...] [ALARM_EMAIL=...]" >&2; exit 2; }
	cd infra/cdk && ../../$(CDK) deploy --all $(CDK_CONTEXT) --require-approval broadening

## destroy: remove a stage's stack (prod keeps its tables and bucket: RETAIN + deletion protection)
destroy: $(STAMP) $(CDK)
	@test -n "$(STAGE)" || { echo "make destroy STAGE=<dev|prod>" >&2; exit 2; }
	cd infra/cdk && ../../$(CDK) destroy --all $(CDK_CONTEXT)

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts infra/cdk/cdk.out infra/cdk/node_modules
