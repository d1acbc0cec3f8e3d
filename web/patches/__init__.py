"""Every change this service makes to a library's behaviour, one module per patch.

Each module opens with the upstream symbol and version it replaces, why (the upstream issue),
what it gains as measured by `make bench-patches` (served req/s and p99, one worker), and when
to delete it; tests/patches/ fingerprint the upstream code each relies on and fail when
a release changes it. Only this package may use a library's private names (ruff's SLF rule is on
everywhere else); handlers import nothing from it.

- one_hop: connexion's `FlaskASGIApp.asgi_app`, a2wsgi's WSGIMiddleware (speed);
- validation_once: connexion's `RequestValidationMiddleware`, its operations' `__call__` (speed);
- decorate_once: connexion's `FlaskOperation.fn` and its parameter binding, with `arguments` and
  `shadow` (speed; files bound only where the spec declares a form);
- spec_as_written: connexion's `SwaggerUIMiddleware` and the page it renders (the spec served as
  written, Swagger UI 5);
- uvicorn_limits: uvicorn's httptools protocol (a cap on a request head's size and time;
  problem+json for a head it cannot parse);
- one_write: how that protocol writes a response (head and body in one write; speed).
"""

from __future__ import annotations

import typing as t

from connexion.middleware import ConnexionMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware

from web.patches import decorate_once, one_hop, validation_once
from web.patches.spec_as_written import SpecAsWritten, SpecAsWrittenRoutingAll


def middlewares(off: frozenset[str] = frozenset()) -> list[type]:
    """connexion's default middleware stack, with this package's middlewares in place (but those
    named in `off`); a new list each call (connexion's add_middleware inserts into the list it
    was given)."""
    _check(off)
    replaced: dict[type, type] = {
        SwaggerUIMiddleware: SpecAsWrittenRoutingAll if "ui_bypass" in off else SpecAsWritten,
    }
    if "validation_once" not in off:
        replaced[RequestValidationMiddleware] = validation_once.CachedValidationMiddleware
    return [replaced.get(each, each) for each in ConnexionMiddleware.default_middlewares]


# What `make bench-patches` turns off, one at a time (Settings.patches_off, PATCHES_OFF), to
# measure what each buys: the patches below, their parts, and app.py's frozen start-up heap.
SWITCHES = (
    "one_hop", "inline", "decorate_once", "plans", "validation_once", "ui_bypass", "gc_freeze",
    "one_write",
)  # fmt: skip


def _check(off: frozenset[str]) -> None:
    unknown = off - set(SWITCHES)
    if unknown:
        raise ValueError(f"PATCHES_OFF names no switch: {', '.join(sorted(unknown))}")


def install(app: t.Any, *, threads: int, off: frozenset[str] = frozenset()) -> None:
    """The patches that act on a built app (after `add_api`, before its first request), but
    those named in `off` (SWITCHES)."""
    _check(off)
    if "decorate_once" not in off:
        decorate_once.install(app, plans="plans" not in off)
    if "one_hop" not in off:
        one_hop.install(app, threads=threads, inline="inline" not in off)
