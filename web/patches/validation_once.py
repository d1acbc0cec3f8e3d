"""Patch: request validators built once per operation, not on every request.

Replaces: `RequestValidationOperation.__call__` of connexion 3.3.0
(connexion/middleware/request_validation.py), through connexion's public `middlewares` option:
`CachedValidationMiddleware` stands in for `RequestValidationMiddleware` in the stack app.py
passes to connexion (web.patches.middlewares), so only this app is changed.
Why: on every request connexion builds a URI parser, a parameter validator and a body validator
and a media-type table to check the Content-Type; no upstream issue asks otherwise yet
(spec-first/connexion's tracker searched, 2026-12-02). Here they are built once per operation,
and once per media type and charset for bodies (for at most CACHED_PER_OPERATION of them:
clients choose them).
Gain (`make bench-patches`, served, one worker, 2026-12-02, turned off against all on): POST
/messages 0.89x and 0.83x the req/s, GET /hello 0.87x and 0.90x, in two runs (two all-on servers
differed by 14% and 4% on POST); GET /articles/{id} within the noise. Removed for a while with
the other optimisations whose gain alone was inside the noise, the service served /hello at
0.75x and POST at 0.82-0.88x of the code before (two interleaved runs, `bench.throughput
--before`): it came back.
Delete when: connexion builds its validators once per operation: rerun `make bench-patches`.
Upstream code relied on: tests/patches/test_connexion.py fingerprints it.
"""

from __future__ import annotations

import typing as t

from connexion import utils as connexion_utils
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.operations import AbstractOperation
from starlette.types import Receive, Scope, Send

CACHED_PER_OPERATION = 64  # media types and charsets whose validators an operation keeps
_MISSING = object()

UPSTREAM: dict[str, t.Any] = {
    "connexion.utils.extract_content_type": connexion_utils.extract_content_type,
    "connexion.middleware.request_validation.RequestValidationOperation.extract_content_type": (
        RequestValidationOperation.extract_content_type
    ),
    "connexion.middleware.request_validation.RequestValidationOperation.__call__": (
        RequestValidationOperation.__call__
    ),
    "connexion.middleware.request_validation.RequestValidationAPI.make_operation": (
        RequestValidationAPI.make_operation
    ),
}


class CachedValidationOperation(RequestValidationOperation):
    """connexion's RequestValidationOperation, with its validators built once."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # "parameters"; (media type,) once accepted; (media type, charset) for body validators.
        self.validators: dict[t.Any, t.Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """connexion's RequestValidationOperation.__call__, with its validators built once."""
        cache = self.validators
        parameter_validator = cache.get("parameters")
        if parameter_validator is None:
            operation = self._operation
            uri_parser = operation._uri_parser_class(
                operation.parameters, operation.body_definition()
            )
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
        # Keys: "parameters", (media type,) once accepted, (media type, charset): body validators.
        if (mime_type,) not in cache:
            self.validate_mime_type(mime_type)  # raises 415 for a type the operation does not take
            if len(cache) < CACHED_PER_OPERATION:
                cache[(mime_type,)] = True
        key = (mime_type, encoding)
        validator = cache.get(key, _MISSING)
        if validator is _MISSING:
            validator = self._body_validator(mime_type, encoding)
            if len(cache) < CACHED_PER_OPERATION:
                cache[key] = validator
        if validator is not None:
            receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)

    def _body_validator(self, mime_type: str, encoding: str) -> t.Any:
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
            uri_parser=operation.uri_parser_class(
                operation.parameters, operation.body_definition()
            ),
        )


class _CachedValidationAPI(RequestValidationAPI):
    def make_operation(self, operation: AbstractOperation) -> CachedValidationOperation:
        return CachedValidationOperation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class CachedValidationMiddleware(RequestValidationMiddleware):
    """connexion's RequestValidationMiddleware, making CachedValidationOperations."""

    api_cls = _CachedValidationAPI
