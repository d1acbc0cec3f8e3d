"""/articles and /articles/{articleId}."""

from typing import Any

import flask

from auth.principal import Principal, require_admin
from store import articles
from web import representations, services
from web.negotiation import respond


def list_articles(limit: int = 20, cursor: str | None = None) -> flask.Response:
    """A page of articles, with a `Link` to the next one."""
    page = articles.page(services.current().db, limit, cursor)
    headers = {}
    if page.next_cursor is not None:
        headers["Link"] = (
            f'<{representations.next_page_href("/articles", page, limit)}>; rel="next"'
        )
    return respond(representations.article_page(page, limit), headers=headers)


def post_article(body: dict[str, Any], token_info: dict[str, Any]) -> flask.Response:
    """Create an article as the caller (an admin)."""
    author = Principal.from_token_info(token_info)
    require_admin(author)
    article = articles.create(
        services.current().db, author_id=author.user_id, title=body["title"], body=body["body"]
    )
    location = {"Location": f"/articles/{article.id}"}
    return respond(representations.article(article), status=201, headers=location)


def get_article(articleId: int) -> flask.Response:  # noqa: N803 (the spec's parameter name)
    """One article."""
    return respond(representations.article(articles.get(services.current().db, articleId)))
