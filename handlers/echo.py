"""/echo: every HTTP method."""

import flask

from web import representations
from web.bodies import describe_request
from web.marks import inline
from web.negotiation import respond


def _echo() -> flask.Response:
    return respond(representations.echo(describe_request()))


@inline
def get_echo() -> flask.Response:
    """Echo a GET."""
    return _echo()


@inline
def post_echo() -> flask.Response:
    """Echo a POST."""
    return _echo()


@inline
def put_echo() -> flask.Response:
    """Echo a PUT."""
    return _echo()


@inline
def patch_echo() -> flask.Response:
    """Echo a PATCH."""
    return _echo()


@inline
def delete_echo() -> flask.Response:
    """Echo a DELETE."""
    return _echo()
