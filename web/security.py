"""The callbacks the spec's security schemes name; they run before handlers, off the event loop."""

from __future__ import annotations

from typing import Any

from connexion.lifecycle import ConnexionRequest
from starlette.concurrency import run_in_threadpool

from auth import authenticate
from auth.authenticate import Checked
from web.services import of_scope, response_headers


def _utf8(latin1: str) -> str:
    """Undo connexion's latin-1 decoding of Basic credentials; RFC 7617 says UTF-8."""
    raw = latin1.encode("latin-1")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return latin1


def _address(request: ConnexionRequest) -> str:
    client = request.scope.get("client")
    return str(client[0]) if client else "unknown"


def _answer(request: ConnexionRequest, checked: Checked) -> dict[str, Any] | None:
    """connexion's token_info for the principal (None: 401), the check's headers set aside for
    the response, whatever its status."""
    if checked.headers:
        response_headers(request.scope).update(checked.headers)
    return None if checked.principal is None else checked.principal.as_token_info()


async def check_basic(
    username: str, password: str, request: ConnexionRequest
) -> dict[str, Any] | None:
    """The caller behind HTTP Basic credentials, or None (401); 429 after too many failures."""
    services = of_scope(request.scope)
    checked = await run_in_threadpool(
        authenticate.basic,
        services.db,
        services.passwords,
        services.throttle,
        services.recent,
        services.admin_password,
        address=_address(request),
        username=_utf8(username),
        password=_utf8(password),
    )
    return _answer(request, checked)


async def check_bearer(token: str, request: ConnexionRequest) -> dict[str, Any] | None:
    """The caller behind a Bearer token, or None (401); 429 after too many failures."""
    services = of_scope(request.scope)
    checked = await run_in_threadpool(
        authenticate.bearer,
        services.db,
        services.throttle,
        services.recent,
        address=_address(request),
        token=token,
    )
    return _answer(request, checked)
