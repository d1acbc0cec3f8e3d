"""Where connexion 3.3 redoes work on every request, done once instead: the only module that
changes how the library behaves. tests/test_fastpath.py fails if an upstream detail relied on
here changes.

1. `FlaskASGIApp.asgi_app` is a2wsgi's WSGIMiddleware, which crosses between the event loop and
   a worker thread four or more times per request (one hop to start the app, one round trip per
   body read, per `start_response` and per response chunk). `OneHopWSGI` takes the request body
   on the loop (web.guards.BodyLimit has already capped it), runs the whole Flask request in one
   worker thread, and sends the buffered response from the loop: one hop. Operations whose
   handler is marked `@inline` (no I/O, microseconds of work) skip the thread entirely. It runs
   few threads (Settings.request_threads, not a2wsgi's 10): threads beyond what the database
   can overlap only take turns on the GIL, and each request waits behind more of them.
2. `RequestValidationOperation.__call__` builds a URI parser, a parameter validator and a body
   validator (each compiling JSON schemas) on every request, and a media-type table to check
   the Content-Type. Here they are built once per operation, and once per media type and
   charset for bodies (for at most CACHED_PER_OPERATION of them: clients choose them);
   web.validators keeps their schema validators compiled and resolves scalar query parameters
   without connexion's general URI parser.
3. `FlaskOperation.fn` builds a new `FlaskDecorator` and re-decorates the handler (with an
   `inspect.signature` of it) on every call; `FlaskDecorator.__call__` decorates again inside its
   wrapper. Here the handler is decorated once per operation, and its keyword arguments come
   from a web.arguments.Plan made once per operation instead of connexion's parameter decorator
   (which still binds what a plan does not cover; with web.shadow.VERIFY, every request is bound
   both ways and a difference is an error).
4. connexion imports, on every start, modules it needs only for tests or for features our spec
   does not use: `starlette.testclient` (and with it httpx) for `App.test_client()`, httpx for
   OAuth2 token introspection (connexion.security), requests for remote `$ref`s
   (connexion.json_schema): about 0.2 s of a 1 s start. This module imports connexion (and is
   imported before it: app.py, deploy/gunicorn.conf.py) with stand-ins for them, which import
   the real module the first time it is used.
5. `Specification.__init__` validates the whole spec against the OpenAPI 3.0 schema on every
   start (~0.07 s). `spec_validated_by_ci()` skips that while a production app is built: the
   document it serves is the one `make lint` validated (openapi-spec-validator, Spectral,
   Redocly) and every app of the test suite validated again; development still validates.
"""

from __future__ import annotations

import importlib
import sys
import types


class _Deferred(types.ModuleType):
    """Stands in for a module while connexion is imported; imports it when first used."""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):  # the import system's probes (`__path__`), not a use
            raise AttributeError(name)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


def _test_client(*args: object, **kwargs: object) -> object:
    """connexion's `TestClient(app, **kwargs)`: Starlette's test client, imported on first use."""
    from starlette.testclient import TestClient

    return TestClient(*args, **kwargs)  # type: ignore[arg-type]


DEFERRED_BY_CONNEXION = {
    "connexion.apps.abstract": "starlette.testclient",
    "connexion.security": "httpx",
    "connexion.json_schema": "requests",
}


def _import_connexion() -> None:
    """Import connexion with stand-ins for the modules in DEFERRED_BY_CONNEXION."""
    if "connexion" in sys.modules:
        return  # imported already: nothing left to defer
    testclient = _Deferred("starlette.testclient")
    testclient.TestClient = _test_client  # type: ignore[attr-defined]
    stand_ins = [testclient, _Deferred("httpx"), _Deferred("requests")]
    for stand_in in stand_ins:
        sys.modules.setdefault(stand_in.__name__, stand_in)
    try:
        for module in DEFERRED_BY_CONNEXION:
            importlib.import_module(module)
    finally:
        for stand_in in stand_ins:
            if sys.modules.get(stand_in.__name__) is stand_in:
                del sys.modules[stand_in.__name__]


_import_connexion()

import asyncio
import contextlib
import contextvars
import functools
import io
import typing as t
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import flask
from a2wsgi.wsgi import build_environ
from connexion import utils as connexion_utils
from connexion.apps.flask import FlaskASGIApp, FlaskOperation
from connexion.context import operation as current_operation
from connexion.decorators import FlaskDecorator
from connexion.decorators import parameter as connexion_parameter
from connexion.decorators.parameter import SyncParameterDecorator
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.spec import OpenAPISpecification, Specification
from connexion.uri_parsing import AbstractURIParser, OpenAPIURIParser
from starlette.types import Message, Receive, Scope, Send

