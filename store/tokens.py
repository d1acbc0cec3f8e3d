"""Bearer tokens, stored only as hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete as sql_delete
from sqlalchemy import select

from errors import NotFound
from store.db import Database
from store.models import Token
from store.pagination import Page, decode_cursor, paginate
from store.users import UserRecord, as_record


@dataclass(frozen=True)
class TokenRecord:
    """What is kept of a token: never its value."""

    id: int
    user_id: int
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime


def _record(row: Token) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        user_id=row.user_id,
        scopes=frozenset(row.scopes.split()),
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def create(
    db: Database, *, user_id: int, token_hash: str, scopes: frozenset[str], expires_at: datetime
) -> TokenRecord:
    """Remember a token's hash and scopes for a user until it expires."""
    with db.write() as session:
        row = Token(
            user_id=user_id,
            token_hash=token_hash,
            scopes=" ".join(sorted(scopes)),
            expires_at=expires_at,
        )
        session.add(row)
        session.flush()
        session.refresh(row)
        return _record(row)


def owner(db: Database, token_hash: str, now: datetime) -> tuple[UserRecord, TokenRecord] | None:
    """The user whose unexpired token has this hash, and the token; or None."""
    query = select(Token).where(Token.token_hash == token_hash, Token.expires_at > now)
    with db.read() as session:
        token = session.scalars(query).one_or_none()
        return None if token is None else (as_record(token.user), _record(token))


def page(
    db: Database, user_id: int, now: datetime, limit: int, cursor: str | None
) -> Page[TokenRecord]:
    """A user's unexpired tokens by ascending id, `limit` at a time."""
    query = (
        select(Token)
        .where(Token.user_id == user_id, Token.expires_at > now, Token.id > decode_cursor(cursor))
        .order_by(Token.id)
        .limit(limit + 1)
    )
    with db.read() as session:
        rows = [_record(row) for row in session.scalars(query)]
    return paginate(rows, limit)


def revoke(db: Database, token_id: int, *, user_id: int) -> None:
    """Delete one of a user's tokens; NotFound when it is not theirs."""
    query = (
        sql_delete(Token).where(Token.id == token_id, Token.user_id == user_id).returning(Token.id)
    )
    with db.write() as session:
        if session.scalar(query) is None:
            raise NotFound(f"You have no token {token_id}.")
