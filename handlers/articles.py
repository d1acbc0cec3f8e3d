"""/articles and /articles/{articleId}."""

from typing import Any

import flask

from auth.principal import ARTICLES_WRITE, caller
from store import articles
from web import representations, services, urls
from web.conditional import etag, expected_versions
from web.idempotency import idempotent
from web.negotiation import body_media_type, no_content, respond


def list_articles(
    limit: int = 20, cursor: str | None = None, author: str | None = None, q: str | None = None
) -> flask.Response:
    """A page of articles, with a `Link` to the next one."""
    page = articles.page(services.current().db, limit, cursor, author=author, q=q)
    filters = {"author": author, "q": q}
    headers = representations.next_link(urls.ARTICLES, page, limit, filters)
    return respond(representations.article_page(page, limit, filters), headers=headers)


@idempotent
def post_article(body: dict[str, Any], token_info: dict[str, Any]) -> flask.Response:
    """Create an article; the caller is its author."""
    author = caller(token_info, scope=ARTICLES_WRITE)
    article = articles.create(
        services.current().db, author_id=author.user_id, title=body["title"], body=body["body"]
    )
    return respond(
        representations.article(article),
        status=201,
        headers={"Location": urls.article(article.id)},
        etag=etag(article.version),
        prefer=body_media_type(),
    )


def get_article(article_id: int) -> flask.Response:
    """One article."""
    article = articles.get(services.current().db, article_id)
    return respond(representations.article(article), etag=etag(article.version))


def put_article(
    article_id: int,
    body: dict[str, Any],
    token_info: dict[str, Any],
) -> flask.Response:
    """Replace an article's title and body."""
    return _change(article_id, token_info, title=body["title"], body=body["body"])


def patch_article(
    article_id: int,
    body: dict[str, Any],
    token_info: dict[str, Any],
) -> flask.Response:
    """Apply a JSON merge patch to an article."""
    return _change(article_id, token_info, title=body.get("title"), body=body.get("body"))


def delete_article(article_id: int, token_info: dict[str, Any]) -> flask.Response:
    """Delete an article."""
    editor = caller(token_info, scope=ARTICLES_WRITE)
    articles.delete(
        services.current().db,
        article_id,
        author_id=editor.editable_author,
        expected=expected_versions(),
    )
    return no_content()


def _change(
    article_id: int, token_info: dict[str, Any], *, title: str | None, body: str | None
) -> flask.Response:
    editor = caller(token_info, scope=ARTICLES_WRITE)
    article = articles.update(
        services.current().db,
        article_id,
        author_id=editor.editable_author,
        expected=expected_versions(),
        title=title,
        body=body,
    )
    return respond(
        representations.article(article), etag=etag(article.version), prefer=body_media_type()
    )
