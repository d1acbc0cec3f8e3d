"""The spec's paths and methods, for `Allow`, `Accept-Post` and `Accept-Patch` headers.

Read from the specification connexion builds for the API (connexion.spec.Specification: its
`$ref`s resolved by connexion's own resolver), the same object its router and validators use;
not a second parse of the spec. connexion hands it to every middleware that asks for it
(connexion.middleware.SpecMiddleware) when the app's middleware stack is built, before the first
request: web.guards.Guards passes it on here with `add_api`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _integers(item: Mapping[str, Any]) -> list[str]:
    """The names of a path's integer path parameters."""
    return [
        parameter["name"]
        for parameter in item.get("parameters", [])
        if parameter.get("in") == "path" and parameter.get("schema", {}).get("type") == "integer"
    ]


def _pattern(template: str, integers: list[str]) -> re.Pattern[str]:
    """The template as a regex; integer parameters match digits only, as the router does."""
    pattern = re.escape(template)
    for number, name in enumerate(re.findall(r"\{([^}/]+)\}", template)):
        segment = f"(?P<i{number}>-?[0-9]+)" if name in integers else "[^/]+"
        pattern = pattern.replace(re.escape("{" + name + "}"), segment)
    return re.compile(f"^{pattern}$")


class Routes:
    """Which methods each path of the spec answers, and which media types each accepts.

    Empty until `add_api` gives it the app's specification, which connexion does while it builds
    the middleware stack, before any request is served."""

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], dict[str, list[str]]]] = []
        # Each pattern's integer parameters by regex group, for those too long to convert.
        self._integers: dict[re.Pattern[str], dict[str, str]] = {}

    def add_api(self, specification: Mapping[str, Any]) -> None:
        """Take the paths of the app's API from connexion's resolved specification
        (`connexion.spec.Specification`, a mapping of the spec with its `$ref`s resolved). The app
        has one API: a second call (a rebuilt middleware stack) replaces what the first gave."""
        routes: list[tuple[re.Pattern[str], dict[str, list[str]]]] = []
        integer_groups: dict[re.Pattern[str], dict[str, str]] = {}
        for template, item in specification.get("paths", {}).items():
            accepts = {
                method.upper(): list(operation.get("requestBody", {}).get("content", {}))
                for method, operation in item.items()
                if method in HTTP_METHODS
            }
            if "GET" in accepts:
                accepts["HEAD"] = []
            accepts["OPTIONS"] = []  # answered for every path by web.guards.answer_options
            integers = _integers(item)
            pattern = _pattern(template, integers)
            names = re.findall(r"\{([^}/]+)\}", template)
            integer_groups[pattern] = {
                f"i{number}": name for number, name in enumerate(names) if name in integers
            }
            routes.append((pattern, accepts))
        self._routes, self._integers = routes, integer_groups

    def _match(self, path: str) -> dict[str, list[str]] | None:
        for pattern, accepts in self._routes:
            if pattern.match(path):
                return accepts
        return None

    def allowed(self, path: str) -> list[str] | None:
        """The methods this path answers, or None when the spec has no such path."""
        accepts = self._match(path)
        return None if accepts is None else sorted(accepts)

    def accepted_media_types(self, path: str, method: str) -> list[str]:
        """The request media types the spec declares for this path and method."""
        return (self._match(path) or {}).get(method.upper(), [])

    def unconvertible_integer(self, path: str) -> str | None:
        """The name of a path's integer parameter whose digits Python refuses to convert (more
        than `sys.get_int_max_str_digits()`, 4300 by default: a guard against quadratic-time
        parsing), or None. The router would raise ValueError converting it: a 500."""
        limit = sys.get_int_max_str_digits()
        for pattern, _ in self._routes:
            found = pattern.match(path)
            if found is not None:
                for group, name in self._integers[pattern].items():
                    if limit and len(found[group].lstrip("-")) > limit:
                        return name
                return None
        return None

    def allow_header(self, path: str) -> str:
        """The `Allow` header value for a path of the spec."""
        return ", ".join(self.allowed(path) or [])
