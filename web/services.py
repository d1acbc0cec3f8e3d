"""What handlers and security callbacks need, reachable from the request they serve."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from connexion import context

from auth.admin import AdminPassword
from auth.passwords import Passwords
from auth.throttle import FailedLogins
from settings import Settings
from store import users
from store.db import Database
from web.metrics import Metrics
from web.routes import Routes

SCOPE_KEY = "articles_api.services"


@dataclass
class Services:
    """One app's settings, database and helpers; built once by create_app."""

    settings: Settings
    db: Database
    routes: Routes
    passwords: Passwords
    throttle: FailedLogins
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
