"""The benchmark's ceiling: the same five endpoints in raw Starlette, on the event loop.

Same database, `store` and `auth` code and response bodies as bench.baseline_flask; database
calls run inline (blocking the loop), which no real service should do but which bounds what an
ASGI stack can reach on one core:

    DATABASE_URL=sqlite:///./build/bench/http.db uvicorn bench.ceiling_starlette:app

Not part of the service: nothing here is routed by app.py.
"""

from __future__ import annotations

import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from auth import authenticate
from auth.passwords import RecentChecks
from auth.throttle import FailedLogins, MemoryStore, Policy
from errors import NotFound
from store import articles, messages
from store.db import Database

db = Database(os.environ["DATABASE_URL"])
unlimited = Policy("unlimited", 1_000_000, 60)
throttle = FailedLogins(MemoryStore(), address=unlimited, account=unlimited)
recent = RecentChecks(0, 0)


async def hello(request: Request) -> Response:
    return PlainTextResponse(f"Hello {request.query_params.get('name') or 'John Doe'}")


async def post_message(request: Request) -> Response:
    content = await request.body()
    payload = json.loads(content)
    info = messages.create(db, media_type="application/json", content=content)
    return PlainTextResponse(
        f"JSON Message: {json.dumps(payload)}",
        status_code=201,
        headers={"Location": f"/messages/{info.id}"},
    )


async def get_article(request: Request) -> Response:
    try:
        article = articles.get(db, request.path_params["article_id"])
    except NotFound:
        return JSONResponse({"detail": "no such article"}, status_code=404)
    body = {
        "id": article.id,
        "title": article.title,
        "body": article.body,
        "author": article.author,
    }
    return Response(
        json.dumps(body), media_type="application/json", headers={"ETag": f'"{article.version}"'}
    )


async def list_articles(request: Request) -> Response:
    limit = int(request.query_params.get("limit", 20))
    page = articles.page(db, limit, request.query_params.get("cursor"), author=None, q=None)
    links: dict[str, dict[str, str]] = {"self": {"href": "/articles"}}
    headers = {}
    if page.next_cursor is not None:
        next_href = f"/articles?limit={limit}&cursor={page.next_cursor}"
        links["next"] = {"href": next_href}
        headers["Link"] = f'<{next_href}>; rel="next"'
    items = [{"id": a.id, "title": a.title, "body": a.body, "author": a.author} for a in page.items]
    body = {"items": items, "links": links}
    return Response(json.dumps(body), media_type="application/json", headers=headers)


async def secret(request: Request) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    address = request.client.host if request.client else "unknown"
    if (
        scheme.lower() != "bearer"
        or not token
        or authenticate.bearer(db, throttle, recent, address=address, token=token).principal is None
    ):
        return PlainTextResponse("Unauthorized", 401, headers={"WWW-Authenticate": "Bearer"})
    return PlainTextResponse(
        "Shhh this is top secret spy stuff!", headers={"Cache-Control": "no-store"}
    )


app = Starlette(
    routes=[
        Route("/hello", hello, methods=["GET"]),
        Route("/messages", post_message, methods=["POST"]),
        Route("/articles/{article_id:int}", get_article, methods=["GET"]),
        Route("/articles", list_articles, methods=["GET"]),
        Route("/secrets", secret, methods=["GET"]),
    ]
)
