"""/secrets and /tokens: HTTP Basic and Bearer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from settings import Settings
from store.db import Database
from store.models import Token
from store.types import utcnow
from tests.conftest import basic

SECRET = "Shhh this is top secret spy stuff!"
CHALLENGES = ['Basic realm="Example", charset="UTF-8"', 'Bearer realm="Example"']


def assert_challenged(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    challenges = list(CHALLENGES)
    if response.request.headers.get("authorization", "").startswith("Bearer "):
        challenges[1] += ', error="invalid_token"'
    assert response.headers.get_list("www-authenticate") == challenges
    body = response.json()
    assert body["message"] == "Authenticate."
    assert body["status"] == 401


def test_secret_with_basic(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/secrets", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.text == SECRET


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("admin", "wrong"),
        basic("nobody", "secret"),
        basic("john", ""),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Digest x"},
        {"Authorization": "Basic"},
    ],
)
def test_secret_without_valid_credentials_is_challenged(
    client: TestClient, headers: dict[str, str]
) -> None:
    assert_challenged(client.get("/secrets", headers=headers))


@pytest.mark.parametrize(
    ("credentials", "bearer"),
    [
        ({}, 'Bearer realm="Example"'),
        (basic("admin", "wrong"), 'Bearer realm="Example"'),
        ({"Authorization": "Bearer not-a-token"}, 'Bearer realm="Example", error="invalid_token"'),
    ],
)
def test_a_script_in_a_web_page_gets_no_basic_challenge(
    client: TestClient, credentials: dict[str, str], bearer: str
) -> None:
    """What Swagger UI sends: a Basic challenge would open the browser's own login dialog."""
    scripted = {**credentials, "X-Requested-With": "XMLHttpRequest"}
    response = client.get("/secrets", headers=scripted)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get_list("www-authenticate") == [bearer]
    assert response.json()["message"] == "Authenticate."
    # The same request from any other client (curl, an SDK) still gets both challenges.
    assert_challenged(client.get("/secrets", headers=credentials))


def test_another_x_requested_with_keeps_both_challenges(client: TestClient) -> None:
    assert_challenged(client.get("/secrets", headers={"X-Requested-With": "curl"}))


def test_unknown_user_and_wrong_password_get_the_same_body(client: TestClient) -> None:
    unknown = client.get("/secrets", headers=basic("nobody", "x")).json()
    wrong = client.get("/secrets", headers=basic("admin", "x")).json()
    assert unknown == wrong


def test_token_is_issued_once_and_works_as_bearer(
    client: TestClient, admin: dict[str, str]
) -> None:
    issued = client.post("/tokens", headers=admin)
    assert issued.status_code == 201
    assert issued.headers["cache-control"] == "no-store"
    body = issued.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scopes"] == ["articles:write", "users:admin"]
    assert issued.headers["location"] == f"/tokens/{body['id']}"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    response = client.get("/secrets", headers=bearer)
    assert response.status_code == 200
    assert response.text == SECRET


def test_tokens_are_stored_only_as_hashes(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    token = client.post("/tokens", headers=admin).json()["access_token"]
    db = Database(settings.database_url)
    with db.read() as session:
        stored = [row.token_hash for row in session.query(Token)]
    db.dispose()
    assert len(stored) == 1
    assert token not in stored[0]
    assert len(stored[0]) == 64


def test_an_expired_token_is_refused(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    token = client.post("/tokens", headers=admin).json()["access_token"]
    db = Database(settings.database_url)
    with db.write() as session:
        session.execute(update(Token).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.dispose()
    assert_challenged(client.get("/secrets", headers={"Authorization": f"Bearer {token}"}))


def test_tokens_need_basic_credentials(client: TestClient) -> None:
    assert_challenged(client.post("/tokens"))


def test_user_without_password_cannot_log_in(client: TestClient) -> None:
    assert_challenged(client.get("/secrets", headers=basic("steve", "")))


def test_non_ascii_password_never_500s(client: TestClient) -> None:
    assert_challenged(client.get("/secrets", headers=basic("admin", "sécret✓")))
    latin1 = {
        "Authorization": "Basic "
        + __import__("base64").b64encode("admin:s\xe9".encode("latin-1")).decode()
    }
    assert_challenged(client.get("/secrets", headers=latin1))
