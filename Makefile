# Two commands for a fresh machine: `make run` serves the API, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run serve-prod test lint migrate clean bench bench-pagination

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## serve on http://127.0.0.1:8080 (DEBUG=1 for reload and debug logs)
	DEBUG=$(DEBUG) $(PY) app.py

test: lint  ## lint, then every test on 2 workers (PostgreSQL too when TEST_DATABASE_URL is set)
	$(PY) -m pytest -n 2

lint: $(STAMP)  ## the spec validator, ruff and mypy
	$(PY) -m openapi_spec_validator openapi/api.yaml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

serve-prod: $(STAMP)  ## gunicorn with WORKERS uvicorn workers on HOST:PORT; SIGTERM drains in-flight requests
	$(VENV)/bin/gunicorn -c deploy/gunicorn.conf.py app:app

migrate: $(STAMP)  ## bring DATABASE_URL's schema to the newest migration
	$(PY) -c 'from settings import Settings; from store.db import Database; Database(Settings.from_env().database_url).migrate()'

clean:
	rm -rf $(VENV) build *.egg-info

bench: bench-pagination  ## every benchmark; results go to build/bench/

bench-pagination: $(STAMP)  ## 10^6 articles: first vs deep page latency, SQLite then PostgreSQL when BENCH_DATABASE_URL is set
	$(PY) -m bench.pagination --database-url sqlite:///./build/bench/pagination.db
	if [ -n "$$BENCH_DATABASE_URL" ]; then $(PY) -m bench.pagination --database-url "$$BENCH_DATABASE_URL"; fi
