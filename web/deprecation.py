"""Deprecation on the wire: whatever the spec marks `deprecated: true` announces itself.

An operation or a parameter marked `deprecated: true` declares when beside it:

    deprecated: true
    x-deprecation:
      date: "2026-12-02"     # since when (required)
      sunset: "2027-12-31"   # when it stops being served (optional)

and every answer the operation gives a request that uses it (calls the operation, or sends
the parameter), errors included, carries:

    Deprecation: @<seconds since 1970>                  RFC 9745
    Sunset: <HTTP-date>                                 RFC 8594, where a sunset is declared
    Link: </ui/#/<tag>/<operationId>>; rel="deprecation"; type="text/html"    RFC 9745 3

the link being the operation in Swagger UI, whose description says what to use instead. A
request refused before the operation runs (401, a 400 from validation) gets none of them.
tests/contract/test_spec.py checks that the spec declares the headers;
tests/api/test_deprecation.py that they are sent.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

from connexion.middleware import SpecMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.routes import HTTP_METHODS
from web.services import response_headers


@dataclass(frozen=True)
class Notice:
    """One deprecated operation or parameter: since when, until when, where it is explained."""

    since: date
    sunset: date | None
    link: str

    @classmethod
    def of(cls, node: Mapping[str, Any], link: str, where: str) -> Notice:
        """The notice `node` (an operation or parameter marked deprecated) declares."""
        declared = node.get("x-deprecation")
        if not isinstance(declared, Mapping) or "date" not in declared:
            raise ValueError(f"{where} is deprecated: declare since when in x-deprecation.date")
        sunset = declared.get("sunset")
        return cls(
            since=date.fromisoformat(declared["date"]),
            sunset=None if sunset is None else date.fromisoformat(sunset),
            link=link,
        )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def headers(notices: Iterable[Notice]) -> dict[str, str]:
    """The header fields for a request that uses everything in `notices` (at least one): the
    earliest deprecation and sunset, and a link to each explanation."""
    notices = list(notices)
    since = min(notice.since for notice in notices)
    fields = {"Deprecation": f"@{int(_midnight(since).timestamp())}"}
    sunsets = [notice.sunset for notice in notices if notice.sunset is not None]
    if sunsets:
        fields["Sunset"] = email.utils.format_datetime(_midnight(min(sunsets)), usegmt=True)
    links = dict.fromkeys(
        f'<{notice.link}>; rel="deprecation"; type="text/html"' for notice in notices
    )
    fields["Link"] = ", ".join(links)
    return fields


@dataclass(frozen=True)
class OperationDeprecations:
    """What is deprecated about one operation: all of it, or some of its parameters."""

    operation: Notice | None
    parameters: tuple[tuple[str, str, Notice], ...]  # (in, name, notice)

    def used(self, scope: Scope) -> list[Notice]:
        """The notices that apply to this request."""
        found = [] if self.operation is None else [self.operation]
        if not self.parameters:
            return found
        query = {
            name
            for name, _ in parse_qsl(
                scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
            )
        }
        sent = {name.decode("latin-1").lower() for name, _ in scope.get("headers", [])}
        cookies = {
            part.split("=", 1)[0].strip()
            for name, value in scope.get("headers", [])
            if name.lower() == b"cookie"
            for part in value.decode("latin-1").split(";")
        }
        for location, name, notice in self.parameters:
            if (
                location == "path"
                or (location == "query" and name in query)
                or (location == "header" and name.lower() in sent)
                or (location == "cookie" and name in cookies)
            ):
                found.append(notice)
        return found


def from_spec(spec: Mapping[str, Any]) -> dict[str, OperationDeprecations]:
    """Each operationId with something deprecated, and what; ValueError where the spec marks
    something deprecated without saying since when. `spec` is connexion's specification
    (connexion.spec.Specification, `$ref`s resolved)."""
    found: dict[str, OperationDeprecations] = {}
    for template, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            operation_id = operation["operationId"]
            tag = (operation.get("tags") or ["default"])[0]
            link = f"/ui/#/{tag}/{operation_id}"
            where = f"{method.upper()} {template}"
            whole = Notice.of(operation, link, where) if operation.get("deprecated") else None
            parameters = tuple(
                (
                    parameter["in"],
                    parameter["name"],
                    Notice.of(parameter, link, f"{where} {parameter['name']}"),
                )
                for parameter in [*shared, *operation.get("parameters", [])]
                if parameter.get("deprecated")
            )
            if whole is not None or parameters:
                found[operation_id] = OperationDeprecations(whole, parameters)
    return found


class DeprecationHeaders(SpecMiddleware):  # type: ignore[misc]
    """ASGI middleware between connexion's validation and the operation: adds the deprecation
    headers to every answer the operation gives a request that uses a deprecated operation or
    parameter, inside response validation (which sees them as the spec declares them). A
    request refused before the operation runs (401, a 400 from validation) is not announced:
    the client has that to fix first.

    A SpecMiddleware: connexion gives it the API's specification while it builds the middleware
    stack (before the first request), and `from_spec` reads the deprecations from it; an
    undated one is a ValueError then."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.deprecations: dict[str, OperationDeprecations] = {}

    def add_api(self, specification: Any, **_options: Any) -> None:
        """Find what the API's specification (connexion.spec.Specification) deprecates."""
        self.deprecations = from_spec(specification)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.deprecations:
            await self.app(scope, receive, send)
            return
        # connexion's routing records `<controller>.<operationId>`.
        routed = scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id")
        deprecated = self.deprecations.get((routed or "").rpartition(".")[2])
        notices = [] if deprecated is None else deprecated.used(scope)
        if not notices:
            await self.app(scope, receive, send)
            return
        announced = headers(notices)
        # Link is a list (RFC 8288): a field of its own beside the response's.
        fields = [(name.lower().encode(), value.encode()) for name, value in announced.items()]
        # An error the operation raises is answered further out (web.problems), past this
        # wrapper: web.request_context adds these fields to that answer.
        response_headers(scope).update(announced)

        async def announcing(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *fields]}
            await send(message)

        await self.app(scope, receive, announcing)
