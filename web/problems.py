"""Every failure, ours or the framework's, rendered as RFC 9457 problem+json in one place."""

from __future__ import annotations

import http
import json
import logging
import traceback
from typing import Any

from connexion import FlaskApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from werkzeug.datastructures import Headers

from errors import DependencyUnavailable, DomainError, InsufficientStorage, UnsupportedMediaType
from store.db import is_storage_full
from web.request_context import CLIENT_CLOSED_REQUEST, ClientDisconnected
from web.routes import Routes

PROBLEM_JSON = "application/problem+json"
CHALLENGES = ('Basic realm="Example", charset="UTF-8"', 'Bearer realm="Example"')
RETRY_AFTER_SECONDS = 5
FULL_RETRY_AFTER_SECONDS = 30
DATABASE_DOWN = "The database cannot be reached; nothing was changed. Try again shortly."
UNSTORABLE = "The request holds a value the database cannot store; nothing was changed."
GENERIC_500 = (
    "The server met an unexpected condition; the request id in X-Request-ID helps find it."
)

logger = logging.getLogger("articles_api.problems")


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _database_unavailable(exc: Exception) -> bool:
    """A failure to reach the database (refused, dropped, timed out), not a bad query."""
    return isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def _parts(exc: Exception) -> tuple[int, str, str | None, dict[str, str]]:
    """Status, title, detail and headers of any exception."""
    if isinstance(exc, ClientDisconnected | ClientDisconnect):
        return CLIENT_CLOSED_REQUEST, "Client Closed Request", None, {}
    if isinstance(exc, DBAPIError) and is_storage_full(exc):
        exc = InsufficientStorage(retry_after=FULL_RETRY_AFTER_SECONDS)
    if _database_unavailable(exc):
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return 503, _phrase(503), DATABASE_DOWN, headers
    if isinstance(exc, DataError):  # SQLSTATE class 22: a value validation let through
        return 400, _phrase(400), UNSTORABLE, {}
    if isinstance(exc, DomainError):
        return exc.status, exc.title, exc.detail, dict(exc.headers)
    if isinstance(exc, ProblemException):
        return exc.status, exc.title or _phrase(exc.status), exc.detail, dict(exc.headers or {})
    if isinstance(exc, HTTPException):
        return exc.status_code, _phrase(exc.status_code), exc.detail, dict(exc.headers or {})
    return 500, _phrase(500), None, {}


def _framework_detail(status: int, request: ConnexionRequest, routes: Routes) -> str | None:
    """Our wording for the framework's routing errors, which say nothing useful."""
    path, method = request.url.path, request.method
    if status == 404:
        return "Nothing lives at this URL; GET / lists the resources."
    if status == 405:
        return f"{method} is not allowed here; use {routes.allow_header(path)}."
    return None


def _challenges(request: ConnexionRequest) -> list[str]:
    """A 401's WWW-Authenticate challenges; none for Basic to a script in a web page, which
    says so with X-Requested-With, since that challenge opens the browser's own login dialog."""
    basic, bearer = CHALLENGES
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        bearer += ', error="invalid_token"'
    if request.headers.get("x-requested-with", "").lower() == "xmlhttprequest":
        return [bearer]
    return [basic, bearer]


def install(app: FlaskApp, routes: Routes, *, debug: bool) -> None:
    """Make every exception that reaches connexion's exception middleware a problem response."""

    def render(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        status, title, detail, extra_headers = _parts(exc)
        if status == 415 and not isinstance(exc, DomainError):
            # connexion's validation found it: worded, with its header, as every 415 is.
            path, method = request.url.path, request.method
            exc = UnsupportedMediaType(
                request.headers.get("content-type", ""),
                routes.accepted_media_types(path, method),
                method=method,
            )
            status, title, detail, extra_headers = _parts(exc)
        if not isinstance(exc, DomainError):
            detail = _framework_detail(status, request, routes) or detail
        body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
        headers = Headers(extra_headers)
        if status == CLIENT_CLOSED_REQUEST:
            logger.info("the client closed the connection before its request was complete")
        elif status == 507:
            logger.error("the database is full: %s", type(exc).__name__)
        elif isinstance(exc, DependencyUnavailable):
            logger.error("%s unavailable: %s", exc.dependency, exc.cause)
        elif status == 503 and isinstance(exc, DomainError):
            logger.warning("503 %s", exc.detail)
        elif status == 503:
            logger.error("database unavailable: %s", type(exc).__name__)
        elif isinstance(exc, DataError):
            # Not its text: even without parameters it may quote the value.
            logger.warning("the database refused a value (%s); a validation is missing", status)
        elif status >= 500:
            logger.error("unhandled %s", type(exc).__name__, exc_info=exc)
            detail = "".join(traceback.format_exception(exc)) if debug else GENERIC_500
        else:
            # Not the detail: connexion's validation details echo the client's input.
            logger.info("%s %s", status, title)
        if detail:
            body["detail"] = detail
        if isinstance(exc, DomainError):
            body.update(exc.extensions)
        if status == 401:
            body["message"] = "Authenticate."
            headers.remove("WWW-Authenticate")
            for challenge in _challenges(request):
                headers.add("WWW-Authenticate", challenge)
        if status == 404:
            body["message"] = f"Not Found: {request.url}"
        if status == 405:
            headers["Allow"] = routes.allow_header(request.url.path)
        return ConnexionResponse(
            status_code=status,
            mimetype=PROBLEM_JSON,
            content_type=PROBLEM_JSON,
            body=json.dumps(body),
            headers=headers,
        )

    for exception_class in (DomainError, ProblemException, HTTPException, Exception):
        app.add_error_handler(exception_class, render)
