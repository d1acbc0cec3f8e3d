"""Per-request context: a request id, the app's services, headers every response carries, and
one log line per request."""

from __future__ import annotations

import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from errors import REFUSED_KEY
from web.log_setup import REQUEST_ID, AccessLines
from web.services import RESPONSE_HEADERS_KEY, SCOPE_KEY, Services

VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_lines = AccessLines()

# On every response, unless it sets its own: browsers must not guess a media type, nor show a
# response (Swagger UI's page included) inside another site's frame (clickjacking).
NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_FRAMING = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)
# Not an HTTP status a client ever sees (nginx's): the client closed the connection before its
# request was complete, so nothing was done and nothing could be answered.
CLIENT_CLOSED_REQUEST = 499


class ClientDisconnected(Exception):
    """The client went away before its request's body was complete: nothing is to be done."""


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if VALID_REQUEST_ID.match(text):
                return text
    return os.urandom(16).hex()  # 128 random bits, as uuid4().hex without building a UUID


class RequestContext:
    """ASGI middleware, outside connexion's exception handling so it sees every final status.
    Every response gets `X-Request-ID` and each of `always` (name, value) it does not set."""

    def __init__(
        self,
        app: ASGIApp,
        services: Services,
        always: tuple[tuple[bytes, bytes], ...] = (NOSNIFF, *NO_FRAMING),
    ) -> None:
        self.app = app
        self.services = services
        self.always = always

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = self.services
        extra: dict[str, str] = {}
        scope[RESPONSE_HEADERS_KEY] = extra  # shared by the scope's copies further in
        # connexion's router records the operationId here; the dict must exist to be shared.
        extensions = scope.setdefault("extensions", {})
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if status["code"] == CLIENT_CLOSED_REQUEST:
                return  # nobody to answer
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [header for header in self.always if header[0] not in names]
                headers += [
                    (name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in extra.items()
                    if name.lower().encode("latin-1") not in names
                ]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        complete = False

        async def receive_whole() -> Message:
            """The request's messages; ClientDisconnected if it ends before its body does, so
            that no part of a body is ever taken for all of it (and stored)."""
            nonlocal complete
            message = await receive()
            refused = extensions.get(REFUSED_KEY)
            if refused is not None:  # the server stopped reading this request's body
                raise refused
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
            elif message["type"] == "http.disconnect" and not complete:
                status["code"] = CLIENT_CLOSED_REQUEST
                raise ClientDisconnected
            return message

        try:
            await self.app(scope, receive_whole, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            operation = extensions.get("connexion_routing", {}).get("operation_id")
            self.services.metrics.observe(operation, scope["method"], status["code"], elapsed)
            access_lines.write(scope["method"], scope["path"], status["code"], elapsed)
            REQUEST_ID.reset(token)
