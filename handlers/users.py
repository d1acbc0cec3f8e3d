"""/users/{userId}."""

import flask

from store import users
from web import representations, services
from web.negotiation import respond


def get_user(userId: int) -> flask.Response:  # noqa: N803 (the spec's parameter name)
    """The tutorial's `{"<id>": "<username>"}`."""
    return respond(representations.user_entry(users.get(services.current().db, userId)))
