"""Idempotency-Key: a retried POST gets the first one's response and creates nothing more."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from app import create_app
from settings import Settings
from store import articles
from store.db import Database
from store.models import Article, IdempotencyKey, Message, Token, User
from tests.conftest import POSTGRES_URL, basic, reset_postgres, serving

ROOT = Path(__file__).resolve().parents[2]
ADMIN = basic("admin", "secret")
KEY, OTHER_KEY = "7f1c2a3e-0d4b-4c2e-9a55-3d1e2f4a5b6c", "0b9e8f6a-2c4d-4e1f-8a3b-5c6d7e8f9a0b"

# (path, body, content type, credentials, the table a success adds a row to)
CREATES: dict[str, tuple[str, bytes, str, dict[str, str], type[Any]]] = {
    "post_article": (
        "/articles",
        b'{"title": "T", "body": "B"}',
        "application/json",
        ADMIN,
        Article,
    ),
    "post_message": ("/messages", b"Hello", "text/plain", {}, Message),
    "post_user": (
        "/users",
        b'{"username": "grace", "password": "correct horse"}',
        "application/json",
        ADMIN,
        User,
    ),
    "post_token": ("/tokens", b'{"expires_in": 600}', "application/json", ADMIN, Token),
}


def rows(settings: Settings, table: type[Any]) -> int:
    db = Database(settings.database_url)
    try:
        with db.read() as session:
            return int(session.scalar(select(func.count()).select_from(table)) or 0)
    finally:
        db.dispose()


def post(client: Any, operation: str, key: str | None, body: bytes | None = None) -> Any:
    path, default, content_type, credentials, _ = CREATES[operation]
    headers = {**credentials, "Content-Type": content_type, "Accept": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, content=default if body is None else body, headers=headers)


@pytest.mark.parametrize("operation", CREATES)
def test_a_retry_gets_the_first_response_and_creates_nothing(
    client: TestClient, settings: Settings, operation: str
) -> None:
    table = CREATES[operation][4]
    before = rows(settings, table)
    first = post(client, operation, KEY)
    again = post(client, operation, KEY)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content  # a token included: the same one, shown again
    for name in ("content-type", "location", "etag", "cache-control"):
        assert again.headers.get(name) == first.headers.get(name)
    assert rows(settings, table) == before + 1
    # Without a key, or with another, it is a new request.
    if operation != "post_user":  # a second grace would be a taken name
        assert post(client, operation, None).status_code == 201
        assert post(client, operation, OTHER_KEY).status_code == 201
        assert rows(settings, table) == before + 3


def test_a_structured_field_string_names_the_same_key(client: TestClient) -> None:
    first = post(client, "post_message", f'"{KEY}"')
    again = post(client, "post_message", KEY)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


def test_the_same_key_for_another_request_is_422(client: TestClient, settings: Settings) -> None:
    assert post(client, "post_article", KEY).status_code == 201
    other = post(client, "post_article", KEY, b'{"title": "Other", "body": "B"}')
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["detail"] == (
        "This Idempotency-Key was used for another request; use a new key for this one."
    )
    assert rows(settings, Article) == 1


def test_keys_belong_to_their_caller_and_operation(client: TestClient, settings: Settings) -> None:
    created = client.post(
        "/users", json={"username": "alice", "password": "password-1"}, headers=ADMIN
    )
    assert created.status_code == 201
    alice = {**basic("alice", "password-1"), "Idempotency-Key": KEY}
    admins = {**ADMIN, "Idempotency-Key": KEY}
    body = {"title": "T", "body": "B"}
    by_alice = client.post("/articles", json=body, headers=alice)
    by_admin = client.post("/articles", json=body, headers=admins)
    assert (by_alice.status_code, by_admin.status_code) == (201, 201)
    assert by_alice.json()["author"] == "alice"
    assert by_admin.json()["author"] == "admin"
    assert "idempotent-replayed" not in by_admin.headers
    message = client.post(
        "/messages", content=b"T", headers={"Content-Type": "text/plain", "Idempotency-Key": KEY}
    )
    assert message.status_code == 201
    assert rows(settings, Article) == 2


def test_a_request_that_failed_may_be_retried(client: TestClient, settings: Settings) -> None:
    """Only successes are kept: a 409 (a taken name) is no answer to remember."""
    taken = client.post(
        "/users", json={"username": "grace", "password": "password-1"}, headers=ADMIN
    )
    assert taken.status_code == 201
    refused = post(client, "post_user", KEY)
    assert refused.status_code == 409
    deleted = client.delete(taken.headers["location"], headers=ADMIN)
    assert deleted.status_code == 204
    retried = post(client, "post_user", KEY)
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers


def test_an_expired_key_names_a_new_request(settings: Settings) -> None:
    brief = dataclasses.replace(settings, idempotency_key_seconds=0.5)
    with create_app(brief).test_client() as client:
        assert post(client, "post_message", KEY).status_code == 201
        time.sleep(0.7)
        again = post(client, "post_message", KEY)
        assert again.status_code == 201
        assert "idempotent-replayed" not in again.headers
    assert rows(settings, Message) == 2


def test_a_stored_token_is_sealed(client: TestClient, settings: Settings) -> None:
    token = post(client, "post_token", KEY).json()["access_token"]
    db = Database(settings.database_url)
    with db.read() as session:
        stored = session.execute(select(IdempotencyKey.lookup, IdempotencyKey.response)).all()
    db.dispose()
    assert len(stored) == 1
    lookup, response = stored[0]
    assert response is not None
    assert token.encode() not in response
    assert KEY.encode() not in response + lookup.encode()


@pytest.mark.parametrize("key", ["", "not-a-uuid", KEY + "0", '"' + KEY, "clé"])
def test_a_malformed_key_is_400(client: TestClient, settings: Settings, key: str) -> None:
    response = client.post(
        "/messages",
        content=b"x",
        headers={"Content-Type": "text/plain", "Idempotency-Key": key.encode("utf-8")},  # type: ignore[dict-item]
    )
    assert response.status_code == 400, response.text
    assert rows(settings, Message) == 0


def test_a_retry_while_the_first_is_under_way_is_409(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside, go_on = threading.Event(), threading.Event()
    create: Callable[..., Any] = articles.create

    def slow_create(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        assert go_on.wait(30)
        return create(*args, **kwargs)

    monkeypatch.setattr(articles, "create", slow_create)
    headers = {**ADMIN, "Idempotency-Key": KEY, "Accept": "application/json"}
    body = {"title": "T", "body": "B"}
    with serving(settings) as base:
        first: dict[str, httpx.Response] = {}
        thread = threading.Thread(
            target=lambda: first.update(
                r=httpx.post(f"{base}/articles", json=body, headers=headers, timeout=60)
            )
        )
        thread.start()
        assert inside.wait(30)
        during = httpx.post(f"{base}/articles", json=body, headers=headers, timeout=60)
        go_on.set()
        thread.join(60)
        after = httpx.post(f"{base}/articles", json=body, headers=headers, timeout=60)
    assert during.status_code == 409
    assert during.headers["content-type"] == "application/problem+json"
    assert 1 <= int(during.headers["retry-after"]) <= 60
    assert first["r"].status_code == 201
    assert after.status_code == 201
    assert after.headers["idempotent-replayed"] == "true"
    assert after.json() == first["r"].json()
    assert rows(settings, Article) == 1


# A server that dies (SIGKILL) right after the transaction that created an article commits,
# before it answers: as `kill -9` between commit and response would. The marker file arms it.
DIES_AFTER_COMMIT = """
import os, runpy, signal, sys, threading
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

