"""Breaking changes between two OpenAPI 3.0 documents, seen from a client and its generated SDK.

The rules are GitHub's list of breaking changes and then some: an operation, path, parameter,
property, enum value, media type, response status or response header removed; a new required
parameter, property or body; a parameter made required; a type, format or nullability changed;
a request's validation narrowed (or a response's widened: a client may check what it gets); a
security requirement added or changed; an operationId renamed (it names SDK methods). `$ref`s
are followed wherever they point, so a change to a shared component shows at every use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Node = dict[str, Any]
Direction = Literal["request", "response"]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Bounds where a larger new value accepts less (minimum) or more (maximum) than the old one.
LOWER_BOUNDS = ("minimum", "minLength", "minItems", "minProperties")
UPPER_BOUNDS = ("maximum", "maxLength", "maxItems", "maxProperties")
MAX_DEPTH = 32


@dataclass(frozen=True)
class Change:
    """One breaking change: where it is, which rule it breaks, and what changed."""

    location: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.location}: {self.detail} [{self.rule}]"


class Document:
    """An OpenAPI document whose local `$ref`s can be followed."""

    def __init__(self, spec: Node) -> None:
        self.spec = spec

    def resolve(self, node: Any) -> Any:
        """The node a `$ref` chain ends at (the node itself when it is no reference)."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or not ref.startswith("#/"):
                break
            seen.add(ref)
            node = self.spec
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def operations(self) -> Iterator[tuple[str, str, Node, Node]]:
        """(path template, method, path item, operation) for every operation."""
        for path, item in (self.spec.get("paths") or {}).items():
            item = self.resolve(item)
            for method in METHODS:
                if method in item:
                    yield path, method, item, self.resolve(item[method])


