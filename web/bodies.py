"""Reading request bodies the spec declares but connexion leaves raw (text, binary, files)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import flask
from connexion import context

from errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

Kind = Literal["text", "json", "binary", "file"]
KINDS: dict[str, Kind] = {
    "text/plain": "text",
    "application/json": "json",
    "application/octet-stream": "binary",
    "multipart/form-data": "file",
}


@dataclass(frozen=True)
class IncomingMessage:
    """A request body to store: its bytes, media type, and how the tutorial echoes it."""

    kind: Kind
    media_type: str
    content: bytes
    filename: str | None = None
    text: str | None = None


def accepted_media_types() -> list[str]:
    """The request media types the current operation's spec declares."""
    request_body: dict[str, Any] = context.operation.request_body
    return list(request_body.get("content", {}))


STORED_NAME_LENGTH = 255  # store.models.Message: filename and media_type


def _storable(value: str, what: str) -> str:
    """A name as the database stores it on every backend; 400 for NUL or beyond its width
    (PostgreSQL refuses both, SQLite would keep them: the backends must not differ)."""
    if "\x00" in value:
        raise BadRequest(f"The {what} holds a NUL character.")
    if len(value) > STORED_NAME_LENGTH:
        raise BadRequest(
            f"The {what} has {len(value)} characters; at most {STORED_NAME_LENGTH} are stored."
        )
    return value


def _check_size(size: int, limit: int) -> None:
    # Empty text, JSON and binary bodies were refused by validation; an empty file is a file.
    if size > limit:
        raise PayloadTooLarge(f"The body has {size} bytes; at most {limit} are stored.")


def read_message(max_bytes: int) -> IncomingMessage:
    """The current request's body as a message; 400, 413 or 415 when it cannot be one."""
    request = flask.request
    kind = KINDS.get(request.mimetype)
    if kind is None or request.mimetype not in accepted_media_types():
        raise UnsupportedMediaType(request.mimetype, accepted_media_types(), method=request.method)
    if kind == "file":
        upload = request.files.get("file")
        if upload is None:
            raise BadRequest("The multipart body has no `file` part.")
        filename = _storable(upload.filename or "upload", "file name")
        media_type = _storable(upload.mimetype or "application/octet-stream", "file's media type")
        content = upload.read()
        _check_size(len(content), max_bytes)
        return IncomingMessage(kind, media_type, content, filename=filename)
    content = request.get_data()
    _check_size(len(content), max_bytes)
    if kind == "text":
        # web.validators.TextBodyValidator has checked that it is UTF-8.
        return IncomingMessage(kind, "text/plain", content, text=content.decode("utf-8"))
    if kind == "json":
        return IncomingMessage(kind, request.mimetype, content, text=json.dumps(request.get_json()))
    return IncomingMessage(kind, request.mimetype, content)


def describe_request() -> dict[str, Any]:
    """The current request as the JSON echo shows it, with credentials redacted."""
    request = flask.request
    hidden = {"authorization", "proxy-authorization", "cookie"}
    body = request.get_data()
    return {
        # HEAD is answered by the GET view; describing it as GET keeps GET's Content-Length.
        "method": "GET" if request.method == "HEAD" else request.method,
        "path": request.path,
        "query": {key: request.args.getlist(key) for key in request.args},
        "headers": {
            key: "[redacted]" if key.lower() in hidden else value
            for key, value in request.headers.items()
        },
        "body": body.decode("utf-8", "replace") if body else None,
    }
