"""Marks a handler carries for the layer that serves it."""

from __future__ import annotations

import typing as t
from collections.abc import Callable

F = t.TypeVar("F", bound=Callable[..., t.Any])
INLINE = "_articles_api_inline"


def inline(handler: F) -> F:
    """Mark a handler that does no I/O (microseconds of work): it may run on the event loop,
    without a hop to a worker thread (web.patches.one_hop)."""
    setattr(handler, INLINE, True)
    return handler


def is_inline(handler: Callable[..., t.Any]) -> bool:
    """Whether the handler is marked `inline`."""
    return bool(getattr(handler, INLINE, False))
