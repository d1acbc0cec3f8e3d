"""GET /."""

import flask

from web import representations
from web.negotiation import respond


def get_index() -> flask.Response:
    """The welcome text or the resource index."""
    return respond(representations.index())
