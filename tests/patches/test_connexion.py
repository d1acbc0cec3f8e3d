"""The connexion and a2wsgi patches (web.patches.one_hop, decorate_once, validation_once) and the
validator fast paths (web.validators): the upstream code they replace is still the code they were
written against, they change only the app they are installed on, and they do what they say (one
thread hop at most, decorators and validators built once)."""

from __future__ import annotations

import copy
import dataclasses
import gc
import hashlib
import inspect
import re
import threading
import typing as t
from collections.abc import Iterator
from pathlib import Path

import connexion
import flask
import pytest
from connexion.apps.flask import FlaskOperation
from connexion.middleware.request_validation import (
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators import (
    AbstractRequestBodyValidator,
    AbstractResponseBodyValidator,
    FormDataValidator,
    JSONRequestBodyValidator,
)
from starlette.testclient import TestClient

from app import create_app, load_spec
from handlers import articles, hello
from settings import Settings
from web import marks, patches, validators
from web.patches import decorate_once, one_hop, shadow, validation_once
from web.patches.spec_as_written import SpecAsWrittenRoutingAll

# What web.validators reproduces, or calls the underscore hooks it overrides from (`_validate`,
# `_validator`: renamed upstream, ours would silently stop running).
VALIDATORS_RELY_ON: dict[str, t.Any] = {
    "connexion.uri_parsing.OpenAPIURIParser.resolve_query": OpenAPIURIParser.resolve_query,
    "connexion.validators.abstract.AbstractRequestBodyValidator.wrap_receive": (
        AbstractRequestBodyValidator.wrap_receive
    ),
    "connexion.validators.abstract.AbstractResponseBodyValidator.wrap_send": (
        AbstractResponseBodyValidator.wrap_send
    ),
    "connexion.validators.json.JSONRequestBodyValidator._validate": (
        JSONRequestBodyValidator._validate
    ),
    "connexion.validators.form_data.FormDataValidator._validate": FormDataValidator._validate,
}
UPSTREAM = {
    **one_hop.UPSTREAM,
    **validation_once.UPSTREAM,
    **decorate_once.UPSTREAM,
    **VALIDATORS_RELY_ON,
}
# sha256 of the source of each upstream function the patches (and web.validators' fast paths)
# replace, reproduce or rely on, as reviewed (connexion 3.3.0, a2wsgi 1.10). A mismatch means a
# new release changed it: read the new code, bring the patch in line (or delete it if upstream
# fixed the waste: rerun `make bench-patches`), update the hash.
REVIEWED = {
    "connexion.utils.extract_content_type": "cf05b8c47077bb9b",
    "connexion.middleware.request_validation.RequestValidationOperation.extract_content_type": (
        "b08fa016a712fc41"
    ),
    "connexion.middleware.request_validation.RequestValidationOperation.__call__": (
        "af472716211911b9"
    ),
    "connexion.middleware.request_validation.RequestValidationAPI.make_operation": (
        "55b32cb8b0ab229e"
    ),
    "connexion.decorators.parameter.SyncParameterDecorator.__call__": "2e90e51508fd9e22",
    "connexion.decorators.parameter.prep_kwargs": "46eb57dd9685e1c4",
    "connexion.decorators.parameter.get_arguments": "b2912a96f0107039",
    "connexion.decorators.parameter._get_query_arguments": "77f3e0a63d78d965",
    "connexion.decorators.parameter._get_body_argument": "ad0202326b99a5b7",
    "connexion.uri_parsing.AbstractURIParser.resolve_params": "cd5c04e13032a24c",
    "connexion.uri_parsing.OpenAPIURIParser.resolve_query": "446701f944d63e58",
    "connexion.apps.flask.FlaskOperation.__init__": "09b0d7fdd70326ed",
    "connexion.apps.flask.FlaskASGIApp.add_api": "ddbdd408941666a0",
    "connexion.validators.abstract.AbstractRequestBodyValidator.wrap_receive": "44c469448a6e46fb",
    "connexion.validators.abstract.AbstractResponseBodyValidator.wrap_send": "2afeb9dc43b80601",
    "connexion.validators.json.JSONRequestBodyValidator._validate": "273956bb6cb6dd4e",
    "connexion.validators.form_data.FormDataValidator._validate": "7ce82dcb557f5861",
    "connexion.apps.flask.FlaskOperation.fn": "8e9389bf42b9e519",
    "connexion.apps.flask.FlaskASGIApp.__init__": "cc0d31503b250f26",
    "connexion.decorators.main.WSGIDecorator.__call__": "9a1025c77773ed68",
    "a2wsgi.wsgi.build_environ": "ec8bf30cd7ba800c",
}


@pytest.mark.parametrize("name", sorted(REVIEWED))
def test_upstream_code_is_the_reviewed_code(name: str) -> None:
    source = inspect.getsource(UPSTREAM[name])
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == REVIEWED[name], (
        f"{name} changed upstream; re-review the web.patches module that names it"
    )


def test_every_upstream_function_relied_on_is_reviewed() -> None:
    assert sorted(UPSTREAM) == sorted(REVIEWED)


def test_a_production_app_keeps_the_contract(settings: Settings) -> None:
    production = create_app(dataclasses.replace(settings, app_env="production"))
    with production.test_client() as client:
        page = client.get("/articles", headers={"Accept": "application/json"})
        assert page.status_code == 200
        assert page.json()["links"]["self"] == {"href": "/articles"}
        refused = client.get("/articles?limit=1000")
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"


def test_the_flask_app_is_served_by_the_one_hop_adapter(client: TestClient) -> None:
    assert isinstance(one_hop.adapter(client.app), one_hop.OneHopWSGI)  # type: ignore[arg-type]


def test_the_patches_change_only_the_app_they_are_installed_on(settings: Settings) -> None:
    create_app(settings)
    assert FlaskOperation.fn.fget is UPSTREAM["connexion.apps.flask.FlaskOperation.fn"]
    call = "connexion.middleware.request_validation.RequestValidationOperation.__call__"
    assert RequestValidationOperation.__call__ is UPSTREAM[call]
    plain = connexion.FlaskApp(__name__)
    plain.add_api(copy.deepcopy(SMALL_SPEC))
    assert not isinstance(one_hop.adapter(plain), one_hop.OneHopWSGI)
    views = plain.app.view_functions.values()
    assert not any(isinstance(view, decorate_once.DecoratedOnce) for view in views)


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The name of the thread each Flask request ran on."""
    seen: list[str] = []
    original = one_hop._run_wsgi

    def recording(app, environ):  # type: ignore[no-untyped-def]
        seen.append(threading.current_thread().name)
        return original(app, environ)

    monkeypatch.setattr(one_hop, "_run_wsgi", recording)
    yield seen


def test_inline_handlers_run_on_the_event_loop_others_in_one_worker_thread(
    client: TestClient, threads: list[str]
) -> None:
    assert marks.is_inline(hello.get_hello)
    assert not marks.is_inline(articles.list_articles)

    assert client.get("/hello").text == "Hello John Doe"
    assert client.get("/articles").status_code == 200

    loop_thread, article_thread = threads
    assert not loop_thread.startswith("WSGI")
    assert article_thread.startswith("WSGI")


def test_request_and_response_survive_the_adapter_byte_for_byte(client: TestClient) -> None:
    body = "grüße\r\n\x00 " * 1000
    stored = client.post(
        "/messages",
        content=body.encode(),
        headers={"Content-Type": "text/plain; charset=utf-8", "Accept": "application/json"},
    )
    assert stored.status_code == 201
    read = client.get(stored.headers["Location"])
    assert read.content == body.encode()
    assert read.headers["content-type"] == "text/plain; charset=utf-8"
    assert read.headers["x-content-type-options"] == "nosniff"


def test_an_exception_in_a_threaded_handler_is_still_a_problem(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("store.articles.get", broken)
    response = client.get("/articles/1")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "boom" not in response.text


def test_handlers_are_decorated_once_per_operation(client: TestClient) -> None:
    client.get("/hello")
    operations = [
        view
        for view in client.app.app.view_functions.values()  # type: ignore[attr-defined]
        if isinstance(view, FlaskOperation)
    ]
    assert all(isinstance(operation, decorate_once.DecoratedOnce) for operation in operations)
    assert operations
    for operation in operations:
        assert operation.fn is operation.fn


def test_request_validators_are_built_once_per_operation(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    original_init = validators.ParameterErrors.__init__

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(validators.ParameterErrors, "__init__", counting)
    with create_app(settings).test_client() as client:
        for _ in range(3):
            assert client.get("/hello?name=x").status_code == 200
        assert client.get("/hello?name=" + "x" * 101).status_code == 400  # still validated
    assert len(built) == 1


def test_per_operation_caches_stay_bounded_whatever_clients_send(client: TestClient) -> None:
    for number in range(validation_once.CACHED_PER_OPERATION + 20):
        response = client.post(
            "/messages",
            content=b'{"text": "hi"}',
            headers={"Content-Type": f"application/json; charset=x-{number}"},
        )
        assert response.status_code in (201, 400), response.text
    gc.unfreeze()  # the started app froze its heap, out of gc.get_objects()'s sight
    caches = [
        operation.validators
        for operation in gc.get_objects()
        if isinstance(operation, validation_once.CachedValidationOperation)
    ]
    assert caches
    assert max(len(cache) for cache in caches) <= validation_once.CACHED_PER_OPERATION


def test_schema_validators_are_compiled_once_per_schema() -> None:
    schema = {"type": "integer", "minimum": 1}
    assert validators.draft4(schema) is validators.draft4(schema)
    assert validators.draft4(dict(schema)) is not validators.draft4(schema)


def test_every_parameter_and_json_body_of_the_spec_gets_a_quick_check() -> None:
    spec = connexion.spec.Specification.from_dict(load_spec())
    checked = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            for parameter in item.get("parameters", []) + operation.get("parameters", []):
                assert validators.quick(parameter["schema"]) is not None, (path, method, parameter)
                checked.append(parameter["name"])
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                if "json" in media_type:  # as connexion gives it: with the spec's components
                    schema = {**content["schema"], "components": spec["components"]}
                    assert validators.quick(schema) is not None, (path, method, media_type)
                    checked.append(media_type)
    assert {"articleId", "name", "If-Match", "application/merge-patch+json"} <= set(checked)


@pytest.mark.parametrize(
    ("schema", "value", "valid"),
    [
        ({"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, 2**63 - 1, True),
        ({"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, 2**63, False),
        ({"type": "integer"}, 2**70, True),
        ({"type": "integer"}, 1.0, False),
        ({"type": "integer"}, True, False),
        ({"type": "string", "minLength": 1, "maxLength": 3}, "\U0001f600" * 3, True),
        ({"type": "string", "pattern": "^[^\\x00]+$"}, "a\x00b", False),
        ({"type": "string", "format": "date-time"}, "yesterday", False),
        ({"type": "object", "additionalProperties": False}, {"id": 1}, False),
    ],
)
def test_the_quick_check_agrees_with_jsonschema(
    schema: dict[str, t.Any], value: object, valid: bool
) -> None:
    assert validators.draft4(schema).is_valid(value) is valid
    assert validators.passes(validators.quick(schema), value) is valid


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "number"}, float("nan")),
        # Python's `$` allows a final newline:
        ({"type": "string", "pattern": "^[a-z]{3}$"}, "abc\n"),
        # OpenAPI's `nullable`, connexion's extension:
        ({"type": "string", "nullable": True}, None),
        # not even passed to it:
        ({"type": "string"}, "\ud800"),
    ],
)
def test_where_the_quick_check_is_stricter_jsonschema_decides(
    schema: dict[str, t.Any], value: object
) -> None:
    assert not validators.passes(validators.quick(schema), value)
    connexions = connexion.json_schema.Draft4RequestValidator(schema)
    assert connexions.is_valid(value)


def test_valid_requests_skip_jsonschema(
    client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shadow, "VERIFY", False)  # the service's own mode: fast paths alone
    full: list[str] = []
    original = validators.ParameterErrors.validate_request

    def counting(self, request):  # type: ignore[no-untyped-def]
        full.append("parameters")
        return original(self, request)

    monkeypatch.setattr(validators.ParameterErrors, "validate_request", counting)
    with monkeypatch.context() as patched:
        patched.setattr(validators, "draft4", lambda schema: pytest.fail("jsonschema was asked"))
        patched.setattr(
            validators.JSONBodyValidator,
            "_validator",
            property(lambda self: pytest.fail("jsonschema was asked about a body")),
        )
        assert client.get("/hello?name=x").text == "Hello x"
        made = client.post("/articles", json={"title": "T", "body": "B"}, headers=admin)
        assert made.status_code == 201
        assert client.get(made.headers["Location"]).status_code == 200
    assert full == []
    # Refused by the quick check: connexion's own validation gives the verdict and the detail.
    too_long = client.get("/hello?name=" + "x" * 101)
    assert too_long.status_code == 400
    assert too_long.json()["detail"] == (
        "The query parameter `name` breaks its `maxLength` rule (100)."
    )
    assert full == ["parameters"]
    unknown = client.post("/articles", json={"title": "T", "body": "B", "id": 9}, headers=admin)
    assert unknown.status_code == 400
    assert "`id`" in unknown.json()["detail"]


def test_a_quick_check_more_lenient_than_jsonschema_fails_the_suite(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validators, "passes", lambda check, value: True)  # lets anything through
    assert client.get("/hello?name=" + "x" * 101).status_code == 500
    assert shadow.MISMATCHES == [
        "parameter validation: fast path gave 'valid', connexion "
        "'The query parameter `name` breaks its `maxLength` rule (100).'"
    ]
    shadow.MISMATCHES.clear()  # seen: the suite's own check (conftest) would fail the test


def _plans(client: TestClient) -> dict[str, t.Any]:
    """operationId -> the plan its handler was bound with (absent until its first request)."""
    views = client.app.app.view_functions.values()  # type: ignore[attr-defined]
    return {
        view.operation_id.rpartition(".")[2]: view.fn.plans[0]
        for view in views
        if isinstance(view, FlaskOperation) and view.fn.plans
    }


def test_this_services_operations_are_bound_by_a_plan(
    client: TestClient, admin: dict[str, str]
) -> None:
    token = client.post("/tokens", headers=admin).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    made = client.post("/articles", json={"title": "T", "body": "B"}, headers=bearer)
    assert made.status_code == 201
    assert client.get(made.headers["Location"]).status_code == 200
    assert client.get("/articles?limit=2&author=admin").status_code == 200
    assert client.get("/hello?name=plan").text == "Hello plan"
    upload = client.post("/messages", files={"file": ("a.txt", b"abc", "text/plain")})
    assert upload.status_code == 201
    plans = _plans(client)
    assert set(plans) >= {
        "post_token", "post_article", "get_article", "list_articles", "get_hello", "post_message"
    }  # fmt: skip
    assert all(plan is not None for plan in plans.values()), plans


# A small API of its own for what this service's spec does not use: an array parameter (no plan:
# connexion binds every request) and a form body (a plan, but connexion binds form requests).
SMALL_SPEC: dict[str, t.Any] = {
    "openapi": "3.0.3",
    "info": {"title": "fallback", "version": "1"},
    "paths": {
        "/things": {
            "get": {
                "operationId": "tests.patches.test_connexion.list_things",
                "parameters": [
                    {
                        "name": "tag",
                        "in": "query",
                        "schema": {"type": "array", "items": {"type": "integer"}},
                    }
                ],
                "responses": {"200": {"description": "the tags"}},
            },
            "post": {
                "operationId": "tests.patches.test_connexion.post_thing",
                "parameters": [
                    {"name": "dry", "in": "query", "schema": {"type": "boolean", "default": False}}
                ],
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {"count": {"type": "integer"}},
                            }
                        },
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"count": {"type": "integer"}},
                            }
                        },
                    }
                },
                "responses": {"200": {"description": "what the handler got"}},
            },
        }
    },
}


def list_things(tag: list[int] | None = None) -> flask.Response:
    return flask.jsonify(tag=tag)


def post_thing(body: dict[str, t.Any], dry: bool) -> flask.Response:
    return flask.jsonify(body=body, dry=dry)


def test_what_a_plan_does_not_cover_connexion_binds() -> None:
    app = connexion.FlaskApp(__name__, middlewares=patches.middlewares())
    app.add_api(copy.deepcopy(SMALL_SPEC))
    patches.install(app, threads=1)
    with app.test_client() as client:
        assert client.get("/things?tag=1&tag=2").json() == {"tag": [1, 2]}
        assert client.post("/things", data={"count": "3"}).json() == {
            "body": {"count": 3},
            "dry": False,
        }
        assert client.post("/things?dry=true", json={"count": 4}).json() == {
            "body": {"count": 4},
            "dry": True,
        }
        plans = _plans(client)
    assert plans["list_things"] is None  # arrays: connexion binds
    assert plans["post_thing"] is not None  # JSON by the plan, the form by connexion


def test_handlers_import_nothing_from_the_patches() -> None:
    handlers = Path(__file__).resolve().parents[2] / "handlers"
    importing = [
        path.name
        for path in sorted(handlers.glob("*.py"))
        if re.search(
            r"^\s*(from web\.patches|import web\.patches|from web import .*\bpatches\b)",
            path.read_text(),
            re.M,
        )
    ]
    assert importing == []


def test_make_bench_patches_can_turn_each_patch_off(settings: Settings) -> None:
    assert Settings.from_env({"PATCHES_OFF": "one_hop, plans"}).patches_off == {"one_hop", "plans"}
    off = dataclasses.replace(settings, patches_off=frozenset({"one_hop", "decorate_once"}))
    app = create_app(off)
    with app.test_client() as client:
        assert client.get("/hello").text == "Hello John Doe"
    assert not isinstance(one_hop.adapter(app), one_hop.OneHopWSGI)
    views = app.app.view_functions.values()
    assert not any(isinstance(view, decorate_once.DecoratedOnce) for view in views)
    stack = patches.middlewares(frozenset({"ui_bypass", "validation_once"}))
    assert SpecAsWrittenRoutingAll in stack
    assert RequestValidationMiddleware in stack
    assert validation_once.CachedValidationMiddleware not in stack
    routed = dataclasses.replace(settings, patches_off=frozenset({"ui_bypass", "validation_once"}))
    with create_app(routed).test_client() as client:
        assert client.get("/hello?name=" + "x" * 101).status_code == 400
        assert client.get("/openapi.json").json()["info"]["title"] == "Articles API"
    with pytest.raises(ValueError, match="PATCHES_OFF names no switch: fastpath"):
        create_app(dataclasses.replace(settings, patches_off=frozenset({"fastpath"})))
