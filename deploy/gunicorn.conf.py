"""gunicorn for production: uvicorn workers; address and worker count from the service's settings.

    .venv/bin/gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'

Every worker migrates and seeds on start; store.db serialises that between processes. Every
worker records its metrics in one directory, and /metrics adds them all up (web.metrics).
"""

import gc

# Start-up makes ~100,000 objects that live as long as the process (modules, the spec, routes)
# and little garbage; the cyclic GC would scan them over and over (~0.1 s of a 1 s start). Off
# while the arbiter reads this file (it imports connexion) until it is ready; off in each worker
# from its fork until the app has started (app.py's lifespan turns it back on, after freezing
# what start-up made). The cost: start-up's own cyclic garbage (~2,800 objects, measured) is
# frozen with the rest and kept, rather than collected.
gc.disable()

import atexit
import ctypes
import math
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from uvicorn_worker import UvicornWorker

# connexion imported here in the arbiter, once: every worker forks with it imported.
import web.patches  # noqa: F401
from settings import Settings, SettingsError
from web.serving import uvicorn_options

try:
    _settings = Settings.from_env()
except SettingsError as error:
    raise SystemExit(f"articles-api: {error}") from None
if _settings.workers > 1 and not _settings.redis_url:
    # Each worker would count failed logins on its own: WORKERS times the limit would get in.
    _unshared = (
        f"WORKERS={_settings.workers} without REDIS_URL: each worker counts failed logins on its "
        "own, so the limits let WORKERS times as many guesses in"
    )
    if _settings.app_env == "production":
        raise SystemExit(f"articles-api: APP_ENV=production refuses {_unshared}")
    print(f"articles-api: warning: {_unshared} (APP_ENV=production refuses)", file=sys.stderr)


class Worker(UvicornWorker):  # type: ignore[misc]
    """A uvicorn worker with the service's uvicorn settings (web.serving)."""

    CONFIG_KWARGS: dict[str, Any] = uvicorn_options(
        _settings.workers,
        max_header_bytes=_settings.max_header_bytes,
        header_timeout=_settings.header_timeout,
        body_timeout=_settings.body_timeout,
        body_min_rate=_settings.body_min_rate,
        shutdown_timeout=_settings.shutdown_timeout,
        forwarded_allow_ips=_settings.forwarded_allow_ips,
        one_write="one_write" not in _settings.patches_off,
    )


bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
worker_class = Worker
# SIGTERM: stop accepting, let in-flight requests finish for up to SHUTDOWN_TIMEOUT, then exit.
# A worker cancels what is left itself (web.serving); the arbiter kills one still there 5 s on.
graceful_timeout = math.ceil(_settings.shutdown_timeout) + 5  # gunicorn takes whole seconds
timeout = 60
# The app writes its own access lines (with request ids) to LOG_FILE and stderr.
accesslog = None


def on_starting(_server: Any) -> None:
    """Once, before the first worker forks: the directory where every worker records its metrics.

    prometheus_client reads PROMETHEUS_MULTIPROC_DIR when it is imported, in each worker with the
    app (the arbiter never imports it before this). A hook rather than this file's top level: a
    HUP reads this file again, and must neither empty the directory nor make another.
    """
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_directory(_settings))


def _metrics_directory(settings: Settings) -> Path:
    """The operator's PROMETHEUS_MULTIPROC_DIR, emptied; or a new one, removed at exit."""
    if settings.prometheus_multiproc_dir:
        directory = Path(settings.prometheus_multiproc_dir)
        directory.mkdir(parents=True, exist_ok=True)
        # A previous run's files would be added to this run's counts.
        for stale in directory.glob("*.db"):
            stale.unlink()
        return directory
    directory = Path(tempfile.mkdtemp(prefix="articles-api-metrics-"))
    atexit.register(_remove_in_this_process, directory, os.getpid())
    return directory


def _remove_in_this_process(directory: Path, pid: int) -> None:
    # Workers are forks of the arbiter and run its atexit functions too when they exit; gunicorn's
    # on_exit hook would come from this file as a HUP re-read it, which knows no directory.
    if os.getpid() == pid:
        shutil.rmtree(directory, ignore_errors=True)


def child_exit(_server: Any, worker: Any) -> None:
    """A worker has exited: prometheus_client's bookkeeping (its counts stay in the totals)."""
    # Imported here, not above: imported in the arbiter before on_starting, prometheus_client
    # would fork into every worker in its one-process mode.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def when_ready(_server: Any) -> None:
    """The arbiter has started: its own start-up is over (workers fork after this)."""
    gc.enable()


def post_fork(_server: Any, worker: Any) -> None:
    """In a new worker, before it imports and starts the app."""
    gc.disable()
    _end_with_the_arbiter(worker.ppid)


# Linux's prctl(2) option: the signal this process gets when its parent ends.
PR_SET_PDEATHSIG = 1


def _end_with_the_arbiter(arbiter: int) -> None:
    """A worker stops (SIGTERM: uvicorn's graceful shutdown) when the arbiter ends, however.

    gunicorn's own workers check that their parent is still theirs on every turn of their loop;
    uvicorn_worker 0.4.0's UvicornWorker never does (Kludex/uvicorn#781, closed unmerged). An
    arbiter killed with SIGKILL (by the OOM killer, or `kill -9`) left its workers serving for
    good, holding the listening socket, so that a new gunicorn could not bind the port
    ("Address already in use"). Linux only; elsewhere, nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return
    # Until the worker sets up its own signals, SIGTERM ends it outright: the arbiter's handler,
    # inherited with the fork, would only queue the signal for an arbiter loop that never runs.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        print(f"articles-api: prctl(PR_SET_PDEATHSIG): {os.strerror(errno)}", file=sys.stderr)
        return
    if os.getppid() != arbiter:
        sys.exit(0)  # the arbiter ended between the fork and the prctl: no signal comes for that