def template_key(path: str) -> str:
    """A path template with its parameter names blanked: `/a/{id}` and `/a/{aId}` are one path."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def breaking_changes(old_spec: Node, new_spec: Node) -> list[Change]:
    """Every change from old_spec to new_spec that can break a client of old_spec."""
    return _Comparison(Document(old_spec), Document(new_spec)).run()


class _Comparison:
    def __init__(self, old: Document, new: Document) -> None:
        self.old = old
        self.new = new
        self.changes: list[Change] = []

    def add(self, location: str, rule: str, detail: str) -> None:
        self.changes.append(Change(location, rule, detail))

    def run(self) -> list[Change]:
        new_operations = {
            (template_key(p), m): (p, item, op) for p, m, item, op in self.new.operations()
        }
        new_paths = {template_key(p) for p, _, _, _ in self.new.operations()}
        for path, method, item, operation in self.old.operations():
            where = f"{method.upper()} {path}"
            if template_key(path) not in new_paths:
                self.add(where, "path-removed", f"the path {path} is gone")
            elif (template_key(path), method) not in new_operations:
                self.add(where, "operation-removed", "the operation is gone")
            else:
                _, new_item, new_operation = new_operations[template_key(path), method]
                self.operation(where, item, operation, new_item, new_operation)
        self.security_schemes()
        return self.changes

    def operation(self, where: str, item: Node, op: Node, new_item: Node, new_op: Node) -> None:
        if op.get("operationId") != new_op.get("operationId"):
            self.add(
                where,
                "operationId-renamed",
                f"operationId {op.get('operationId')} is now {new_op.get('operationId')}",
            )
        self.parameters(
            where, self.params(self.old, item, op), self.params(self.new, new_item, new_op)
        )
        self.request_body(where, op.get("requestBody"), new_op.get("requestBody"))
        self.responses(where, op.get("responses") or {}, new_op.get("responses") or {})
        self.security(where, op, new_op)

    @staticmethod
    def params(doc: Document, item: Node, op: Node) -> dict[str, Node]:
        """An operation's parameters by `in.name`, its own overriding its path's."""
        found: dict[str, Node] = {}
        for param in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
            param = doc.resolve(param)
            name = param["name"].lower() if param["in"] == "header" else param["name"]
            found[f"{param['in']}.{name}"] = param
        return found

    def parameters(self, where: str, old: dict[str, Node], new: dict[str, Node]) -> None:
        for key, param in old.items():
            location = f"{where} parameter {key}"
            if key not in new:
                self.add(location, "parameter-removed", "the parameter is gone (or renamed)")
                continue
            if new[key].get("required") and not param.get("required"):
                self.add(location, "parameter-made-required", "the parameter is now required")
            self.schema(location, "request", param.get("schema"), new[key].get("schema"))
        for key, param in new.items():
            if key not in old and param.get("required"):
                self.add(
                    f"{where} parameter {key}",
                    "required-parameter-added",
                    "a new required parameter",
                )

    def request_body(self, where: str, old: Any, new: Any) -> None:
        location = f"{where} request body"
        old, new = self.old.resolve(old), self.new.resolve(new)
        if old is None:
            if new is not None and new.get("required"):
                self.add(location, "request-body-made-required", "a new required request body")
            return
        if new is None:
            self.add(location, "request-body-removed", "the request body is gone")
            return
        if new.get("required") and not old.get("required"):
            self.add(location, "request-body-made-required", "the request body is now required")
        new_content = new.get("content") or {}
        for media_type, media in (old.get("content") or {}).items():
            if media_type not in new_content:
                self.add(
                    f"{location} {media_type}", "request-media-type-removed", "no longer accepted"
                )
            else:
                self.schema(
                    f"{location} {media_type}",
                    "request",
                    media.get("schema"),
                    new_content[media_type].get("schema"),
                )

    def responses(self, where: str, old: Node, new: Node) -> None:
        new = {str(status): response for status, response in new.items()}
        for status, response in old.items():
            location = f"{where} response {status}"
            if str(status) not in new:
                self.add(location, "response-status-removed", "the response status is gone")
                continue
            response = self.old.resolve(response)
            new_response = self.new.resolve(new[str(status)])
            new_content = new_response.get("content") or {}
            for media_type, media in (response.get("content") or {}).items():
                if media_type not in new_content:
                    self.add(
                        f"{location} {media_type}", "response-media-type-removed", "no longer sent"
                    )
                else:
                    self.schema(
                        f"{location} {media_type}",
                        "response",
                        media.get("schema"),
                        new_content[media_type].get("schema"),
                    )
            self.headers(location, response.get("headers") or {}, new_response.get("headers") or {})

    def headers(self, location: str, old: Node, new: Node) -> None:
        new = {name.lower(): self.new.resolve(header) for name, header in new.items()}
        for name, header in old.items():
            header = self.old.resolve(header)
            where = f"{location} header {name}"
            if name.lower() not in new:
                self.add(where, "response-header-removed", "the response header is gone")
                continue
            if header.get("required") and not new[name.lower()].get("required"):
                self.add(
                    where, "response-header-made-optional", "the header is no longer always sent"
                )
            self.schema(where, "response", header.get("schema"), new[name.lower()].get("schema"))

    def security(self, where: str, op: Node, new_op: Node) -> None:
        old = self.requirements(self.old, op)
        new = self.requirements(self.new, new_op)
        if not new or old == new:
            return
        if not old:
            self.add(where, "security-changed", "authentication is now required")
        elif not old <= new:
            lost = "; ".join(sorted(_describe(requirement) for requirement in old - new))
            self.add(where, "security-changed", f"no longer accepted: {lost}")

    @staticmethod
    def requirements(doc: Document, op: Node) -> frozenset[frozenset[tuple[str, tuple[str, ...]]]]:
        """The operation's alternative security requirements; empty when it needs none."""
        listed = op["security"] if "security" in op else doc.spec.get("security") or []
        alternatives = frozenset(
            frozenset((scheme, tuple(sorted(scopes))) for scheme, scopes in requirement.items())
            for requirement in listed
        )
        return frozenset() if frozenset() in alternatives else alternatives

    def security_schemes(self) -> None:
        old = (self.old.spec.get("components") or {}).get("securitySchemes") or {}
        new = (self.new.spec.get("components") or {}).get("securitySchemes") or {}
        for name, scheme in old.items():
            scheme, new_scheme = self.old.resolve(scheme), self.new.resolve(new.get(name))
            if new_scheme is not None and _without_docs(scheme) != _without_docs(new_scheme):
                self.add(
                    f"security scheme {name}", "security-changed", "the scheme's definition changed"
                )

    def schema(self, where: str, direction: Direction, old: Any, new: Any) -> None:
        self.compare_schema(where, direction, old, new, 0)

    def compare_schema(
        self,
        where: str,
        direction: Direction,
        old_node: Any,
        new_node: Any,
        depth: int,
    ) -> None:
        if depth > MAX_DEPTH:  # a recursive schema: what is below was compared already
            return
        old = _merged(self.old, old_node)
        new = _merged(self.new, new_node)
        depth += 1
        request = direction == "request"

        def narrowed(detail: str) -> None:
            if request:
                self.add(where, "validation-narrowed", detail)

        def widened(detail: str) -> None:
            if not request:
                self.add(where, "response-widened", detail)

        for key, rule in (("type", "type-changed"), ("format", "format-changed")):
            if key in old and key in new and old[key] != new[key]:
                self.add(where, rule, f"{key} {old[key]} is now {new[key]}")
            elif key in new and key not in old:
                narrowed(f"{key} {new[key]} where any was accepted")
            elif key in old and key not in new:
                widened(f"{key} {old[key]} is no longer promised")
        if old.get("nullable") and not new.get("nullable"):
            self.add(where, "nullable-removed", "null is no longer allowed")
        elif new.get("nullable") and not old.get("nullable"):
            widened("may now be null")

        for key in LOWER_BOUNDS + UPPER_BOUNDS:
            before, after = old.get(key), new.get(key)
            if before == after:
                continue
            stricter = after is not None and (
                before is None or (after > before if key in LOWER_BOUNDS else after < before)
            )
            (narrowed if stricter else widened)(f"{key} {_show(before)} is now {_show(after)}")
        for key in ("exclusiveMinimum", "exclusiveMaximum", "uniqueItems"):
            if bool(old.get(key)) != bool(new.get(key)):
                (narrowed if new.get(key) else widened)(f"{key} is now {bool(new.get(key))}")
        for key in ("pattern", "multipleOf"):
            if old.get(key) != new.get(key):
                if key in new:
                    narrowed(f"{key} {_show(old.get(key))} is now {_show(new.get(key))}")
                if key in old:
                    widened(f"{key} {_show(old.get(key))} is now {_show(new.get(key))}")

        if "enum" in old and "enum" in new:
            removed = [value for value in old["enum"] if value not in new["enum"]]
            added = [value for value in new["enum"] if value not in old["enum"]]
            if removed:
                self.add(where, "enum-value-removed", f"enum values removed: {_values(removed)}")
            if added:
                widened(f"enum values added: {_values(added)}")
        elif "enum" in new:
            narrowed(f"only {_values(new['enum'])} are now allowed")
        elif "enum" in old:
            widened(f"enum {_values(old['enum'])} is no longer promised")

        old_properties = old.get("properties") or {}
        new_properties = new.get("properties") or {}
        old_required = set(old.get("required") or [])
        new_required = set(new.get("required") or [])
        for name, schema in old_properties.items():
            if name not in new_properties:
                self.add(
                    f"{where} .{name}", "property-removed", "the property is gone (or renamed)"
                )
            else:
                self.compare_schema(
                    f"{where} .{name}", direction, schema, new_properties[name], depth
                )
        if request:
            for name in sorted(new_required - old_required):
                self.add(
                    f"{where} .{name}", "required-property-added", "the property is now required"
                )
        else:
            for name in sorted(old_required - new_required):
                self.add(
                    f"{where} .{name}", "response-property-made-optional", "no longer always sent"
                )

        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if new_extra is False and old_extra is not False:
            narrowed("additional properties are no longer accepted")
        elif isinstance(old_extra, dict) and isinstance(new_extra, dict):
            self.compare_schema(f"{where} .*", direction, old_extra, new_extra, depth)
        if "items" in old and "items" in new:
            self.compare_schema(f"{where} []", direction, old["items"], new["items"], depth)
        for key in ("oneOf", "anyOf"):
            before, after = old.get(key) or [], new.get(key) or []
            for index, (a, b) in enumerate(zip(before, after, strict=False)):
                self.compare_schema(f"{where} {key}[{index}]", direction, a, b, depth)
            if len(after) < len(before):
                narrowed(f"{key} has {len(before) - len(after)} alternatives fewer")
            elif len(after) > len(before) and before:
                widened(f"{key} has {len(after) - len(before)} alternatives more")


def _merged(doc: Document, node: Any) -> Node:
    """A schema with its `$ref` followed and its `allOf` parts merged into one."""
    schema = doc.resolve(node)
    if not isinstance(schema, dict):
        return {}
    if "allOf" not in schema:
        return schema
    merged: Node = {key: value for key, value in schema.items() if key != "allOf"}
    for part in schema["allOf"]:
        part = _merged(doc, part)
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _without_docs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_docs(v) for k, v in node.items() if k != "description"}
    return node


def _describe(requirement: frozenset[tuple[str, tuple[str, ...]]]) -> str:
    return " + ".join(
        f"{scheme}({', '.join(scopes)})" if scopes else scheme
        for scheme, scopes in sorted(requirement)
    )


def _show(value: Any) -> str:
    return "none" if value is None else repr(value) if isinstance(value, str) else str(value)


def _values(values: list[Any]) -> str:
    return ", ".join(_show(value) for value in values)
