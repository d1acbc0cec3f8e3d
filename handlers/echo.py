"""/echo: every HTTP method."""

import flask

from web import representations
from web.bodies import describe_request
from web.negotiation import respond


def _echo() -> flask.Response:
    return respond(representations.echo(describe_request()))


def get_echo() -> flask.Response:
    """Echo a GET."""
    return _echo()


def post_echo() -> flask.Response:
    """Echo a POST."""
    return _echo()


def put_echo() -> flask.Response:
    """Echo a PUT."""
    return _echo()


def patch_echo() -> flask.Response:
    """Echo a PATCH."""
    return _echo()


def delete_echo() -> flask.Response:
    """Echo a DELETE."""
    return _echo()
