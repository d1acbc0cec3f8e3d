"""Tokens, scopes, roles, limits on guessing, the production profile, and no leaks."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from app import create_app
from settings import Settings, SettingsError
from store.db import Database
from store.models import Article, Token, User
from tests.conftest import REDIS_URL, basic

ROOT = Path(__file__).resolve().parent.parent


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_user(client: TestClient, admin: dict[str, str], name: str) -> dict[str, str]:
    response = client.post(
        "/users", json={"username": name, "password": "password-1"}, headers=admin
    )
    assert response.status_code == 201, response.text
    return basic(name, "password-1")


def issue(client: TestClient, credentials: dict[str, str], **request: object) -> dict:  # type: ignore[type-arg]
    response = client.post("/tokens", json=request or None, headers=credentials)
    assert response.status_code == 201, response.text
    return response.json()


# --- tokens ------------------------------------------------------------------------------------


def test_token_lifetime_and_scopes_follow_the_request(
    client: TestClient, admin: dict[str, str]
) -> None:
    token = issue(client, admin, expires_in=120, scopes=["articles:write"])
    assert token["expires_in"] == 120
    assert token["scopes"] == ["articles:write"]


def test_a_users_token_gets_only_what_the_role_allows(
    client: TestClient, admin: dict[str, str]
) -> None:
    alice = new_user(client, admin, "alice")
    assert issue(client, alice)["scopes"] == ["articles:write"]
    refused = client.post("/tokens", json={"scopes": ["users:admin"]}, headers=alice)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "request_body", [{"expires_in": 59}, {"expires_in": 86401}, {"scopes": ["root"]}, {"x": 1}]
)
def test_bad_token_requests_are_400(
    client: TestClient, admin: dict[str, str], request_body: dict
) -> None:  # type: ignore[type-arg]
    assert client.post("/tokens", json=request_body, headers=admin).status_code == 400


def test_tokens_need_basic_not_a_token(client: TestClient, admin: dict[str, str]) -> None:
    token = issue(client, admin)["access_token"]
    assert client.post("/tokens", headers=bearer(token)).status_code == 401


def test_list_shows_the_callers_tokens_without_values(
    client: TestClient, admin: dict[str, str]
) -> None:
    alice = new_user(client, admin, "alice")
    mine = [issue(client, alice) for _ in range(2)]
    issue(client, admin)
    listing = client.get("/tokens", headers=alice)
    assert listing.status_code == 200
    assert listing.headers["cache-control"] == "no-store"
    items = listing.json()["items"]
    assert [item["id"] for item in items] == [token["id"] for token in mine]
    for token in mine:
        assert token["access_token"] not in listing.text
    assert set(items[0]) == {"id", "scopes", "created_at", "expires_at"}


def test_a_revoked_token_stops_working_at_once(client: TestClient, admin: dict[str, str]) -> None:
    token = issue(client, admin)
    assert client.get("/secrets", headers=bearer(token["access_token"])).status_code == 200
    revoked = client.delete(f"/tokens/{token['id']}", headers=bearer(token["access_token"]))
    assert revoked.status_code == 204
    refused = client.get("/secrets", headers=bearer(token["access_token"]))
    assert refused.status_code == 401
    assert (
        refused.headers.get_list("www-authenticate")[1]
        == 'Bearer realm="Example", error="invalid_token"'
    )


def test_someone_elses_token_cannot_be_revoked(client: TestClient, admin: dict[str, str]) -> None:
    alice = new_user(client, admin, "alice")
    token = issue(client, admin)
    assert client.delete(f"/tokens/{token['id']}", headers=alice).status_code == 404
    assert client.get("/secrets", headers=bearer(token["access_token"])).status_code == 200


def test_tokens_in_the_query_string_are_never_accepted(
    client: TestClient, admin: dict[str, str]
) -> None:
    token = issue(client, admin)["access_token"]
    assert client.get(f"/secrets?access_token={token}").status_code == 401


# --- scopes ------------------------------------------------------------------------------------


def test_a_token_without_the_scope_gets_403_insufficient_scope(
    client: TestClient, admin: dict[str, str]
) -> None:
    writer = issue(client, admin, scopes=["articles:write"])["access_token"]
    refused = client.post(
        "/users", json={"username": "eve", "password": "password-1"}, headers=bearer(writer)
    )
    assert refused.status_code == 403
    assert refused.headers["www-authenticate"] == (
        'Bearer realm="Example", error="insufficient_scope", scope="users:admin"'
    )
    reader = issue(client, admin, scopes=[])["access_token"]
    no_write = client.post("/articles", json={"title": "T", "body": "B"}, headers=bearer(reader))
    assert no_write.status_code == 403
    assert 'scope="articles:write"' in no_write.headers["www-authenticate"]
    assert client.get("/secrets", headers=bearer(reader)).status_code == 200
    assert client.get("/articles").text == "List of /articles\n"
    assert [u["username"] for u in client.get("/users").json()["items"]][-1] == "admin"


# --- limits on guessing ------------------------------------------------------------------------


def limited(settings: Settings, rate: str = "5/minute", redis_url: str | None = None) -> TestClient:
    return create_app(
        dataclasses.replace(settings, auth_failure_limit=rate, redis_url=redis_url)
    ).test_client()


def test_five_failures_lock_out_even_the_right_password(settings: Settings) -> None:
    with limited(settings) as client:
        for _ in range(5):
            assert client.get("/secrets", headers=basic("admin", "wrong")).status_code == 401
        locked = client.get("/secrets", headers=basic("admin", "secret"))
        assert locked.status_code == 429
        assert locked.headers["content-type"] == "application/problem+json"
        assert 1 <= int(locked.headers["retry-after"]) <= 60
        assert locked.json()["status"] == 429


def test_the_lock_lifts_when_the_window_passes(settings: Settings) -> None:
    with limited(settings, "2/2 seconds") as client:
        for _ in range(2):
            client.get("/secrets", headers=basic("admin", "wrong"))
        assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 429
        time.sleep(2.2)
        assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 200


def test_bad_tokens_count_too(settings: Settings) -> None:
    with limited(settings, "3/minute") as client:
        for _ in range(3):
            assert client.get("/secrets", headers=bearer("guess")).status_code == 401
        assert client.get("/secrets", headers=bearer("guess")).status_code == 429


def test_successes_do_not_count(settings: Settings) -> None:
    with limited(settings, "2/minute") as client:
        for _ in range(5):
            assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 200


@pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to test limits shared through Redis")
def test_limits_are_shared_through_redis(settings: Settings) -> None:
    import redis

    assert REDIS_URL is not None
    redis.Redis.from_url(REDIS_URL).flushdb()
    with (
        limited(settings, "3/minute", REDIS_URL) as first,
        limited(settings, "3/minute", REDIS_URL) as second,
    ):
        for _ in range(3):
            assert first.get("/secrets", headers=basic("admin", "wrong")).status_code == 401
        assert second.get("/secrets", headers=basic("admin", "secret")).status_code == 429
    redis.Redis.from_url(REDIS_URL).flushdb()


# --- the production profile ---------------------------------------------------------------------


@pytest.mark.parametrize("password", [None, "", "secret", "short-pass"])
def test_production_refuses_a_weak_admin_password(password: str | None) -> None:
    env = {"APP_ENV": "production"} | ({} if password is None else {"ADMIN_PASSWORD": password})
    with pytest.raises(SettingsError, match="APP_ENV=production needs ADMIN_PASSWORD"):
        Settings.from_env(env)


def test_production_takes_a_strong_password_or_a_file(tmp_path: Path) -> None:
    assert (
        Settings.from_env(
            {"APP_ENV": "production", "ADMIN_PASSWORD": "a-long-passphrase"}
        ).admin_password
        == "a-long-passphrase"
    )
    secret_file = tmp_path / "admin-password"
    secret_file.write_text("from-a-file-passphrase\n")
    settings = Settings.from_env({"APP_ENV": "production", "ADMIN_PASSWORD_FILE": str(secret_file)})
    assert settings.admin_password == "from-a-file-passphrase"
    assert Settings.from_env({}).admin_password == "secret"


def test_production_start_fails_in_one_clear_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "APP_ENV": "production",
        "ADMIN_PASSWORD": "secret",
        "LOG_FILE": str(tmp_path / "x.log"),
    }
    run = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert run.stderr.strip().splitlines() == [
        "articles-api: APP_ENV=production needs ADMIN_PASSWORD (or ADMIN_PASSWORD_FILE) "
        "of at least 12 characters, not the development default"
    ]


# --- never leak ----------------------------------------------------------------------------------


def test_no_credential_reaches_the_log_or_a_response(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    secrets = ["correct horse battery", "wrong-guess-1", "hunter2-in-query"]
    created = client.post(
        "/users", json={"username": "alice", "password": secrets[0]}, headers=admin
    )
    invalid = client.post(
        "/users", json={"username": "bob", "password": "x\u0000" + secrets[1]}, headers=admin
    )
    assert invalid.status_code == 400
    alice = basic("alice", secrets[0])
    token = issue(client, alice)["access_token"]
    secrets.append(token)
    responses = [
        created,
        invalid,
        client.get("/secrets", headers=basic("alice", secrets[1])),
        client.get(f"/secrets?password={secrets[2]}"),
        client.get("/secrets", headers=bearer(token)),
        client.get("/tokens", headers=bearer(token)),
        client.post("/echo", headers={**bearer(token), "Accept": "application/json"}),
    ]
    log = Path(settings.log_file).read_text(encoding="utf-8")
    for secret in secrets:
        assert secret not in log
        for response in responses:
            assert secret not in response.text
    assert alice["Authorization"].split()[1] not in log


# --- who may do what -----------------------------------------------------------------------------

CALLERS = ["anonymous", "alice", "bob", "admin"]
# (method, path, body, expected status per caller); alice owns article 1 and token 1.
MATRIX = [
    ("GET", "/articles", None, [200, 200, 200, 200]),
    ("GET", "/articles/1", None, [200, 200, 200, 200]),
    ("POST", "/articles", {"title": "T", "body": "B"}, [401, 201, 201, 201]),
    ("PUT", "/articles/1", {"title": "T", "body": "B"}, [401, 200, 404, 200]),
    ("PATCH", "/articles/1", {"body": "B"}, [401, 200, 404, 200]),
    ("DELETE", "/articles/1", None, [401, 204, 404, 204]),
    ("GET", "/users", None, [200, 200, 200, 200]),
    ("GET", "/users/5", None, [200, 200, 200, 200]),
    ("POST", "/users", {"username": "carol", "password": "password-1"}, [401, 403, 403, 201]),
    ("DELETE", "/users/7", None, [401, 403, 403, 204]),
    ("GET", "/secrets", None, [401, 200, 200, 200]),
    ("POST", "/tokens", None, [401, 201, 201, 201]),
    ("GET", "/tokens", None, [401, 200, 200, 200]),
    ("DELETE", "/tokens/1", None, [401, 204, 404, 404]),
]


def snapshot(settings: Settings) -> tuple[object, ...]:
    db = Database(settings.database_url)
    with db.read() as session:
        state = (
            session.execute(select(Article.id, Article.title, Article.body, Article.version)).all(),
            session.execute(select(User.id, User.username, User.password_hash)).all(),
            session.execute(select(Token.id, Token.user_id, Token.token_hash)).all(),
            session.scalar(select(func.count()).select_from(Token)),
        )
    db.dispose()
    return state


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX]
)
@pytest.mark.parametrize("caller", range(4), ids=CALLERS)
def test_permission_matrix(  # type: ignore[no-untyped-def]
    client: TestClient, admin, settings: Settings, method, path, body, expected, caller: int
) -> None:
    alice = new_user(client, admin, "alice")
    bob = new_user(client, admin, "bob")
    new_user(client, admin, "dave")  # id 7: someone to delete
    assert (
        client.post("/articles", json={"title": "A", "body": "B"}, headers=alice).status_code == 201
    )
    issue(client, alice)
    credentials = [{}, alice, bob, admin][caller]
    headers = dict(credentials)
    if method in ("PUT", "PATCH", "DELETE") and path.startswith("/articles"):
        headers["If-Match"] = "*"
    content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
    before = snapshot(settings)
    response = client.request(
        method,
        path,
        content=None if body is None else __import__("json").dumps(body).encode(),
        headers={**headers, **({"Content-Type": content_type} if body is not None else {})},
    )
    assert response.status_code == expected[caller], response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert snapshot(settings) == before
