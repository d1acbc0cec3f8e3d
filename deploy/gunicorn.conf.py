"""gunicorn for production: uvicorn workers; address and worker count from the service's settings.

    .venv/bin/gunicorn -c deploy/gunicorn.conf.py app:app

Every worker migrates and seeds on start; store.db serialises that between processes.
"""

from settings import Settings

_settings = Settings.from_env()

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
worker_class = "uvicorn_worker.UvicornWorker"
# SIGTERM: stop accepting, let in-flight requests finish for up to this long, then exit.
graceful_timeout = 30
timeout = 60
# The app writes its own access lines (with request ids) to LOG_FILE and stderr.
accesslog = None
