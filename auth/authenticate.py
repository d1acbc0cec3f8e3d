"""Checking credentials, under a limit on failures, and issuing tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from auth.admin import AdminPassword
from auth.passwords import Passwords, RecentChecks
from auth.principal import Principal
from auth.throttle import FailedLogins, rate_limit_headers
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


@dataclass(frozen=True)
class Checked:
    """Who the credentials belong to (None: nobody), and the RateLimit header fields of the
    failed-login limits the check ran under (empty when none applied)."""

    principal: Principal | None
    headers: dict[str, str]


def basic(
    db: Database,
    passwords: Passwords,
    throttle: FailedLogins,
    recent: RecentChecks,
    admin_password: AdminPassword,
    *,
    address: str,
    username: str,
    password: str,
) -> Checked:
    """The user these credentials belong to, if any; as slow for unknown users as for known.

    Refused (TooManyRequests) while a failed-login window that applies is full, whatever the
    credentials. Credentials checked recently are not hashed again: right ones still wait for
    the limits (otherwise a locked-out guesser would learn when a guess matched), wrong ones
    sent again get their 401 at once and do not count again (a repeat is no new guess).
    A changed ADMIN_PASSWORD is stored before any password is checked (auth.admin), so the old
    one never gets in.
    """
    admin_password.ensure()
    found = users.credentials(db, username)
    user, password_hash = found if found is not None else (None, None)
    fingerprint = recent.fingerprint(username, password, password_hash)
    verdict = recent.verdict(fingerprint)
    if verdict is False:
        return Checked(None, {})
    if verdict and user is not None:
        quotas = throttle.admit(address=address, username=username)
        return Checked(Principal.of(user), rate_limit_headers(quotas))
    attempt = throttle.begin(address=address, username=username)
    try:
        right = passwords.verify(password_hash, password) and user is not None
    except BaseException:
        throttle.abandoned(attempt)  # not checked (too many under way): not a failure
        raise
    recent.remember(fingerprint, right)
    if right and user is not None:
        return Checked(Principal.of(user), rate_limit_headers(throttle.succeeded(attempt)))
    return Checked(None, rate_limit_headers(throttle.failed(attempt)))


def bearer(
    db: Database, throttle: FailedLogins, recent: RecentChecks, *, address: str, token: str
) -> Checked:
    """The user an unexpired token belongs to, with its scopes, if any.

    A valid token is never refused for failed logins: tokens are 256 random bits, no guess can
    find one, so only unknown tokens count against the address (as a flood of lookups). An
    unknown token sent again is no new guess: it gets its 401 at once, not looked up, not
    counted (no token that was unknown ever becomes valid: new ones are new random values).
    """
    fingerprint = recent.fingerprint("", token, "bearer")
    if recent.verdict(fingerprint) is False:
        return Checked(None, {})
    found = tokens.owner(db, token_digest(token), utcnow())
    if found is not None:
        user, record = found
        return Checked(Principal.of(user, record.scopes), {})
    attempt = throttle.begin(address=address)
    recent.remember(fingerprint, False)
    return Checked(None, rate_limit_headers(throttle.failed(attempt)))


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
