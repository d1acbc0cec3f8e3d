"""Bearer tokens, stored only as hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from store.db import Database
from store.models import Token
from store.users import UserRecord, as_record


def create(db: Database, *, user_id: int, token_hash: str, expires_at: datetime) -> None:
    """Remember a token's hash for a user until it expires."""
    with db.write() as session:
        session.add(Token(user_id=user_id, token_hash=token_hash, expires_at=expires_at))


def owner(db: Database, token_hash: str, now: datetime) -> UserRecord | None:
    """The user whose unexpired token has this hash, or None."""
    query = select(Token).where(Token.token_hash == token_hash, Token.expires_at > now)
    with db.read() as session:
        token = session.scalars(query).one_or_none()
        return None if token is None else as_record(token.user)
