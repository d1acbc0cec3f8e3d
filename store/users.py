"""Users: lookups and the fixtures a new database starts with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from errors import NotFound
from store.db import Database
from store.models import User

TUTORIAL_USERS = ("john", "steve", "bill")


@dataclass(frozen=True)
class UserRecord:
    """A user as the rest of the service sees it; never carries the password hash."""

    id: int
    username: str
    role: str
    created_at: datetime


def as_record(row: User) -> UserRecord:
    return UserRecord(id=row.id, username=row.username, role=row.role, created_at=row.created_at)


def get(db: Database, user_id: int) -> UserRecord:
    """The user with this id; NotFound otherwise."""
    with db.read() as session:
        row = session.get(User, user_id)
        if row is None:
            raise NotFound(f"There is no user {user_id}.")
        return as_record(row)


def credentials(db: Database, username: str) -> tuple[UserRecord, str | None] | None:
    """The user with this username and their password hash, or None."""
    with db.read() as session:
        row = session.scalars(select(User).where(User.username == username)).one_or_none()
        return None if row is None else (as_record(row), row.password_hash)


def ensure_fixtures(
    db: Database,
    *,
    admin_username: str,
    admin_password_matches: Callable[[str | None], bool],
    hash_admin_password: Callable[[], str],
) -> None:
    """Seed an empty database with the tutorial's users, and keep the admin's password current.

    On an empty table: john, steve and bill (ids 1-3, no password) and the admin (id 4). On
    every start: the admin's stored hash is replaced when it no longer matches the settings.
    """
    with db.write() as session:
        if session.scalar(select(func.count()).select_from(User)) == 0:
            for name in TUTORIAL_USERS:
                session.add(User(username=name, role="user"))
                session.flush()
        admin = session.scalars(select(User).where(User.username == admin_username)).one_or_none()
        if admin is None:
            session.add(
                User(username=admin_username, role="admin", password_hash=hash_admin_password())
            )
        elif not admin_password_matches(admin.password_hash):
            admin.password_hash = hash_admin_password()
