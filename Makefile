# Tenantry: `make run` for a local server with demo data, `make test` for the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run reset-demo test test-fast lint format install migrate seed check-deploy api-fuzz bench clean

$(STAMP): requirements.txt requirements-dev.txt tests/idp/oidc/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	# The SSO tests' identity provider (panva's oidc-provider), test-only, from npm's lockfile.
	if command -v npm >/dev/null; then npm ci --prefix tests/idp/oidc --no-audit --no-fund --silent; \
	  else echo "npm not found: the SSO tests that need a real OpenID provider will skip"; fi
	# SAML signatures are checked by Debian's xmlsec1 (pysaml2 calls it).
	if ! command -v xmlsec1 >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null || \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null); \
	  else echo "xmlsec1 not found: SAML connections need it (apt-get install xmlsec1)"; fi; fi
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	mkdir -p var
	DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DEBUG=1 $(BIN)/python manage.py seed_demo --if-empty
	@echo ""
	@echo "  Tenantry is starting on http://$(HOST):$(PORT)/"
	@echo "  Sign in as owner@acme.test / tenantry-demo (viewer: viewer@acme.test / tenantry-demo)"
	@echo "  Support staff, at /admin/: support@acme.test / tenantry-demo"
	@echo "  Webhook deliveries: a background worker (manage.py db_worker) runs beside the server."
	@echo ""
	DEBUG=1 $(BIN)/python manage.py housekeeping --enqueue
	DEBUG=1 SITE_URL=http://$(HOST):$(PORT) $(BIN)/python manage.py db_worker --interval 0.5 & \
	  worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  DEBUG=1 SITE_URL=http://$(HOST):$(PORT) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# A fresh demo: removes var/ (the SQLite database and what runs wrote), keeps .venv.
reset-demo: $(STAMP)
	rm -rf var
	$(MAKE) run

# On every core (pytest-xdist, one file per worker at a time, in collection order: the long
# accessibility walk starts first, beside everything else), then alone the few tests whose
# waits bound a real worker (marked serial), so a busy machine cannot stretch them.
test: $(STAMP)
	$(BIN)/python -m pytest -m "not serial" -n auto --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS)

# The loop while working: no browser tests and none marked slow (real workers and servers,
# generated inputs), on every core.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser" -n auto $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DEBUG=1 $(BIN)/mypy customers billing audit config

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-deploy: $(STAMP)
	DEBUG=0 SECRET_KEY=$$(head -c 48 /dev/urandom | base64) AUDIT_CHAIN_KEY=$$(head -c 48 /dev/urandom | base64) \
	  ALLOWED_HOSTS=tenantry.example.com \
	  SITE_URL=https://tenantry.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

# Measured speed at scale, on its own PostgreSQL database (recreated each run).
BENCH_SERVER ?= postgres://postgres@127.0.0.1:5432
BENCH_ENV = DATABASE_URL=$(BENCH_SERVER)/tenantry_bench DEBUG=0 SECRET_KEY=bench-not-secret \
	AUDIT_CHAIN_KEY=bench-audit-chain-key-not-secret \
	ALLOWED_HOSTS=testserver,127.0.0.1 SECURE_SSL_REDIRECT=0 EMAIL_URL=dummymail://
# REUSE=1 keeps the loaded data of the last run; PROFILE=page profiles one page (see README).
bench: $(STAMP)
	test -n "$(REUSE)" || $(BIN)/python -c "import psycopg; \
	c = psycopg.connect('$(BENCH_SERVER)/postgres', autocommit=True); \
	c.execute('DROP DATABASE IF EXISTS tenantry_bench WITH (FORCE)'); c.execute('CREATE DATABASE tenantry_bench')"
	$(BENCH_ENV) $(BIN)/python manage.py migrate --no-input -v0
	$(BENCH_ENV) $(BIN)/python manage.py collectstatic --no-input -v0
	$(BENCH_ENV) $(BIN)/python -m tests.bench $(BENCH_ARGS) $(if $(REUSE),--reuse) \
	  $(if $(PROFILE),--profile $(PROFILE))

api-fuzz: $(STAMP)
	bash .ci/api-fuzz

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
