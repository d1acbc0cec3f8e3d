"""The application factory, `create_app(settings)`: the only way to get an app. Importing this
module builds nothing and reads no environment. Servers call the factory: `python app.py`
(main below), `uvicorn --factory app:create_app`, gunicorn's `app:create_app()`."""

from __future__ import annotations

import gc
import pickle
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import connexion
import uvicorn
import yaml
from connexion.middleware import MiddlewarePosition
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware

from auth.passwords import Passwords, RecentChecks
from auth.throttle import ACCOUNT, ADDRESS, FailedLogins, MemoryStore, Policy, RedisStore
from settings import Settings, SettingsError
from store.db import Database
from web import deprecation, patches, problems
from web import log_setup as app_logging
from web.guards import MULTIPART_ALLOWANCE, Guards
from web.metrics import Metrics
from web.patches.spec_as_written import swagger_ui_options
from web.request_context import RequestContext
from web.routes import Routes
from web.services import Services
from web.serving import uvicorn_options
from web.validators import VALIDATORS

SPEC_DIR = Path(__file__).parent / "openapi"
SPEC_FILE = "api.yaml"
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
    "X-Requested-With",
]
CORS_RESPONSE_HEADERS = [
    "ETag",
    "Link",
    "Location",
    "Retry-After",
    "WWW-Authenticate",
    "X-Request-ID",
]


def load_spec() -> dict[str, Any]:
    """The contract as a dict, parsed by libyaml (pure-Python YAML took ~0.5 s of every start)."""
    text = (SPEC_DIR / SPEC_FILE).read_text(encoding="utf-8")
    spec: dict[str, Any] = yaml.load(text, Loader=yaml.CSafeLoader)
    return spec


def create_app(settings: Settings | None = None) -> connexion.FlaskApp:
    """Build the app; nothing touches the database or the log file until the app starts."""
    settings = settings or Settings.from_env()
    spec = load_spec()
    routes = Routes()  # filled from connexion's specification of the API (web.guards.Guards)
    passwords = Passwords(
        time_cost=settings.password_hash_time_cost,
        memory_kib=settings.password_hash_memory_kib,
        concurrency=settings.password_hashes_at_once,
    )
    address_policy = Policy.parse(ADDRESS, settings.auth_failure_limit)
    account_policy = Policy.parse(ACCOUNT, settings.auth_account_failure_limit)
    services = Services(
        settings=settings,
        # A connection for each thread that serves requests (web.patches.one_hop).
        db=Database(
            settings.database_url,
            pool_size=settings.request_threads,
            timeout=settings.database_timeout,
        ),
        routes=routes,
        passwords=passwords,
        throttle=FailedLogins(
            RedisStore(settings.redis_url, settings.redis_timeout)
            if settings.redis_url
            else MemoryStore(),
            address=address_policy,
            account=account_policy,
        ),
        # A wrong credential stays known as long as its failure counts.
        recent=RecentChecks(
            settings.auth_cache_seconds, max(address_policy.window, account_policy.window)
        ),
        metrics=Metrics(settings.prometheus_multiproc_dir),
    )

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        app_logging.configure(settings)
        await run_in_threadpool(services.start)
        # What exists once the app has started (modules, the spec, routes, validators) lives as
        # long as it serves: out of the cyclic GC's sight, a full collection no longer scans it
        # (a 50-80 ms pause under load, every few seconds: the p99 latency). Process-wide, so
        # undone at shutdown, when an app in a test run may be garbage.
        if "gc_freeze" not in settings.patches_off:  # (make bench-patches turns it off)
            gc.freeze()
        # deploy/gunicorn.conf.py keeps the cyclic GC off while a worker starts.
        gc.enable()
        yield
        gc.unfreeze()
        services.stop()

    app = connexion.FlaskApp(
        __name__,
        specification_dir=SPEC_DIR,
        lifespan=lifespan,
        middlewares=patches.middlewares(settings.patches_off),
        # Flask's default /static route would serve files the contract does not declare.
        server_args={"static_folder": None},
        swagger_ui_options=swagger_ui_options(),
    )
    # OPTIONS is answered from the spec by web.guards.Options, not by Flask's automatic handler.
    app.app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    # A dict, not the file name: connexion would parse the file again in pure Python (and render
    # it with Jinja2, which our spec does not use). It changes the dict it gets, hence a copy
    # (pickle's round trip: a twentieth of the time of parsing the YAML again or a deepcopy).
    app.add_api(
        pickle.loads(pickle.dumps(spec)),  # noqa: S301 (our own object, just pickled)
        validate_responses=settings.validate_responses,
        validator_map=VALIDATORS,
        pythonic_params=True,  # {articleId} arrives as article_id
    )
    patches.install(app, threads=settings.request_threads, off=settings.patches_off)
    problems.install(app, routes, debug=settings.debug)
    app.add_middleware(RequestContext, MiddlewarePosition.BEFORE_EXCEPTION, services=services)
    # After routing (it needs the operation) and inside response validation.
    app.add_middleware(deprecation.DeprecationHeaders, MiddlewarePosition.BEFORE_CONTEXT)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            MiddlewarePosition.BEFORE_EXCEPTION,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
        )
    # BEFORE_SWAGGER matches the class itself, and the stack holds SpecAsWritten in its place.
    body_limit = settings.max_message_bytes + MULTIPART_ALLOWANCE
    app.add_middleware(
        Guards, MiddlewarePosition.BEFORE_ROUTING, max_bytes=body_limit, routes=routes
    )
    return app


def main() -> None:
    """Serve on HOST:PORT; DEBUG=1 reloads on code changes and logs at debug level."""
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        raise SystemExit(f"articles-api: {error}") from None  # one line, not a traceback
    uvicorn.run(
        # Reloading runs the factory, by name, in a process of its own (same environment).
        "app:create_app" if settings.debug else create_app(settings),
        factory=settings.debug,
        host=settings.host,
        port=settings.port,
        reload=settings.debug,
        log_level=settings.log_level.lower(),
        **uvicorn_options(
            workers=1,
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            body_min_rate=settings.body_min_rate,
            shutdown_timeout=settings.shutdown_timeout,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            one_write="one_write" not in settings.patches_off,
        ),
    )


if __name__ == "__main__":
    main()
