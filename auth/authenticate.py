"""Checking credentials and issuing tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from auth.passwords import Passwords
from auth.principal import Principal
from store import tokens, users
from store.db import Database
from store.types import utcnow
from store.users import UserRecord


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token: its only appearance in clear text."""

    access_token: str
    expires_in: int


def register(db: Database, passwords: Passwords, username: str, password: str) -> UserRecord:
    """A new user with the `user` role, their password kept only as an Argon2id hash."""
    return users.create(db, username=username, password_hash=passwords.hash(password))


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, so a leaked table grants nothing."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def basic(db: Database, passwords: Passwords, username: str, password: str) -> Principal | None:
    """The user these credentials belong to, or None; as slow for unknown users as for known."""
    found = users.credentials(db, username)
    user, password_hash = found if found is not None else (None, None)
    if passwords.verify(password_hash, password) and user is not None:
        return Principal.of(user)
    return None


def bearer(db: Database, token: str) -> Principal | None:
    """The user an unexpired token belongs to, or None."""
    user = tokens.owner(db, token_digest(token), utcnow())
    return None if user is None else Principal.of(user)


def issue_token(db: Database, principal: Principal, ttl_seconds: int) -> IssuedToken:
    """A new random token for the principal, valid for `ttl_seconds`."""
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(seconds=ttl_seconds)
    tokens.create(
        db, user_id=principal.user_id, token_hash=token_digest(token), expires_at=expires_at
    )
    return IssuedToken(access_token=token, expires_in=ttl_seconds)