from web import shadow
from web.arguments import Plan

F = t.TypeVar("F", bound=Callable[..., t.Any])
INLINE = "_articles_api_inline"
PATCHED = "_articles_api_patched"  # set on RequestValidationOperation once its classes are patched
WSGIApp = Callable[[dict[str, t.Any], Callable[..., t.Any]], Iterable[bytes]]
CACHED_PER_OPERATION = 64  # media types and charsets whose validators an operation keeps
_MISSING = object()


def inline(handler: F) -> F:
    """Mark a handler that does no I/O: it runs on the event loop, without a thread hop."""
    setattr(handler, INLINE, True)
    return handler


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

    def __init__(self, app: WSGIApp, workers: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(thread_name_prefix="WSGI", max_workers=workers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await _not_http(scope, receive, send)
            return
        body = await _read_body(receive)
        environ: dict[str, t.Any] = dict(build_environ(scope, io.BytesIO(body)))  # type: ignore[arg-type]
        # The body is complete: Werkzeug may read it even without a Content-Length.
        environ["wsgi.input_terminated"] = True
        if _is_inline():
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
    return bool(getattr(function, INLINE, False))


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


class _DecoratedOnce(FlaskDecorator):
    """connexion's FlaskDecorator, decorating once; arguments from a plan where one applies."""

    def __call__(self, function: Callable[..., t.Any]) -> Callable[..., t.Any]:
        decorated = self.decorate(function)  # connexion's binding, for what a plan does not cover
        response_decorator = self._response_decorator_cls(
            framework=self.framework, jsonifier=self.jsonifier
        )
        # connexion asks on every call whether the handler is a coroutine function; ours never are.
        synchronous = not asyncio.iscoroutinefunction(function)
        direct = response_decorator(
            function if synchronous else self._sync_async_decorator(function)
        )
        parsers: list[t.Any] = []
        plans: list[Plan | None] = []

        def connexion_request() -> t.Any:
            if not parsers:  # connexion builds a URI parser per request; it depends on the route
                parsers.append(self.uri_parser)
            return self.framework.get_request(uri_parser=parsers[0])

        @functools.wraps(function)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            if not plans:
                operation = current_operation._get_current_object()
                plans.append(Plan.make(operation, function, pythonic_params=self.pythonic_params))
            plan = plans[0]
            request = flask.request._get_current_object()  # type: ignore[attr-defined]
            bound = None if plan is None else plan.bind(request)
            if plan is None or bound is None:
                return decorated(connexion_request())
            if shadow.VERIFY and not plan.ignores_the_form_of(request):  # (see web.arguments)
                theirs = self._connexion_arguments(function, connexion_request())
                shadow.check(f"arguments of {function.__qualname__}", bound, theirs)
            return direct(**bound)

        wrapper.plans = plans  # type: ignore[attr-defined]
        return wrapper

    def _connexion_arguments(self, function: Callable[..., t.Any], request: t.Any) -> t.Any:
        @functools.wraps(function)
        def arguments(**kwargs: t.Any) -> dict[str, t.Any]:
            return kwargs

        decorator = SyncParameterDecorator(
            framework=self.framework, pythonic_params=self.pythonic_params
        )
        return decorator(arguments)(request)


def _decorated_fn(self: FlaskOperation) -> Callable[..., t.Any]:
    decorator = _DecoratedOnce(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
    decorated: Callable[..., t.Any] = decorator(self._fn)
    return decorated


async def _validate_request(
    self: RequestValidationOperation, scope: Scope, receive: Receive, send: Send
) -> None:
    """connexion's RequestValidationOperation.__call__, with its validators built once."""
    cache: dict[t.Any, t.Any] = self.__dict__.setdefault("_articles_api_validators", {})
    parameter_validator = cache.get("parameters")
    if parameter_validator is None:
        operation = self._operation
        uri_parser = operation._uri_parser_class(operation.parameters, operation.body_definition())
        parameter_validator = cache["parameters"] = self._validator_map["parameter"](
            operation.parameters,
            uri_parser=uri_parser,
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )
    parameter_validator.validate(scope)

    content_type = None
    for name, value in scope["headers"]:  # connexion's utils.extract_content_type, leaner
        if name.lower() == b"content-type":
            content_type = value.decode("latin-1")
            break
    mime_type, encoding = connexion_utils.split_content_type(content_type)
    if mime_type is None:  # as connexion: no Content-Type, take the operation's first
        consumes = self._operation.consumes
        mime_type = consumes[0] if consumes else "application/octet-stream"
    if encoding is None:
        encoding = "utf-8"

    # Media type and charset come from the client: cache for a bounded number of them only.
    # Keys: "parameters", (media type,) once accepted, (media type, charset) for body validators.
    if (mime_type,) not in cache:
        self.validate_mime_type(mime_type)  # raises 415 for a type the operation does not take
        if len(cache) < CACHED_PER_OPERATION:
            cache[(mime_type,)] = True
    key = (mime_type, encoding)
    validator = cache.get(key, _MISSING)
    if validator is _MISSING:
        validator = _body_validator(self, mime_type, encoding)
        if len(cache) < CACHED_PER_OPERATION:
            cache[key] = validator
    if validator is not None:
        receive, scope = await validator.wrap_receive(receive, scope=scope)
    await self.next_app(scope, receive, send)


def _body_validator(self: RequestValidationOperation, mime_type: str, encoding: str) -> t.Any:
    """The body validator connexion would build for this media type and charset, or None."""
    operation = self._operation
    schema = operation.body_schema(mime_type)
    if not schema:
        return None
    try:
        validator_class = self._validator_map["body"][mime_type]
    except KeyError:
        return None
    return validator_class(
        schema=schema,
        required=operation.request_body.get("required", False),
        nullable=connexion_utils.is_nullable(operation.body_definition(mime_type)),
        encoding=encoding,
        strict_validation=self.strict_validation,
        uri_parser=operation.uri_parser_class(operation.parameters, operation.body_definition()),
    )


@contextlib.contextmanager
def spec_validated_by_ci() -> Iterator[None]:
    """While connexion builds an API: specifications are not validated against the OpenAPI
    schema again (their `$ref`s are still resolved: an unresolvable one still fails)."""
    OpenAPISpecification._validate_spec = classmethod(lambda _cls, _spec: None)
    try:
        yield
    finally:
        del OpenAPISpecification._validate_spec  # Specification's own again


# What the patches replace or reproduce (here, in web.arguments and web.validators), as shipped:
# tests/test_fastpath.py fingerprints their source.
UPSTREAM: dict[str, t.Any] = {
    "connexion.utils.extract_content_type": connexion_utils.extract_content_type,
    "connexion.middleware.request_validation.RequestValidationOperation.extract_content_type": (
        RequestValidationOperation.extract_content_type
    ),
    "connexion.decorators.parameter.SyncParameterDecorator.__call__": (
        SyncParameterDecorator.__call__
    ),
    "connexion.decorators.parameter.prep_kwargs": connexion_parameter.prep_kwargs,
    "connexion.decorators.parameter.get_arguments": connexion_parameter.get_arguments,
    "connexion.decorators.parameter._get_query_arguments": (
        connexion_parameter._get_query_arguments
    ),
    "connexion.decorators.parameter._get_body_argument": connexion_parameter._get_body_argument,
    "connexion.uri_parsing.AbstractURIParser.resolve_params": AbstractURIParser.resolve_params,
    "connexion.uri_parsing.OpenAPIURIParser.resolve_query": OpenAPIURIParser.resolve_query,
    "connexion.apps.flask.FlaskOperation.fn": FlaskOperation.fn.fget,
    "connexion.apps.flask.FlaskASGIApp.__init__": FlaskASGIApp.__init__,
    "connexion.decorators.main.WSGIDecorator.__call__": FlaskDecorator.__call__,
    "connexion.middleware.request_validation.RequestValidationOperation.__call__": (
        RequestValidationOperation.__call__
    ),
    "a2wsgi.wsgi.build_environ": build_environ,
    "connexion.spec.Specification.__init__": Specification.__init__,
}


def install(app: t.Any, *, threads: int) -> None:
    """Apply the three changes to a connexion FlaskApp, before its first request; handlers that
    do I/O run on `threads` worker threads."""
    middleware_app: FlaskASGIApp = app._middleware_app
    middleware_app.asgi_app = OneHopWSGI(middleware_app.app.wsgi_app, workers=threads)
    if getattr(RequestValidationOperation, PATCHED, False):
        return  # the classes are already patched (several apps in one process)
    setattr(RequestValidationOperation, PATCHED, True)
    RequestValidationOperation.__call__ = _validate_request
    fn_once = functools.cached_property(_decorated_fn)
    fn_once.__set_name__(FlaskOperation, "fn")
    FlaskOperation.fn = fn_once
