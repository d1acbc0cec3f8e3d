"""Idempotency-Key (draft-ietf-httpapi-idempotency-key-header-06, as Stripe's API does it): a
retried POST gets the first one's response instead of doing it twice."""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import flask

from store import idempotency
from web import services

F = TypeVar("F", bound=Callable[..., flask.Response])
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


def _key(value: str) -> str:
    """The key an Idempotency-Key field names: a Structured Fields string, or the bare value
    (the spec's pattern has already limited it to printable ASCII)."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _fingerprint(request: flask.Request) -> str:
    """What makes two requests the same request."""
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\x00")
    digest.update((request.headers.get("Content-Type") or "").encode("latin-1") + b"\x00")
    digest.update(request.get_data())
    return digest.hexdigest()


def idempotent(handler: F) -> F:
    """Carry a request with an Idempotency-Key out once: its response and what it wrote are
    committed together, and a retry of it is answered from the stored response."""

    @functools.wraps(handler)
    def once(*args: Any, **kwargs: Any) -> flask.Response:
        request = flask.request
        header = request.headers.get(HEADER)
        if header is None:
            return handler(*args, **kwargs)
        app = services.current()
        token_info = kwargs.get("token_info")
        caller = "anonymous" if token_info is None else f"user:{token_info['uid']}"
        scope = "\x00".join((handler.__name__, caller, _key(header)))
        found = idempotency.claim(
            app.db,
            scope=scope,
            fingerprint=_fingerprint(request),
            seconds=app.settings.idempotency_key_seconds,
        )
        if isinstance(found, idempotency.Stored):
            replay = flask.Response(found.body, status=found.status, headers=found.headers)
            replay.headers[REPLAYED] = "true"
            return replay
        try:
            with app.db.atomic():
                response = handler(*args, **kwargs)
                if not 200 <= response.status_code < 300:
                    raise _NotStored(response)
                headers = [(k, v) for k, v in response.headers.items() if k != "Content-Length"]
                idempotency.complete(
                    app.db, found, response.status_code, headers, response.get_data()
                )
        except _NotStored as not_stored:
            idempotency.release(app.db, found)
            return not_stored.response
        except BaseException:
            # If even that fails (the database is away), the lease lets a retry take it over.
            with contextlib.suppress(Exception):
                idempotency.release(app.db, found)
            raise
        return response

    return once  # type: ignore[return-value]


class _NotStored(Exception):
    """A response that is no success: nothing it did is kept, nor is it."""

    def __init__(self, response: flask.Response) -> None:
        super().__init__(response.status_code)
        self.response = response
