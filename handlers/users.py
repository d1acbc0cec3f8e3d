"""/users and /users/{userId}."""

from typing import Any

import flask

from auth import authenticate
from auth.principal import caller
from store import users
from web import representations, services, urls
from web.idempotency import idempotent
from web.negotiation import no_content, respond


def list_users(limit: int = 20, cursor: str | None = None) -> flask.Response:
    """A page of user profiles."""
    page = users.page(services.current().db, limit, cursor)
    headers = representations.next_link(urls.USERS, page, limit)
    return respond(representations.user_page(page, limit), headers=headers)


@idempotent
def post_user(body: dict[str, Any], token_info: dict[str, Any]) -> flask.Response:
    """Create a user (admins only)."""
    caller(token_info, admin=True)
    app = services.current()
    user = authenticate.register(app.db, app.passwords, body["username"], body["password"])
    location = {"Location": urls.user(user.id)}
    return respond(representations.user_profile(user), status=201, headers=location)


def get_user(user_id: int) -> flask.Response:
    """The tutorial's `{"<id>": "<username>"}`, or the v2 profile."""
    return respond(representations.user(users.get(services.current().db, user_id)))


def delete_user(user_id: int, token_info: dict[str, Any]) -> flask.Response:
    """Delete a user (admins only)."""
    caller(token_info, admin=True)
    app = services.current()
    users.delete(app.db, user_id, protected_username=app.settings.admin_username)
    return no_content()
