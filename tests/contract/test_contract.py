"""Schemathesis against the app in-process: every operation, every default check.

Twice: as the admin (every operation's positive paths), and as three users through Web Fuzzing
Commons identities (alice, bob, then admin), which schemathesis swaps between for its auth checks
(ignored_auth, and object_level_authorization on the reads that need credentials).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.schemas import OpenApiSchema

from app import create_app
from settings import Settings
from tests.conftest import basic

IDENTITIES = {"alice": "alice-password", "bob": "bob-password", "admin": "secret"}
CONFIG = {
    "seed": 20121126,
    "generation": {"max-examples": 30},
    "checks": {
        # A schema-valid If-Match is still a precondition: an arbitrary tag fails it (412), as
        # does a missing one (428). A schema-valid Idempotency-Key may have been used for
        # another request already (422): schemathesis sends the same key with many bodies.
        # Everything else is schemathesis' default list.
        "positive_data_acceptance": {
            "expected-statuses": [
                "2xx",
                "3xx",
                "401",
                "403",
                "404",
                "409",
                "412",
                "422",
                "428",
                "429",
                "5xx",
            ]
        }
    },
}


def wfc_document(path: Path) -> Path:
    """Web Fuzzing Commons auth: one identity per user, so schemathesis can swap them."""
    entries = [
        {
            "name": name,
            "fixedHeaders": [{"name": "Authorization", "value": basic(name, pw)["Authorization"]}],
        }
        for name, pw in IDENTITIES.items()
    ]
    path.write_text(json.dumps({"auth": entries}))
    return path


@pytest.fixture(params=["admin", "three-users"])
def api_schema(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> Iterator[OpenApiSchema]:
    """The spec as the running app serves it, bound to that app, with alice and bob in it,
    under the default failed-login limits (the fixed invalid credentials of schemathesis'
    ignored_auth check count once, test_auth.py)."""
    if request.param == "three-users" and not settings.database_url.startswith("sqlite"):
        # Who may change what is decided in auth/ and store/ alike for both databases; the
        # admin run covers PostgreSQL. (CI's time: each run is about a minute.)
        pytest.skip("the three identities run on SQLite; the admin on both databases")
    app = create_app(settings)
    with app.test_client() as client:
        for name in ("alice", "bob"):
            user = {"username": name, "password": IDENTITIES[name]}
            assert (
                client.post("/users", json=user, headers=basic("admin", "secret")).status_code
                == 201
            )
        if request.param == "admin":
            auth = {"basic": {"username": "admin", "password": "secret"}}
        else:
            auth = {"wfc": {"path": str(wfc_document(tmp_path / "auth.json"))}}
        config = SchemathesisConfig.from_dict({**CONFIG, "auth": auth})
        yield schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_operation_honours_the_contract(case: schemathesis.Case) -> None:
    case.call_and_validate()
