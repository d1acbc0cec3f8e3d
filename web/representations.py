"""How each resource looks in each media type the spec declares for it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from auth.authenticate import IssuedToken
from store.articles import ArticleRecord
from store.messages import MessageInfo, StoredMessage
from store.pagination import HasId, Page
from store.tokens import TokenRecord
from store.users import UserRecord
from web import urls
from web.bodies import IncomingMessage
from web.negotiation import JSON, TEXT, V2, Representations

API_LINKS = {
    "self": urls.INDEX,
    "articles": urls.ARTICLES,
    "hello": urls.HELLO,
    "echo": urls.ECHO,
    "messages": urls.MESSAGES,
    "secrets": urls.SECRETS,
    "tokens": urls.TOKENS,
    "livez": urls.LIVEZ,
    "readyz": urls.READYZ,
    "service-desc": urls.SPEC_DOCUMENT,
    "service-doc": urls.DOCS,
}


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


Filters = Mapping[str, str | None]
T = TypeVar("T", bound=HasId)


def _page_links(path: str, page: Page[Any], limit: int, filters: Filters) -> dict[str, Any]:
    links: dict[str, Any] = {"self": {"href": path}}
    if page.next_cursor is not None:
        links["next"] = {"href": next_page_href(path, page, limit, filters)}
    return links


def next_page_href(path: str, page: Page[Any], limit: int, filters: Filters | None = None) -> str:
    """Where the page after this one is, with the same filters."""
    query = {name: value for name, value in (filters or {}).items() if value is not None}
    return f"{path}?{urlencode({'limit': limit, **query, 'cursor': page.next_cursor})}"


def next_link(
    path: str, page: Page[Any], limit: int, filters: Filters | None = None
) -> dict[str, str]:
    """The RFC 8288 `Link` header to the next page, when there is one."""
    if page.next_cursor is None:
        return {}
    return {"Link": f'<{next_page_href(path, page, limit, filters)}>; rel="next"'}


def _json_page(
    path: str, page: Page[T], limit: int, item: Callable[[T], Any], filters: Filters | None = None
) -> dict[str, Any]:
    return {
        "items": [item(entry) for entry in page.items],
        "links": _page_links(path, page, limit, filters or {}),
    }


def health() -> Representations:
    """A probe's answer."""
    return {JSON: lambda: {"status": "ok"}}


def metrics(exposition: str) -> Representations:
    """Prometheus' text exposition."""
    return {TEXT: lambda: exposition}


def index() -> Representations:
    """The entry point: `Welcome`, or the resources' links."""
    links = {name: {"href": href} for name, href in API_LINKS.items()}
    return {TEXT: lambda: "Welcome", JSON: lambda: {"title": "Articles API", "links": links}}


def _article_json(article: ArticleRecord) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "body": article.body,
        "author": article.author,
    }


def _article_v2(article: ArticleRecord) -> dict[str, Any]:
    return {
        **_article_json(article),
        "created_at": _timestamp(article.created_at),
        "updated_at": _timestamp(article.updated_at),
        "links": {
            "self": {"href": urls.article(article.id)},
            "author": {"href": urls.user(article.author_id)},
            "collection": {"href": urls.ARTICLES},
        },
    }


def article(article: ArticleRecord) -> Representations:
    """One article: the tutorial's text, JSON, or the v2 vendor type."""
    return {
        TEXT: lambda: f"You are reading {article.id}\n{article.title}\n\n{article.body}\n",
        JSON: lambda: _article_json(article),
        V2: lambda: _article_v2(article),
    }


def article_page(page: Page[ArticleRecord], limit: int, filters: Filters) -> Representations:
    """A page of articles: the tutorial's text listing, or a JSON page with links."""
    lines = "".join(f"{item.id}\t{item.title}\n" for item in page.items)
    return {
        TEXT: lambda: f"List of {urls.ARTICLES}\n{lines}",
        JSON: lambda: _json_page(urls.ARTICLES, page, limit, _article_json, filters),
    }


