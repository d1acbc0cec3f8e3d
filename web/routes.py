"""The spec's paths and methods, for `Allow`, `Accept-Post` and `Accept-Patch` headers."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def resolve(spec: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local `$ref` (`#/components/...`) to what it names."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _integers(spec: dict[str, Any], item: dict[str, Any]) -> list[str]:
    """The names of a path's integer path parameters."""
    return [
        parameter["name"]
        for parameter in (resolve(spec, p) for p in item.get("parameters", []))
        if parameter.get("in") == "path"
        and resolve(spec, parameter.get("schema", {})).get("type") == "integer"
    ]


def _pattern(template: str, integers: list[str]) -> re.Pattern[str]:
    """The template as a regex; integer parameters match digits only, as the router does."""
    pattern = re.escape(template)
    for number, name in enumerate(re.findall(r"\{([^}/]+)\}", template)):
        segment = f"(?P<i{number}>-?[0-9]+)" if name in integers else "[^/]+"
        pattern = pattern.replace(re.escape("{" + name + "}"), segment)
    return re.compile(f"^{pattern}$")


class Routes:
    """Which methods each path of the spec answers, and which media types each accepts."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._routes: list[tuple[re.Pattern[str], dict[str, list[str]]]] = []
        # Each pattern's integer parameters by regex group, for those too long to convert.
        self._integers: dict[re.Pattern[str], dict[str, str]] = {}
        for template, item in spec.get("paths", {}).items():
            accepts = {
                method.upper(): list(
                    resolve(spec, operation.get("requestBody", {})).get("content", {})
                )
                for method, operation in item.items()
                if method in HTTP_METHODS
            }
            if "GET" in accepts:
                accepts["HEAD"] = []
            accepts["OPTIONS"] = []  # answered for every path by web.guards.Options
            integers = _integers(spec, item)
            pattern = _pattern(template, integers)
            names = re.findall(r"\{([^}/]+)\}", template)
            self._integers[pattern] = {
                f"i{number}": name for number, name in enumerate(names) if name in integers
            }
            self._routes.append((pattern, accepts))

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
