"""What handlers and security callbacks need, reachable from the request they serve."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from connexion import context
from sqlalchemy.exc import SQLAlchemyError

from auth.admin import AdminPassword
from auth.passwords import Passwords, RecentChecks
from auth.throttle import FailedLogins
from errors import DependencyUnavailable, NotReady
from settings import Settings
from store import users
from store.db import Database
from web.metrics import Metrics
from web.routes import Routes

SCOPE_KEY = "articles_api.services"
# Header fields for the response, set by code that runs before a handler (security callbacks).
RESPONSE_HEADERS_KEY = "articles_api.response_headers"


@dataclass
class Services:
    """One app's settings, database and helpers; built once by create_app."""

    settings: Settings
    db: Database
    routes: Routes
    passwords: Passwords
    throttle: FailedLogins
    recent: RecentChecks
    metrics: Metrics

    admin_password: AdminPassword = field(init=False)

    def __post_init__(self) -> None:
        self.admin_password = AdminPassword(
            self.db, self.passwords, self.settings.admin_username, self.settings.admin_password
        )

    def start(self) -> None:
        """Migrate the database, seed it, and start checking the admin's stored password."""
        self.db.migrate()
        users.ensure_fixtures(
            self.db,
            admin_username=self.settings.admin_username,
            hash_admin_password=lambda: self.passwords.hash(self.settings.admin_password),
        )
        self.admin_password.start()

    def check_ready(self) -> None:
        """NotReady, naming each dependency's state, unless the database answers and has room
        for writes, and Redis (when configured) answers; each within its timeout."""
        checks = {"database": "ok"}
        try:
            self.db.ping()
        except SQLAlchemyError:
            checks["database"] = "unreachable"
        else:
            if self.db.recently_full:
                checks["database"] = "full"
        if self.settings.redis_url:
            try:
                self.throttle.ping()
                checks["redis"] = "ok"
            except DependencyUnavailable:
                checks["redis"] = "unreachable"
        if any(state != "ok" for state in checks.values()):
            raise NotReady(checks)

    def stop(self) -> None:
        """Release the database's connections (once the admin's password check is done)."""
        self.admin_password.join()
        self.db.dispose()


def of_scope(scope: MutableMapping[str, Any]) -> Services:
    """The services of the app serving this ASGI scope."""
    services: Services = scope[SCOPE_KEY]
    return services


def current() -> Services:
    """The services of the app serving the current request."""
    return of_scope(context.scope)


def response_headers(scope: MutableMapping[str, Any]) -> dict[str, str]:
    """Header fields the response to this ASGI scope's request gets (web.request_context
    adds them)."""
    headers: dict[str, str] = scope[RESPONSE_HEADERS_KEY]
    return headers
