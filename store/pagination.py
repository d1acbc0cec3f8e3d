"""Keyset pagination: an opaque cursor that holds the last id of the previous page."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from errors import BadRequest


class HasId(Protocol):
    @property
    def id(self) -> int: ...


T = TypeVar("T", bound=HasId)
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items, and the cursor of the next page when there is one."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    """The cursor of the page that starts after `last_id`: 8 bytes, base64url, 11 characters."""
    return base64.urlsafe_b64encode(last_id.to_bytes(8, "big")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id a cursor starts after (-1 for the first page: the admin is user 0).

    Every string the spec's pattern admits is a position: a cursor we never issued still names
    a place in the id order, so it gets a page (perhaps empty), never an error.
    """
    if cursor is None:
        return -1
    try:
        position = int.from_bytes(base64.urlsafe_b64decode(cursor + "="), "big")
    except (binascii.Error, ValueError):
        raise BadRequest(
            "The cursor is not one this service issued; take it from a `next` link."
        ) from None
    return min(position, MAX_ID)


def paginate(rows: list[T], limit: int) -> Page[T]:
    """Turn `limit + 1` fetched rows into a page, with a cursor when the extra row exists."""
    if len(rows) > limit:
        return Page(rows[:limit], encode_cursor(rows[limit - 1].id))
    return Page(rows, None)
