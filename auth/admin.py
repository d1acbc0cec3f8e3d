"""The configured admin password (ADMIN_PASSWORD) made current in the database, after start-up."""

from __future__ import annotations

import logging
import threading

from auth.passwords import Passwords
from store import users
from store.db import Database

logger = logging.getLogger(__name__)


class AdminPassword:
    """Replaces the admin's stored hash when it no longer matches the configured password.

    Checking is an Argon2id verification (~0.2 s at the default cost, a fifth of a start), so a
    process checks once, in a thread of its own, while it already serves; password logins call
    `ensure()` first, which waits for that check: a changed password never lets the old one in,
    not even on the first request after a restart. A check that failed (say, the database was
    briefly away) is tried again by the next login.
    """

    def __init__(self, db: Database, passwords: Passwords, username: str, password: str) -> None:
        self._db = db
        self._passwords = passwords
        self._username = username
        self._password = password
        self._lock = threading.Lock()
        self._current = False
        self._thread: threading.Thread | None = None

    def ensure(self) -> None:
        """Return once the stored hash matches the configured password (checked once)."""
        if self._current:
            return
        with self._lock:
            if not self._current:
                self._make_current()
                self._current = True

    def _make_current(self) -> None:
        found = users.credentials(self._db, self._username)
        if found is None:
            return  # no admin to keep current (users.ensure_fixtures creates one at start)
        if not self._passwords.verify(found[1], self._password):
            # Processes sharing the database may both get here: each stores a valid hash of the
            # same configured password, so either write may win.
            users.set_password_hash(self._db, self._username, self._passwords.hash(self._password))
            logger.info("the admin's stored password hash was replaced to match the settings")

    def start(self) -> None:
        """Check in a thread of its own; `ensure()` callers wait for it."""
        self._thread = threading.Thread(target=self._check, name="admin-password", daemon=True)
        self._thread.start()

    def _check(self) -> None:
        try:
            self.ensure()
        except Exception as exc:  # logged here; the next login tries again and may fail visibly
            # Its type only: a database error's text carries the statement's parameters.
            logger.error(
                "checking the admin's password hash failed (%s); the next login tries again",
                type(exc).__name__,
            )

    def join(self) -> None:
        """Wait for the start-up check, if one is running (before the database is closed)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
