"""Patch: a Flask app served from the event loop with one thread hop per request, not a2wsgi's
four or more.

Replaces: the `asgi_app` of connexion 3.3.0's `FlaskASGIApp` (connexion/apps/flask.py), a2wsgi
1.10's `WSGIMiddleware`, for the app it is installed on (not process-wide).
Why: a2wsgi crosses between the event loop and a worker thread for the start of the app, for
every body read, for `start_response` and for every response chunk; users report connexion 3's
FlaskApp as much slower than its AsyncApp or connexion 2 (spec-first/connexion#2077, #2045, both
open), and a2wsgi's own overhead (abersheeran/a2wsgi#23); its 10 threads are not configurable
(spec-first/connexion#1979, open, "PR welcome"). Here the
body, already capped by web.guards.BodyLimit, is read on the loop; the whole Flask request runs
in one worker thread; the buffered response is sent from the loop. Handlers marked
`web.marks.inline` (no I/O) run on the loop, with no hop at all. It runs Settings.request_threads
threads, not a2wsgi's 10: threads beyond what the database can overlap only take turns on the GIL.
Gain (`make bench-patches`, served, one worker, 2026-12-02, turned off against all on; two
all-on servers differed by up to 14%): GET /hello 2.9x and 1.6x the req/s (two runs), GET
/articles/{id} 1.5x and 1.4x, POST /messages 1.3x and 1.4x; /hello's p99 44 ms against 101. Of
that, `inline` (no hop at all for /, /hello, /echo, /secrets, /livez, /healthz, /metrics) is
1.35x on /hello in two runs of three (inside the noise in the other).
Delete when: connexion serves Flask without a2wsgi's per-message hops (or a2wsgi batches them):
rerun `make bench-patches`; when this one's gain is inside the noise, delete it.
Upstream code relied on: tests/patches/test_connexion.py fingerprints it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
import typing as t
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from a2wsgi.wsgi import build_environ
from connexion.apps.flask import FlaskASGIApp
from connexion.context import operation as current_operation
from starlette.types import Message, Receive, Scope, Send

from web.marks import is_inline

WSGIApp = Callable[[dict[str, t.Any], Callable[..., t.Any]], Iterable[bytes]]

# What this patch replaces or reproduces, as shipped (tests/patches/test_connexion.py hashes them).
UPSTREAM: dict[str, t.Any] = {
    "connexion.apps.flask.FlaskASGIApp.__init__": FlaskASGIApp.__init__,
    "a2wsgi.wsgi.build_environ": build_environ,
}


class _Response:
    """What the WSGI app answered, collected in the worker thread."""

    __slots__ = ("body", "headers", "status")

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""


def _run_wsgi(app: WSGIApp, environ: dict[str, t.Any]) -> _Response:
    response = _Response()

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            raise exc_info[1].with_traceback(exc_info[2])
        response.status = int(status.split(" ", 1)[0])
        response.headers = [
            (name.strip().encode("latin-1").lower(), value.strip().encode("latin-1"))
            for name, value in headers
        ]
        return written.append

    written: list[bytes] = []
    iterable = app(environ, start_response)
    try:
        written.extend(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    response.body = b"".join(written)
    return response


class OneHopWSGI:
    """An ASGI app serving a WSGI app with at most one event-loop-to-thread hop per request."""

    def __init__(self, app: WSGIApp, workers: int, *, inline: bool = True) -> None:
        self.app = app
        self.threads = workers
        self.inline = inline  # False: every request in a thread (make bench-patches)
        self.executor = ThreadPoolExecutor(thread_name_prefix="WSGI", max_workers=workers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await _not_http(scope, receive, send)
            return
        body = await _read_body(receive)
        environ: dict[str, t.Any] = dict(build_environ(scope, io.BytesIO(body)))  # type: ignore[arg-type]
        # The body is complete: Werkzeug may read it even without a Content-Length.
        environ["wsgi.input_terminated"] = True
        if self.inline and _is_inline():
            response = _run_wsgi(self.app, environ)
        else:
            context = contextvars.copy_context()
            call = functools.partial(context.run, _run_wsgi, self.app, environ)
            response = await asyncio.get_running_loop().run_in_executor(self.executor, call)
        await send(
            {"type": "http.response.start", "status": response.status, "headers": response.headers}
        )
        await send({"type": "http.response.body", "body": response.body})


async def _not_http(scope: Scope, receive: Receive, send: Send) -> None:
    """As a2wsgi: websockets are closed; a lifespan (when the app has no handler) completes."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1000})
    elif scope["type"] == "lifespan":
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        if message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})


def _is_inline() -> bool:
    try:
        function = current_operation.function
    except RuntimeError:  # no operation: Flask answers 404 or 405 without a handler
        return True
    return is_inline(function)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def install(app: t.Any, *, threads: int, inline: bool = True) -> None:
    """Serve this connexion FlaskApp's Flask app with OneHopWSGI on `threads` worker threads."""
    middleware_app: FlaskASGIApp = app._middleware_app
    flask_app = middleware_app.app.wsgi_app
    middleware_app.asgi_app = OneHopWSGI(flask_app, workers=threads, inline=inline)


def adapter(app: t.Any) -> t.Any:
    """What serves this connexion FlaskApp's Flask app (for tests)."""
    return app._middleware_app.asgi_app
