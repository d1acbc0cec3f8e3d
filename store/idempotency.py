"""Requests made with an Idempotency-Key: claimed before they run, and their responses stored
in the same transaction as what they wrote, so a retry finds either nothing done or all of it.

A stored response is sealed (AES-256-GCM) under a key derived from the caller, the operation
and the Idempotency-Key, none of which the table keeps: a response may hold a secret (a new
token), and a copy of the table without the client's key reveals none.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from errors import Conflict, UnprocessableContent
from store.db import Database
from store.models import IdempotencyKey
from store.types import utcnow

# How long a claimed request may run before a retry takes it over: longer than any request can
# (its database calls are bounded by DATABASE_TIMEOUT), so a claim still held is one whose
# process died before committing anything.
LEASE_SECONDS = 60
PURGE_EVERY = 256  # claims between two purges of expired keys, in each process
_claims = itertools.count(1)


@dataclass(frozen=True)
class Claim:
    """A request this caller may now carry out; `complete` stores its response."""

    id: int
    sealing_key: bytes


@dataclass(frozen=True)
class Stored:
    """The response of the earlier request with the same key."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _keys(scope: str) -> tuple[str, bytes]:
    """The row's lookup and the response's sealing key, both derived from `scope`."""
    material = scope.encode("utf-8", "surrogateescape")
    lookup = hashlib.sha256(b"lookup\x00" + material).hexdigest()
    return lookup, hashlib.sha256(b"seal\x00" + material).digest()


def claim(db: Database, *, scope: str, fingerprint: str, seconds: float) -> Claim | Stored:
    """Claim the request `fingerprint` under `scope` (caller, operation, key), or find it done.

    Stored: done before, the same request. Claim: never seen (or expired, or its process died
    before committing), carry it out. UnprocessableContent: the key was used for another
    request. Conflict: the same request is under way.
    """
    lookup, sealing_key = _keys(scope)
    if next(_claims) % PURGE_EVERY == 0:
        purge(db)
    for _ in range(2):  # a second look when another request inserted the key first
        try:
            return _claim(db, lookup, sealing_key, fingerprint, seconds)
        except IntegrityError:
            continue
    raise Conflict("A request with this Idempotency-Key is under way.")


def _claim(
    db: Database, lookup: str, sealing_key: bytes, fingerprint: str, seconds: float
) -> Claim | Stored:
    now = utcnow()
    lease = now + timedelta(seconds=LEASE_SECONDS)
    with db.write() as session:
        query = select(IdempotencyKey).where(IdempotencyKey.lookup == lookup).with_for_update()
        row = session.scalars(query).one_or_none()
        if row is not None and row.expires_at <= now:
            session.delete(row)
            session.flush()
            row = None
        if row is None:
            row = IdempotencyKey(
                lookup=lookup,
                fingerprint=fingerprint,
                locked_until=lease,
                expires_at=now + timedelta(seconds=seconds),
            )
            session.add(row)
            session.flush()
            return Claim(row.id, sealing_key)
        if row.fingerprint != fingerprint:
            raise UnprocessableContent(
                "This Idempotency-Key was used for another request; use a new key for this one."
            )
        if row.status is not None and row.response is not None:
            return _unseal(sealing_key, row.status, row.response)
        if row.locked_until > now:
            wait = max(1, int((row.locked_until - now).total_seconds()))
            raise Conflict(
                f"A request with this Idempotency-Key is still under way; retry in {wait} seconds.",
                headers={"Retry-After": str(wait)},
            )
        row.locked_until = lease  # its process died before committing: nothing was done
        return Claim(row.id, sealing_key)


def complete(
    db: Database, claimed: Claim, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    """Store the response of a claimed request (inside the transaction of what it wrote)."""
    head = json.dumps(headers).encode("utf-8")
    plain = len(head).to_bytes(4, "big") + head + body
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(claimed.sealing_key).encrypt(nonce, plain, None)
    with db.write() as session:
        row = session.get(IdempotencyKey, claimed.id)
        if row is not None:
            row.status = status
            row.response = sealed


def _unseal(sealing_key: bytes, status: int, sealed: bytes) -> Stored:
    plain = AESGCM(sealing_key).decrypt(sealed[:12], sealed[12:], None)
    size = int.from_bytes(plain[:4], "big")
    headers = [(name, value) for name, value in json.loads(plain[4 : 4 + size])]
    return Stored(status, headers, plain[4 + size :])


def release(db: Database, claimed: Claim) -> None:
    """Give a claim up: the request failed and wrote nothing, a retry may carry it out."""
    with db.write() as session:
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.id == claimed.id, IdempotencyKey.status.is_(None)
            )
        )


def purge(db: Database) -> int:
    """Forget expired keys; how many."""
    with db.write() as session:
        result = session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.expires_at <= utcnow())
        )
    return int(getattr(result, "rowcount", 0) or 0)
