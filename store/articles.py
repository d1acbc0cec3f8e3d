"""Articles: queries and writes; every change is a compare-and-swap on the article's version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from errors import NotFound, PreconditionFailed
from store.db import Database
from store.models import Article, User
from store.pagination import Page, decode_cursor, paginate
from store.types import utcnow

# None: any version will do (`If-Match: *`); otherwise the versions the client holds.
Expected = frozenset[int] | None


@dataclass(frozen=True)
class ArticleRecord:
    """An article as the rest of the service sees it."""

    id: int
    title: str
    body: str
    author: str
    author_id: int
    created_at: datetime
    updated_at: datetime
    version: int


def _record(row: Article) -> ArticleRecord:
    return ArticleRecord(
        id=row.id,
        title=row.title,
        body=row.body,
        author=row.author.username,
        author_id=row.author_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def get(db: Database, article_id: int) -> ArticleRecord:
    """The article with this id; NotFound otherwise."""
    with db.read() as session:
        row = session.get(Article, article_id)
        if row is None:
            raise NotFound(f"There is no article {article_id}.")
        return _record(row)


def page(
    db: Database,
    limit: int,
    cursor: str | None,
    *,
    author: str | None = None,
    q: str | None = None,
) -> Page[ArticleRecord]:
    """Articles by ascending id after the cursor, `limit` at a time, optionally filtered."""
    query: Select[Article] = select(Article).where(Article.id > decode_cursor(cursor))
    if author is not None:
        query = query.join(User, Article.author_id == User.id).where(User.username == author)
    if q is not None:
        query = query.where(Article.title.icontains(q, autoescape=True))
    with db.read() as session:
        rows = [
            _record(row) for row in session.scalars(query.order_by(Article.id).limit(limit + 1))
        ]
    return paginate(rows, limit)


def create(db: Database, *, author_id: int, title: str, body: str) -> ArticleRecord:
    """Store a new article and return it."""
    with db.write() as session:
        row = Article(author_id=author_id, title=title, body=body)
        session.add(row)
        session.flush()
        session.refresh(row)
        return _record(row)


def _current(
    session: Session, article_id: int, author_id: int | None, expected: Expected
) -> Article:
    """The article, locked, if the caller may change it and holds its current version."""
    row = session.get(Article, article_id, with_for_update={"of": Article})
    if row is None or (author_id is not None and row.author_id != author_id):
        raise NotFound(f"There is no article {article_id}.")
    if expected is not None and row.version not in expected:
        raise PreconditionFailed(
            f"Article {article_id} has changed since; read it again for its current ETag."
        )
    return row


def update(
    db: Database,
    article_id: int,
    *,
    author_id: int | None,
    expected: Expected,
    title: str | None = None,
    body: str | None = None,
) -> ArticleRecord:
    """Change an article's title and/or body, if `expected` holds its current version.

    `author_id` limits the change to that author's articles (None: anyone's). Writers are
    serialised on the row (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT ... FOR UPDATE), so of
    several writers holding the same version exactly one succeeds.
    """
    with db.write() as session:
        row = _current(session, article_id, author_id, expected)
        if title is not None:
            row.title = title
        if body is not None:
            row.body = body
        row.version += 1
        row.updated_at = utcnow()
        session.flush()
        return _record(row)


def delete(db: Database, article_id: int, *, author_id: int | None, expected: Expected) -> None:
    """Delete an article, on the same terms as `update`."""
    with db.write() as session:
        session.delete(_current(session, article_id, author_id, expected))
