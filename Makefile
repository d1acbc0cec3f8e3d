# Two commands for a fresh machine: `make run` serves the API, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run serve-prod test lint docs migrate clean bench bench-tools bench-http bench-patches bench-auth bench-pagination fuzz test-browser sdk mock

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## serve on http://127.0.0.1:8080 (DEBUG=1 for reload and debug logs)
	DEBUG=$(DEBUG) $(PY) app.py

test: lint  ## lint, then every test on 2 workers (PostgreSQL too when TEST_DATABASE_URL is set)
	$(PY) -m pytest -n 2 --dist worksteal

test-browser: $(STAMP)  ## only the browser test: Swagger UI in headless Chromium (Debian's chromium, installed when root)
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "make test-browser needs Debian's chromium: sudo apt-get install chromium" >&2; exit 1; \
		fi; \
	fi
	$(PY) -m pytest -m browser -p no:xdist

# Spectral and Redocly lint the spec, openapi-diff looks for breaking changes and Redocly renders its
# docs: Node tools pinned in package.json, installed by `npm ci` whenever package-lock.json changes;
# nothing is fetched at lint time.
NODE_STAMP := node_modules/.installed
HAVE_NODE := $(shell command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && echo yes)
REDOCLY := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true ./node_modules/.bin/redocly

$(NODE_STAMP): package.json package-lock.json
	SCARF_ANALYTICS=false npm ci --no-audit --no-fund
	touch $@

lint: $(STAMP) $(if $(HAVE_NODE),$(NODE_STAMP))  ## the spec validator, the breaking-change gate against openapi/released/ (contract.gate; its openapi-diff part, Spectral and Redocly skipped without node), ruff and mypy
	$(PY) -m openapi_spec_validator openapi/api.yaml
	$(PY) -m contract.gate
ifeq ($(HAVE_NODE),yes)
	./node_modules/.bin/spectral lint --fail-severity=warn openapi/api.yaml
	$(REDOCLY) lint --format=stylish openapi/api.yaml
else
	@echo "make lint: node or npm is not installed, so Spectral and Redocly are skipped (they need Node.js >= 20.19)"
	@if [ -n "$$CI" ]; then echo "make lint: CI must run Spectral and Redocly; install Node.js" >&2; exit 1; fi
endif
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

docs: $(NODE_STAMP)  ## the spec as static HTML, rendered by Redocly into build/docs/index.html (no CDN needed to view it)
	$(REDOCLY) build-docs openapi/api.yaml -o build/docs/index.html --inlineBundle

serve-prod: $(STAMP)  ## gunicorn with WORKERS uvicorn workers on HOST:PORT; SIGTERM drains in-flight requests
	$(VENV)/bin/gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'

migrate: $(STAMP)  ## bring DATABASE_URL's schema to the newest migration
	$(PY) -c 'from settings import Settings; from store.db import Database; Database(Settings.from_env().database_url).migrate()'

clean:
	rm -rf $(VENV) build *.egg-info

bench: bench-http bench-patches bench-auth bench-pagination  ## every benchmark; results go to build/bench/

bench-tools:  # Debian's wrk and taskset, installed when root
	@if ! command -v wrk >/dev/null || ! command -v taskset >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk util-linux >/dev/null; \
		else \
			echo "make bench needs wrk and taskset: sudo apt-get install wrk util-linux" >&2; exit 1; \
		fi; \
	fi

bench-http: $(STAMP) bench-tools  ## the service vs plain Flask vs raw Starlette under wrk (about 6 minutes; needs 2 cores); 2 vs 1 workers also on PostgreSQL when BENCH_DATABASE_URL is set
	$(PY) -m bench.throughput

bench-patches: $(STAMP) bench-tools  ## what each patch of web/patches buys: the service with each turned off (PATCHES_OFF) against all on, twice (about 6 minutes; needs 2 cores)
	$(PY) -m bench.patches

bench-auth: $(STAMP) bench-tools  ## HTTP Basic vs Bearer under a 95/5 read/write mix, and a burst of 100 guesses: checks made and peak memory (about 2 minutes)
	$(PY) -m bench.auth

bench-pagination: $(STAMP)  ## 10^6 articles: first vs deep page latency, SQLite then PostgreSQL when BENCH_DATABASE_URL is set
	$(PY) -m bench.pagination --database-url sqlite:///./build/bench/pagination.db
	if [ -n "$$BENCH_DATABASE_URL" ]; then $(PY) -m bench.pagination --database-url "$$BENCH_DATABASE_URL"; fi

fuzz: $(STAMP)  ## schemathesis deeper than CI: every check and phase, 300 examples, a random seed; config, reports and server log in build/fuzz/
	rm -rf build/fuzz && mkdir -p build/fuzz
	if $(PY) -c 'import socket; socket.create_connection(("127.0.0.1", 8099), 1)' 2>/dev/null; then \
		echo "make fuzz: port 8099 is taken; stop what listens there" >&2; exit 1; fi
	APP_ENV=development ADMIN_USERNAME=admin ADMIN_PASSWORD=secret ADMIN_PASSWORD_FILE= DEBUG= \
	DATABASE_URL=sqlite:///./build/fuzz/app.db PORT=8099 \
	LOG_FILE=build/fuzz/app.log PASSWORD_HASH_TIME_COST=1 PASSWORD_HASH_MEMORY_KIB=1024 \
		$(PY) app.py >build/fuzz/server.out 2>&1 & server=$$!; \
	trap 'kill $$server 2>/dev/null' EXIT INT TERM; \
	$(PY) -m tests.fuzzing --base-url http://127.0.0.1:8099 --max-examples 300 --out build/fuzz; \
	status=$$?; kill $$server; wait $$server 2>/dev/null; exit $$status

sdk: $(STAMP) $(NODE_STAMP)  ## four clients from a live server's /openapi.json by stock generators, in build/sdk/ (see sdk/build.py; needs Java and Node)
	$(PY) -m sdk.build

mock: $(NODE_STAMP)  ## a Prism mock of the contract on http://127.0.0.1:4010, answering from its examples
	./node_modules/.bin/prism mock --host 127.0.0.1 --port 4010 openapi/api.yaml