marker, armed = sys.argv[1], threading.local()

@event.listens_for(Engine, "after_cursor_execute")
def _inserted(_connection, _cursor, statement, *_):
    if statement.startswith("INSERT INTO articles"):
        armed.on = True

@event.listens_for(Session, "after_commit")
def _die(_session):
    if getattr(armed, "on", False) and os.path.exists(marker):
        os.kill(os.getpid(), signal.SIGKILL)

sys.argv = ["app.py"]
runpy.run_path("app.py", run_name="__main__")
"""


def start_server(
    settings: Settings, tmp_path: Path, marker: Path
) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "LOG_FILE": str(tmp_path / "app.log"),
        "PORT": str(port),
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
    }
    server = subprocess.Popen(
        [sys.executable, "-c", DIES_AFTER_COMMIT, str(marker)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        assert server.poll() is None, "the server exited"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)


def test_a_kill_between_commit_and_response_then_a_retry_makes_one_article(
    settings: Settings, tmp_path: Path
) -> None:
    if settings.database_url.startswith("postgresql"):
        assert POSTGRES_URL is not None
        reset_postgres(POSTGRES_URL)
    marker = tmp_path / "die-after-commit"
    marker.touch()
    headers = {**ADMIN, "Idempotency-Key": KEY, "Accept": "application/json"}
    body = {"title": "Survives", "body": "a kill -9"}
    server, base = start_server(settings, tmp_path, marker)
    try:
        with pytest.raises(httpx.TransportError):  # no response: the server died
            httpx.post(f"{base}/articles", json=body, headers=headers, timeout=30)
        assert server.wait(30) == -signal.SIGKILL
    finally:
        if server.poll() is None:
            server.kill()
    assert rows(settings, Article) == 1  # committed, never acknowledged
    marker.unlink()
    server, base = start_server(settings, tmp_path, marker)
    try:
        retried = httpx.post(f"{base}/articles", json=body, headers=headers, timeout=30)
        assert retried.status_code == 201, retried.text
        assert retried.headers["idempotent-replayed"] == "true"
        assert retried.json()["title"] == "Survives"
        listing = httpx.get(f"{base}/articles", headers={"Accept": "application/json"}).json()
        assert [item["id"] for item in listing["items"]] == [retried.json()["id"]]
    finally:
        server.terminate()
        server.wait(30)
    assert rows(settings, Article) == 1
