"""Articles: queries and writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from errors import NotFound
from store.db import Database
from store.models import Article
from store.pagination import Page, decode_cursor, paginate


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


def _record(row: Article) -> ArticleRecord:
    return ArticleRecord(
        id=row.id,
        title=row.title,
        body=row.body,
        author=row.author.username,
        author_id=row.author_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get(db: Database, article_id: int) -> ArticleRecord:
    """The article with this id; NotFound otherwise."""
    with db.read() as session:
        row = session.get(Article, article_id)
        if row is None:
            raise NotFound(f"There is no article {article_id}.")
        return _record(row)


def page(db: Database, limit: int, cursor: str | None) -> Page[ArticleRecord]:
    """Articles by ascending id, `limit` at a time, after the cursor's position."""
    after = decode_cursor(cursor)
    query = select(Article).where(Article.id > after).order_by(Article.id).limit(limit + 1)
    with db.read() as session:
        rows = [_record(row) for row in session.scalars(query)]
    return paginate(rows, limit)


def create(db: Database, *, author_id: int, title: str, body: str) -> ArticleRecord:
    """Store a new article and return it."""
    with db.write() as session:
        row = Article(author_id=author_id, title=title, body=body)
        session.add(row)
        session.flush()
        session.refresh(row)
        return _record(row)
