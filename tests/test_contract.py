"""Schemathesis against the app in-process: every operation, every default check."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.schemas import OpenApiSchema

from app import create_app
from settings import Settings

CONFIG = {
    "seed": 20121126,
    "auth": {"basic": {"username": "admin", "password": "secret"}},
    "generation": {"max-examples": 40},
    "checks": {
        # A schema-valid If-Match is still a precondition: an arbitrary tag fails it (412), as
        # does a missing one (428). Everything else is schemathesis' default list.
        "positive_data_acceptance": {
            "expected-statuses": [
                "2xx",
                "3xx",
                "401",
                "403",
                "404",
                "409",
                "412",
                "428",
                "429",
                "5xx",
            ]
        }
    },
}


@pytest.fixture
def api_schema(settings: Settings) -> Iterator[OpenApiSchema]:
    """The spec as the running app serves it, bound to that app.

    The fuzzer sends invalid credentials on purpose (its ignored_auth check), far more than the
    failed-login limit allows; test_auth.py tests that limit, so here it is out of the way.
    """
    app = create_app(dataclasses.replace(settings, auth_failure_limit="100000/minute"))
    with app.test_client():
        config = SchemathesisConfig.from_dict(CONFIG)
        yield schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_operation_honours_the_contract(case: schemathesis.Case) -> None:
    case.call_and_validate()
