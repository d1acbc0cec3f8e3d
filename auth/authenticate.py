"""Checking credentials, under a limit on failures, and issuing tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from auth.passwords import Passwords
from auth.principal import Principal
from auth.throttle import FailedLogins, Key
from errors import Forbidden
from store import tokens, users
from store.db import Database
from store.tokens import TokenRecord
from store.types import utcnow
from store.users import UserRecord

DEFAULT_TOKEN_SECONDS = 3600


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token: its only appearance in clear text."""

    access_token: str
    expires_in: int
    record: TokenRecord

    @property
    def expires_at(self) -> datetime:
        """When it stops working."""
        return self.record.expires_at


def register(db: Database, passwords: Passwords, username: str, password: str) -> UserRecord:
    """A new user with the `user` role, their password kept only as an Argon2id hash."""
    return users.create(db, username=username, password_hash=passwords.hash(password))


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, so a leaked table grants nothing."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def basic(
    db: Database,
    passwords: Passwords,
    throttle: FailedLogins,
    *,
    address: str,
    username: str,
    password: str,
) -> Principal | None:
    """The user these credentials belong to, or None; as slow for unknown users as for known.

    Refused outright (TooManyRequests) once the address or the username has too many failures.
    """
    keys: list[Key] = [("address", address), ("username", username)]
    throttle.check(keys)
    found = users.credentials(db, username)
    user, password_hash = found if found is not None else (None, None)
    if passwords.verify(password_hash, password) and user is not None:
        return Principal.of(user)
    throttle.fail(keys)
    return None


def bearer(db: Database, throttle: FailedLogins, *, address: str, token: str) -> Principal | None:
    """The user an unexpired token belongs to, with its scopes; or None."""
    keys: list[Key] = [("address", address)]
    throttle.check(keys)
    found = tokens.owner(db, token_digest(token), utcnow())
    if found is None:
        throttle.fail(keys)
        return None
    user, record = found
    return Principal.of(user, record.scopes)


def issue_token(
    db: Database, principal: Principal, *, expires_in: int, scopes: Iterable[str] | None
) -> IssuedToken:
    """A new random token for the principal; Forbidden for scopes beyond its role."""
    wanted = principal.allowed_scopes if scopes is None else frozenset(scopes)
    beyond = wanted - principal.allowed_scopes
    if beyond:
        raise Forbidden(f"Your role does not allow {', '.join(sorted(beyond))}.")
    token = secrets.token_urlsafe(32)
    record = tokens.create(
        db,
        user_id=principal.user_id,
        token_hash=token_digest(token),
        scopes=wanted,
        expires_at=utcnow() + timedelta(seconds=expires_in),
    )
    return IssuedToken(access_token=token, expires_in=expires_in, record=record)
