"""/livez, /healthz (its deprecated name), /readyz and /metrics."""

import flask

from web import representations, services
from web.marks import inline
from web.negotiation import NO_STORE, respond


@inline
def get_livez() -> flask.Response:
    """Alive: the process answers."""
    return respond(representations.health(), headers=NO_STORE)


@inline
def get_healthz() -> flask.Response:
    """/livez under its deprecated name (web.deprecation adds the headers that say so)."""
    return get_livez()


@inline
def get_metrics() -> flask.Response:
    """Prometheus metrics of this process."""
    return respond(representations.metrics(services.current().metrics.exposition()))


def get_readyz() -> flask.Response:
    """Ready: the database answers and has room, Redis (when configured) answers."""
    services.current().check_ready()
    return respond(representations.health(), headers=NO_STORE)
