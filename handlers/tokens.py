"""/tokens and /tokens/{tokenId}."""

from typing import Any

import flask

from auth import authenticate
from auth.principal import caller
from store import tokens
from store.types import utcnow
from web import representations, services, urls
from web.idempotency import idempotent
from web.negotiation import NO_STORE, no_content, respond


@idempotent
def post_token(token_info: dict[str, Any], body: dict[str, Any] | None = None) -> flask.Response:
    """Issue a Bearer token to the caller."""
    request = body or {}
    token = authenticate.issue_token(
        services.current().db,
        caller(token_info),
        expires_in=request.get("expires_in", authenticate.DEFAULT_TOKEN_SECONDS),
        scopes=request.get("scopes"),
    )
    headers = {**NO_STORE, "Location": urls.token(token.record.id)}
    return respond(representations.issued_token(token), status=201, headers=headers)


def list_tokens(
    token_info: dict[str, Any], limit: int = 20, cursor: str | None = None
) -> flask.Response:
    """The caller's unexpired tokens, without their values."""
    owner = caller(token_info)
    page = tokens.page(services.current().db, owner.user_id, utcnow(), limit, cursor)
    headers = {**NO_STORE, **representations.next_link(urls.TOKENS, page, limit)}
    return respond(representations.token_page(page, limit), headers=headers)


def delete_token(token_id: int, token_info: dict[str, Any]) -> flask.Response:
    """Revoke one of the caller's tokens."""
    tokens.revoke(services.current().db, token_id, user_id=caller(token_info).user_id)
    return no_content()
