"""Conditional requests (RFC 9110 section 13): ETags from versions, If-Match, If-None-Match."""

from __future__ import annotations

import flask
from werkzeug.http import parse_etags, quote_etag

from errors import PreconditionRequired
from store.articles import Expected


def etag(version: int) -> str:
    """The strong entity tag of a version, e.g. `"3"`."""
    return quote_etag(str(version))


def expected_versions() -> Expected:
    """The versions the request's `If-Match` names (None for `*`); 428 when it has none.

    Only strong tags count (If-Match uses the strong comparison), so a weak or foreign tag
    names no version and the change fails with 412.
    """
    header = flask.request.headers.get("If-Match")
    if header is None:
        raise PreconditionRequired("Send If-Match with the ETag your change is based on.")
    tags = parse_etags(header)
    if tags.star_tag:
        return None
    return frozenset(int(tag) for tag in tags.as_set() if tag.isdigit() and len(tag) < 19)


def not_modified(current: str) -> bool:
    """Whether a GET's `If-None-Match` already holds the current tag (weak comparison)."""
    header = flask.request.headers.get("If-None-Match")
    return header is not None and parse_etags(header).contains_weak(current.strip('"'))
