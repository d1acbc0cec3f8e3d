"""The contract itself: valid OpenAPI 3.0, and operationIds one-to-one with handler functions."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import date

from openapi_spec_validator import validate

import handlers
from app import load_spec
from web.routes import HTTP_METHODS


def operations() -> list[dict]:  # type: ignore[type-arg]
    spec = load_spec()
    return [
        operation
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def operation_ids() -> list[str]:
    return [operation["operationId"] for operation in operations()]


def handler_functions() -> set[str]:
    names = set()
    for module_info in pkgutil.iter_modules(handlers.__path__):
        module = importlib.import_module(f"handlers.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                names.add(f"{module.__name__}.{name}")
    return names


def test_spec_is_valid_openapi_3_0() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.0.")
    validate(spec)


def test_every_operation_id_is_unique_and_names_a_handler() -> None:
    ids = operation_ids()
    assert len(ids) == len(set(ids))
    # Short ids read well as SDK method names; the controller says which module serves them.
    assert all(identifier.isidentifier() for identifier in ids)
    targets = {f"{op['x-openapi-router-controller']}.{op['operationId']}" for op in operations()}
    assert targets == handler_functions()


def test_every_operation_has_summary_description_and_tags() -> None:
    spec = load_spec()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                label = f"{method.upper()} {path}"
                assert operation.get("summary"), label
                assert operation.get("description"), label
                assert operation.get("tags"), label


def test_security_callbacks_resolve() -> None:
    schemes = load_spec()["components"]["securitySchemes"]
    for scheme in schemes.values():
        dotted = scheme.get("x-basicInfoFunc") or scheme.get("x-bearerInfoFunc")
        module, _, name = dotted.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))


def test_every_error_response_is_problem_json_and_500_is_declared() -> None:
    spec = load_spec()
    responses = spec["components"]["responses"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            label = f"{method.upper()} {path}"
            assert "500" in operation["responses"], label
            for status, response in operation["responses"].items():
                if int(status) < 400 or method == "head":
                    continue
                resolved = (
                    responses[response["$ref"].rsplit("/", 1)[1]]
                    if "$ref" in response
                    else response
                )
                assert list(resolved["content"]) == ["application/problem+json"], (label, status)


def resolve(spec: dict, node: dict) -> dict:  # type: ignore[type-arg]
    """A local `$ref` followed to what it names."""
    while "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_every_response_header_path_parameter_and_if_match_has_an_example() -> None:
    """What a mock (Prism, `make mock`) answers with, or sends, instead of the literal `string`."""
    spec = load_spec()
    missing = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for parameter in (
                resolve(spec, p) for p in [*shared, *operation.get("parameters", [])]
            ):
                wanted = parameter["in"] == "path" or parameter["name"] in (
                    "If-Match",
                    "If-None-Match",
                )
                has = "example" in parameter or "example" in parameter.get("schema", {})
                if wanted and not has:
                    missing.append(f"{method.upper()} {path} parameter {parameter['name']}")
            for status, response in operation["responses"].items():
                for name, header in resolve(spec, response).get("headers", {}).items():
                    if "example" not in resolve(spec, header):
                        missing.append(f"{method.upper()} {path} {status} header {name}")
    assert missing == []


def test_error_examples_fit_their_operations() -> None:
    """A 404's example names the operation's own kind of resource and URL; a 415's example lists
    exactly the media types the operation accepts, in the order Accept-Post gives them."""
    spec = load_spec()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation["responses"]
            label = f"{method.upper()} {path}"
            if "404" in responses:
                example = resolve(spec, responses["404"])["content"]["application/problem+json"]
                collection = path.split("/")[1]
                assert f"/{collection}/" in example["example"]["message"], label
                assert collection.rstrip("s") in example["example"]["detail"], label
            if "415" in responses:
                example = resolve(spec, responses["415"])["content"]["application/problem+json"]
                accepted = list(resolve(spec, operation["requestBody"])["content"])
                assert example["example"]["detail"].endswith(
                    f"send one of: {', '.join(accepted)}."
                ), label


def test_every_deprecation_says_when_and_its_answers_declare_the_headers() -> None:
    """What the spec deprecates (web.deprecation) has x-deprecation.date, and a sunset after
    it; every 2xx of a deprecated operation declares Deprecation and Link, and Sunset where
    one is declared. The contract deprecates something (GET /healthz), so this runs."""
    spec = load_spec()
    found = []
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            parameters = [resolve(spec, p) for p in operation.get("parameters", [])]
            for node in [operation, *parameters]:
                if not node.get("deprecated"):
                    continue
                found.append(f"{method.upper()} {template}")
                declared = node["x-deprecation"]
                since = date.fromisoformat(declared["date"])
                if "sunset" in declared:
                    assert date.fromisoformat(declared["sunset"]) > since
                if node is not operation:
                    continue
                for status, response in operation["responses"].items():
                    if not status.startswith("2"):
                        continue
                    names = set(resolve(spec, response).get("headers", {}))
                    wanted = {"Deprecation", "Link"} | (
                        {"Sunset"} if "sunset" in declared else set()
                    )
                    assert wanted <= names, (template, status)
    assert found == ["GET /healthz"]
