"""ASGI middleware that guards every request: a body size cap, a Content-Type where a body
needs one, and OPTIONS answers."""

from __future__ import annotations

import sys
from collections import deque
from typing import Any

from connexion.middleware import SpecMiddleware
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from errors import ACCEPT_HEADERS, BadRequest, PayloadTooLarge, UnsupportedMediaType
from web.routes import Routes

MULTIPART_ALLOWANCE = 64 * 1024


class BodyLimit:
    """Refuses bodies over `max_bytes` with 413; gives a chunked body a Content-Length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if length is None and not chunked:  # RFC 9112 section 6.3: no body at all
            await self.forward(scope, receive, send)
            return
        if length is not None and not chunked:
            try:
                size = int(length)
            except ValueError:
                raise BadRequest("Content-Length is not a number of bytes.") from None
            if size > self.max_bytes:
                raise PayloadTooLarge(
                    f"The body has {size} bytes; a request may carry at most {self.max_bytes}."
                )
            await self.forward(scope, receive, send)
            return
        await self._buffered(scope, receive, send, chunked)

    async def _buffered(self, scope: Scope, receive: Receive, send: Send, chunked: bool) -> None:
        """Read a body of unknown length (at most max_bytes), then replay it with its length."""
        chunks: deque[bytes] = deque()
        size = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            more_body = message.get("more_body", False)
            size += len(chunk)
            if size > self.max_bytes:
                raise PayloadTooLarge(
                    f"The body is longer than {self.max_bytes} bytes, the most a request may carry."
                )
            if chunk:
                chunks.append(chunk)
        if chunked or size:
            # Werkzeug ignores Content-Length while Transfer-Encoding says chunked, so it goes.
            headers = [
                (name, value)
                for name, value in scope["headers"]
                if name not in (b"transfer-encoding", b"content-length")
            ]
            headers.append((b"content-length", str(size).encode("ascii")))
            scope = {**scope, "headers": headers}

        if not chunks:
            chunks.append(b"")

        async def replay() -> Message:
            if chunks:
                chunk = chunks.popleft()
                return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
            return await receive()

        await self.forward(scope, replay, send)

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass an HTTP request within the limit on."""
        await self.app(scope, receive, send)


class Guards(BodyLimit, SpecMiddleware):  # type: ignore[misc]
    """BodyLimit, then OPTIONS answers, then the Content-Type check, as one middleware: each
    layer of ASGI middleware costs every request a coroutine or more.

    A SpecMiddleware: connexion gives it the API's resolved specification while it builds the
    middleware stack, which it passes on to `routes` (shared with web.problems)."""

    def __init__(self, app: ASGIApp, max_bytes: int, routes: Routes) -> None:
        super().__init__(app, max_bytes)
        self.routes = routes

    def add_api(self, specification: Any, **_options: Any) -> None:
        """Learn the API's paths from connexion's specification (connexion.spec.Specification)."""
        self.routes.add_api(specification)

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "OPTIONS" and await answer_options(self.routes, scope, send):
            return
        path: str = scope["path"]
        if path.endswith("/") and path != "/" and self.routes.allowed(path) is None:
            # Not a redirect to the path without the slash (the router's 307), which the
            # contract does not declare: nothing lives here.
            raise HTTPException(status_code=404)
        too_long = self.routes.unconvertible_integer(scope["path"])
        if too_long is not None:
            limit = sys.get_int_max_str_digits()
            raise BadRequest(f"The path parameter `{too_long}` has more than {limit} digits.")
        require_content_type(self.routes, scope)
        await self.app(scope, receive, send)


def require_content_type(routes: Routes, scope: Scope) -> None:
    """A body sent without a Content-Type to an operation that takes one gets 415.

    connexion would guess the operation's first media type and validate the body as that, while
    Flask hands the handler raw bytes: the two disagree, so the client must say what it sent.
    """
    names = {name for name, value in scope["headers"] if name != b"content-length" or value != b"0"}
    has_body = b"content-length" in names or b"transfer-encoding" in names
    if has_body and b"content-type" not in names:
        accepted = routes.accepted_media_types(scope["path"], scope["method"])
        if accepted:
            raise UnsupportedMediaType("", accepted, method=scope["method"])


async def answer_options(routes: Routes, scope: Scope, send: Send) -> bool:
    """Answer OPTIONS on a path of the spec: 204 with Allow, Accept-Post and Accept-Patch.
    False (nothing sent) for a path the spec does not have."""
    path: str = scope["path"]
    allowed = routes.allowed(path)
    if allowed is None:
        return False
    headers = [(b"allow", ", ".join(allowed).encode("latin-1"))]
    for method, header in ACCEPT_HEADERS.items():
        accepted = routes.accepted_media_types(path, method)
        if accepted:
            headers.append((header.lower().encode(), ", ".join(accepted).encode("latin-1")))
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    return True
