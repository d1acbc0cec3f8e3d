"""GET /secrets."""

import flask

from web import representations
from web.marks import inline
from web.negotiation import NO_STORE, respond


@inline
def get_secret() -> flask.Response:
    """The secret, for any authenticated caller (the spec's security does the checking)."""
    return respond(representations.secret(), headers=NO_STORE)
