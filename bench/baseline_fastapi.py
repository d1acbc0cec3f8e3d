"""The benchmark's peer: the same five endpoints as a FastAPI user would write them.

Idiomatic FastAPI: pydantic models for the JSON bodies and responses, the database as a
dependency, `def` endpoints for the ones that touch the database (FastAPI runs those in its
thread pool), `async def` for the rest; the same SQLAlchemy-based `store` and `auth` code and
the same response bodies as bench.baseline_flask. Served by uvicorn, one worker, no access log:

    DATABASE_URL=sqlite:///./build/bench/http.db uvicorn --no-access-log bench.baseline_fastapi:app

Not part of the service: nothing here is routed by app.py.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict

from auth import authenticate
from auth.passwords import RecentChecks
from auth.throttle import FailedLogins, MemoryStore, Policy
from errors import NotFound
from store import articles, messages
from store.db import Database

_db = Database(os.environ["DATABASE_URL"])
unlimited = Policy("unlimited", 1_000_000, 60)
throttle = FailedLogins(MemoryStore(), address=unlimited, account=unlimited)
recent = RecentChecks(0, 0)
app = FastAPI(docs_url=None, redoc_url=None)


def database() -> Database:
    return _db


DB = Annotated[Database, Depends(database)]


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")


class Article(BaseModel):
    id: int
    title: str
    body: str
    author: str


class Link(BaseModel):
    href: str


class ArticlePage(BaseModel):
    items: list[Article]
    links: dict[str, Link]


@app.get("/hello", response_class=PlainTextResponse)
async def hello(name: str | None = None) -> str:
    return f"Hello {name or 'John Doe'}"


@app.post("/messages", status_code=201, response_class=PlainTextResponse)
def post_message(message: Message, request: Request, response: Response, db: DB) -> str:
    payload: dict[str, Any] = message.model_dump()
    content = json.dumps(payload).encode()
    info = messages.create(db, media_type="application/json", content=content)
    response.headers["Location"] = f"/messages/{info.id}"
    return f"JSON Message: {json.dumps(payload)}"


@app.get("/articles/{article_id}")
def get_article(article_id: int, response: Response, db: DB) -> Article:
    try:
        article = articles.get(db, article_id)
    except NotFound:
        raise HTTPException(404, "no such article") from None
    response.headers["ETag"] = f'"{article.version}"'
    return Article(id=article.id, title=article.title, body=article.body, author=article.author)


@app.get("/articles")
def list_articles(
    response: Response, db: DB, limit: int = 20, cursor: str | None = None
) -> ArticlePage:
    page = articles.page(db, limit, cursor, author=None, q=None)
    links = {"self": Link(href="/articles")}
    if page.next_cursor is not None:
        next_href = f"/articles?limit={limit}&cursor={page.next_cursor}"
        links["next"] = Link(href=next_href)
        response.headers["Link"] = f'<{next_href}>; rel="next"'
    items = [Article(id=a.id, title=a.title, body=a.body, author=a.author) for a in page.items]
    return ArticlePage(items=items, links=links)


@app.get("/secrets", response_class=PlainTextResponse)
def secret(
    request: Request, response: Response, db: DB, authorization: Annotated[str, Header()] = ""
) -> str:
    scheme, _, token = authorization.partition(" ")
    address = request.client.host if request.client else "unknown"
    if (
        scheme.lower() != "bearer"
        or not token
        or authenticate.bearer(db, throttle, recent, address=address, token=token).principal is None
    ):
        raise HTTPException(401, "Unauthorized", headers={"WWW-Authenticate": "Bearer"})
    response.headers["Cache-Control"] = "no-store"
    return "Shhh this is top secret spy stuff!"