def hello(name: str | None) -> Representations:
    """The tutorial's greeting."""
    return {
        TEXT: lambda: f"Hello {name or 'John Doe'}",
        JSON: lambda: {"hello": name or "world", "number": 3},
    }


def echo(description: dict[str, Any]) -> Representations:
    """The tutorial's echo, or the whole request as JSON."""
    return {TEXT: lambda: f"ECHO: {description['method']}\n", JSON: lambda: description}


def _message_json(info: MessageInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "media_type": info.media_type,
        "size": info.size,
        "sha256": info.sha256,
        "filename": info.filename,
        "created_at": _timestamp(info.created_at),
        "links": {"self": {"href": urls.message(info.id)}},
    }


def message_receipt(incoming: IncomingMessage, info: MessageInfo) -> Representations:
    """What POST /messages answers: the tutorial's line for each kind of body, or the metadata."""
    lines = {
        "text": lambda: f"Text Message: {incoming.text}",
        "json": lambda: f"JSON Message: {incoming.text}",
        "binary": lambda: "Binary message written!",
        "file": lambda: f"File message written: {info.filename} ({info.size} bytes)",
    }
    return {TEXT: lines[incoming.kind], JSON: lambda: _message_json(info)}


INLINE_MEDIA_TYPES = frozenset({TEXT, JSON})


def download_headers(info: MessageInfo) -> dict[str, str]:
    """Anything but plain text and JSON is served as an attachment, never rendered in place."""
    if info.media_type in INLINE_MEDIA_TYPES:
        return {}
    name = "".join(c for c in info.filename or "" if c.isprintable()) or f"message-{info.id}"
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in name)
    value = f'attachment; filename="{fallback}"'
    if fallback != name:  # RFC 6266: the exact name, UTF-8 and percent-encoded
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return {"Content-Disposition": value}


def message_content(message: StoredMessage) -> Representations:
    """A stored message: its bytes in its own media type (text was checked to be UTF-8)."""
    if message.info.media_type == TEXT:
        return {TEXT: lambda: message.content.decode("utf-8")}
    return {message.info.media_type: lambda: message.content}


def message_page(page: Page[MessageInfo], limit: int) -> Representations:
    """A page of message metadata."""
    return {JSON: lambda: _json_page(urls.MESSAGES, page, limit, _message_json)}


def _user_profile(user: UserRecord) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "created_at": _timestamp(user.created_at)}


def user(user: UserRecord) -> Representations:
    """The tutorial's `{"<id>": "<username>"}`, or the v2 profile."""
    return {JSON: lambda: {str(user.id): user.username}, V2: lambda: _user_profile(user)}


def user_profile(user: UserRecord) -> Representations:
    """A user's profile, as created."""
    return {JSON: lambda: _user_profile(user)}


def user_page(page: Page[UserRecord], limit: int) -> Representations:
    """A page of user profiles."""
    return {JSON: lambda: _json_page(urls.USERS, page, limit, _user_profile)}


def secret() -> Representations:
    """The tutorial's secret."""
    return {TEXT: lambda: "Shhh this is top secret spy stuff!"}


def _token_info(token: TokenRecord) -> dict[str, Any]:
    return {
        "id": token.id,
        "scopes": sorted(token.scopes),
        "created_at": _timestamp(token.created_at),
        "expires_at": _timestamp(token.expires_at),
    }


def issued_token(token: IssuedToken) -> Representations:
    """A new token, as an OAuth 2.0-style token response."""
    return {
        JSON: lambda: {
            "id": token.record.id,
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": token.expires_in,
            "expires_at": _timestamp(token.expires_at),
            "scopes": sorted(token.record.scopes),
        }
    }


def token_page(page: Page[TokenRecord], limit: int) -> Representations:
    """A page of the caller's tokens, without their values."""
    return {JSON: lambda: _json_page(urls.TOKENS, page, limit, _token_info)}
