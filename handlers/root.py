"""GET /."""

import flask

from web import representations
from web.marks import inline
from web.negotiation import respond


@inline
def get_index() -> flask.Response:
    """The welcome text or the resource index."""
    return respond(representations.index())
