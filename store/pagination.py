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
    """The cursor of the page that starts after `last_id`."""
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id a cursor starts after (0 for the first page); BadRequest if we did not issue it."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        prefix, _, number = text.partition(":")
        last_id = int(number) if prefix == "after" and number.isdigit() else -1
    except (binascii.Error, UnicodeDecodeError, ValueError):
        last_id = -1
    if not 0 <= last_id <= MAX_ID:
        raise BadRequest("The cursor is not one this service issued; take it from a `next` link.")
    return last_id


def paginate(rows: list[T], limit: int) -> Page[T]:
    """Turn `limit + 1` fetched rows into a page, with a cursor when the extra row exists."""
    if len(rows) > limit:
        return Page(rows[:limit], encode_cursor(rows[limit - 1].id))
    return Page(rows, None)
