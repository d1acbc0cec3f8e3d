"""gunicorn for production: uvicorn workers; address and worker count from the service's settings.

    .venv/bin/gunicorn -c deploy/gunicorn.conf.py app:app

Every worker migrates and seeds on start; store.db serialises that between processes.
"""

import gc

# Start-up makes ~100,000 objects that live as long as the process (modules, the spec, routes)
# and little garbage; the cyclic GC would scan them over and over (~0.1 s of a 1 s start). Off
# while the arbiter reads this file (it imports connexion) until it is ready; off in each worker
# from its fork until the app has started (app.py's lifespan turns it back on, after freezing
# what start-up made). The cost: start-up's own cyclic garbage (~2,800 objects, measured) is
# frozen with the rest and kept, rather than collected.
gc.disable()

from typing import Any

from uvicorn_worker import UvicornWorker

# Imports connexion (with stand-ins for its test-only modules) here in the arbiter, once: every
# worker forks with it imported.
import web.fastpath  # noqa: F401
from settings import Settings
from web.serving import uvicorn_options

_settings = Settings.from_env()


class Worker(UvicornWorker):  # type: ignore[misc]
    """A uvicorn worker with the service's uvicorn settings (web.serving)."""

    CONFIG_KWARGS: dict[str, Any] = uvicorn_options(_settings.workers)


bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
worker_class = Worker
# SIGTERM: stop accepting, let in-flight requests finish for up to this long, then exit.
graceful_timeout = 30
timeout = 60
# The app writes its own access lines (with request ids) to LOG_FILE and stderr.
accesslog = None


def when_ready(_server: Any) -> None:
    """The arbiter has started: its own start-up is over (workers fork after this)."""
    gc.enable()


def post_fork(_server: Any, _worker: Any) -> None:
    """In a new worker, before it imports and starts the app."""
    gc.disable()
