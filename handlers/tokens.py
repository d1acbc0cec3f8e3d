"""POST /tokens."""

from typing import Any

import flask

from auth import authenticate
from auth.principal import Principal
from web import representations, services
from web.negotiation import respond

NO_STORE = {"Cache-Control": "no-store"}


def post_token(token_info: dict[str, Any]) -> flask.Response:
    """Issue a Bearer token to the caller."""
    app = services.current()
    token = authenticate.issue_token(
        app.db, Principal.from_token_info(token_info), app.settings.token_ttl_seconds
    )
    return respond(representations.issued_token(token), status=201, headers=NO_STORE)
