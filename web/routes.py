"""The spec's paths and methods, for `Allow`, `Accept-Post` and `Accept-Patch` headers."""

from __future__ import annotations

import re
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` (`#/components/...`) to what it names."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _pattern(spec: dict[str, Any], template: str, item: dict[str, Any]) -> re.Pattern[str]:
    """The template as a regex; integer parameters match digits only, as the router does."""
    integers = {
        parameter["name"]
        for parameter in (_resolve(spec, p) for p in item.get("parameters", []))
        if parameter.get("in") == "path" and parameter.get("schema", {}).get("type") == "integer"
    }
    pattern = re.escape(template)
    for name in re.findall(r"\{([^}/]+)\}", template):
        segment = "-?[0-9]+" if name in integers else "[^/]+"
        pattern = pattern.replace(re.escape("{" + name + "}"), segment)
    return re.compile(f"^{pattern}$")


class Routes:
    """Which methods each path of the spec answers, and which media types each accepts."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._routes: list[tuple[re.Pattern[str], dict[str, list[str]]]] = []
        for template, item in spec.get("paths", {}).items():
            accepts = {
                method.upper(): list(
                    _resolve(spec, operation.get("requestBody", {})).get("content", {})
                )
                for method, operation in item.items()
                if method in HTTP_METHODS
            }
            if "GET" in accepts:
                accepts["HEAD"] = []
            accepts["OPTIONS"] = []  # answered for every path by web.guards.Options
            self._routes.append((_pattern(spec, template, item), accepts))

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

    def allow_header(self, path: str) -> str:
        """The `Allow` header value for a path of the spec."""
        return ", ".join(self.allowed(path) or [])
