"""GET /hello."""

import flask

from web import representations, urls
from web.marks import inline
from web.negotiation import respond

SERVICE_DESC = f'<{urls.SPEC_DOCUMENT}>; rel="service-desc"'


@inline
def get_hello(name: str | None = None) -> flask.Response:
    """The tutorial's greeting, with a `Link` to the API description."""
    return respond(representations.hello(name), headers={"Link": SERVICE_DESC})
