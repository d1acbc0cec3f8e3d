"""Content negotiation in one place: what the client accepts, among what the spec declares."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import flask
from connexion import context

from errors import NotAcceptable

Body = str | bytes | dict[str, Any] | list[Any]
Representations = Mapping[str, Callable[[], Body]]

TEXT = "text/plain"
JSON = "application/json"
ARTICLE_V2 = "application/vnd.example.v2+json"


def _declared(status: int) -> list[str]:
    """The media types the current operation's spec declares for this status, in spec order."""
    response = context.operation.responses.get(str(status), {})
    return list(response.get("content", {}))


def _candidates(declared: list[str], representations: Representations) -> list[str]:
    """What can be served: declared types we can render; a declared `*/*` admits any."""
    chosen = [media_type for media_type in declared if media_type in representations]
    if "*/*" in declared:
        chosen += [media_type for media_type in representations if media_type not in chosen]
    if not chosen:
        raise RuntimeError(f"no representation for {declared} among {list(representations)}")
    return chosen


def _choose(candidates: list[str]) -> str:
    """The client's preferred candidate; the first one for a missing Accept or `*/*`."""
    accept = flask.request.accept_mimetypes
    if not accept:
        return candidates[0]
    best = accept.best_match(candidates)
    if best is None:
        raise NotAcceptable(candidates)
    return best


def _encode(body: Body, media_type: str) -> tuple[bytes, str]:
    if isinstance(body, bytes):
        return body, media_type
    if isinstance(body, str):
        return body.encode("utf-8"), f"{media_type}; charset=utf-8"
    return json.dumps(body).encode("utf-8"), media_type


def respond(
    representations: Representations,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> flask.Response:
    """Render the representation the client prefers among those the spec declares for `status`."""
    candidates = _candidates(_declared(status), representations)
    media_type = _choose(candidates)
    data, content_type = _encode(representations[media_type](), media_type)
    response = flask.Response(data, status=status, content_type=content_type)
    response.headers.update(headers or {})
    if len(candidates) > 1:
        response.vary.add("Accept")
    return response


def no_content(headers: Mapping[str, str] | None = None) -> flask.Response:
    """A 204 with these headers, and no Content-Type since there is no content."""
    response = flask.Response(status=204)
    del response.headers["Content-Type"]
    response.headers.update(headers or {})
    return response
