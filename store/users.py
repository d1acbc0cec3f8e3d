"""Users: lookups and the fixtures a new database starts with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from errors import Conflict, NotFound
from store.db import Database
from store.models import Article, User
from store.pagination import Page, decode_cursor, paginate

TUTORIAL_USERS = ("john", "steve", "bill")
# The configured admin's id on a new database. An explicit id moves neither PostgreSQL's
# sequence nor SQLite's AUTOINCREMENT counter past the tutorial's users: the next is 4.
ADMIN_ID = 0


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


def page(db: Database, limit: int, cursor: str | None) -> Page[UserRecord]:
    """Users by ascending id, `limit` at a time, after the cursor's position."""
    query = select(User).where(User.id > decode_cursor(cursor)).order_by(User.id).limit(limit + 1)
    with db.read() as session:
        rows = [as_record(row) for row in session.scalars(query)]
    return paginate(rows, limit)


def create(db: Database, *, username: str, password_hash: str, role: str = "user") -> UserRecord:
    """Store a new user; Conflict when the username is taken."""
    taken = Conflict(f"The username {username!r} is taken.")
    try:
        with db.write() as session:
            if session.scalar(select(exists().where(User.username == username))):
                raise taken
            row = User(username=username, password_hash=password_hash, role=role)
            session.add(row)
            session.flush()
            session.refresh(row)
            return as_record(row)
    except IntegrityError:
        # Another writer took the name between our check and our insert (PostgreSQL).
        raise taken from None


def delete(db: Database, user_id: int, *, protected_username: str) -> None:
    """Delete a user and their tokens; Conflict for the protected admin or an author."""
    with db.write() as session:
        row = session.get(User, user_id, with_for_update=True)
        if row is None:
            raise NotFound(f"There is no user {user_id}.")
        if row.username == protected_username:
            raise Conflict("The configured admin cannot be deleted.")
        if session.scalar(select(exists().where(Article.author_id == user_id))):
            raise Conflict(f"User {user_id} still has articles; delete them first.")
        session.delete(row)


def credentials(db: Database, username: str) -> tuple[UserRecord, str | None] | None:
    """The user with this username and their password hash, or None (also for a name no user
    can have: one holding a NUL, which PostgreSQL cannot store or compare)."""
    if "\x00" in username:
        return None
    with db.read() as session:
        row = session.scalars(select(User).where(User.username == username)).one_or_none()
        return None if row is None else (as_record(row), row.password_hash)


def ensure_fixtures(
    db: Database, *, admin_username: str, hash_admin_password: Callable[[], str]
) -> None:
    """Seed an empty database with the tutorial's users and the admin.

    On an empty table: john, steve and bill (ids 1-3, no password) and the admin as user 0,
    outside the tutorial's numbering, so that a fresh install has nothing at /users/4 (the
    tutorial's 404) and the next user is 4; the admin also, with the next id, when missing from
    a table that has users. Whether a stored admin's hash still matches the settings is
    auth.admin's concern, after start-up.
    """
    with db.write() as session:
        db.hold_setup_lock(session.connection())
        empty = session.scalar(select(func.count()).select_from(User)) == 0
        if empty:
            for name in TUTORIAL_USERS:
                session.add(User(username=name, role="user"))
                session.flush()
        admin = session.scalars(select(User).where(User.username == admin_username)).one_or_none()
        if admin is None:
            session.add(
                User(
                    id=ADMIN_ID if empty else None,
                    username=admin_username,
                    role="admin",
                    password_hash=hash_admin_password(),
                )
            )


def set_password_hash(db: Database, username: str, password_hash: str) -> None:
    """Replace a user's password hash; NotFound when there is no such user."""
    with db.write() as session:
        row = session.scalars(
            select(User).where(User.username == username).with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFound(f"There is no user {username!r}.")
        row.password_hash = password_hash
