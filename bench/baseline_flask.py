"""The benchmark's floor to beat: the same five endpoints in plain Flask, no spec, no validation.

Same database, same `store` and `auth` code, same response bodies as the service; what it lacks
is everything the contract adds (request validation, problem responses, security schemes,
content negotiation, request ids, access log, metrics). Served by gunicorn's sync worker:

    DATABASE_URL=sqlite:///./build/bench/http.db gunicorn -w 1 bench.baseline_flask:app

Not part of the service: nothing here is routed by app.py.
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response, request

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
app = Flask(__name__, static_folder=None)


@app.get("/hello")
def hello() -> Response:
    return Response(f"Hello {request.args.get('name') or 'John Doe'}", mimetype="text/plain")


@app.post("/messages")
def post_message() -> Response:
    content = request.get_data()
    payload = request.get_json()
    info = messages.create(db, media_type="application/json", content=content)
    response = Response(f"JSON Message: {json.dumps(payload)}", status=201, mimetype="text/plain")
    response.headers["Location"] = f"/messages/{info.id}"
    return response


@app.get("/articles/<int:article_id>")
def get_article(article_id: int) -> Response | tuple[dict[str, str], int]:
    try:
        article = articles.get(db, article_id)
    except NotFound:
        return {"detail": "no such article"}, 404
    body = {
        "id": article.id,
        "title": article.title,
        "body": article.body,
        "author": article.author,
    }
    response = Response(json.dumps(body), mimetype="application/json")
    response.headers["ETag"] = f'"{article.version}"'
    return response


@app.get("/articles")
def list_articles() -> Response:
    limit = int(request.args.get("limit", 20))
    page = articles.page(db, limit, request.args.get("cursor"), author=None, q=None)
    links: dict[str, dict[str, str]] = {"self": {"href": "/articles"}}
    headers = {}
    if page.next_cursor is not None:
        next_href = f"/articles?limit={limit}&cursor={page.next_cursor}"
        links["next"] = {"href": next_href}
        headers["Link"] = f'<{next_href}>; rel="next"'
    items = [{"id": a.id, "title": a.title, "body": a.body, "author": a.author} for a in page.items]
    body = {"items": items, "links": links}
    return Response(json.dumps(body), mimetype="application/json", headers=headers)


@app.get("/secrets")
def secret() -> Response:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    address = request.remote_addr or "unknown"
    if scheme.lower() != "bearer" or not token:
        return Response("Unauthorized", status=401, headers={"WWW-Authenticate": "Bearer"})
    if authenticate.bearer(db, throttle, recent, address=address, token=token).principal is None:
        return Response("Unauthorized", status=401, headers={"WWW-Authenticate": "Bearer"})
    response = Response("Shhh this is top secret spy stuff!", mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response
