"""/users/{userId}."""

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from store.db import Database
from store.models import User
from tests.conftest import basic


@pytest.mark.parametrize(
    ("user_id", "name"), [(1, "john"), (2, "steve"), (3, "bill"), (0, "admin")]
)
def test_user_is_the_tutorials_shape(client: TestClient, user_id: int, name: str) -> None:
    response = client.get(f"/users/{user_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {str(user_id): name}


def test_user_2_is_exactly_steve(client: TestClient) -> None:
    assert client.get("/users/2").text == '{"2": "steve"}'


def test_a_fresh_install_has_no_user_4_as_in_the_tutorial(client: TestClient) -> None:
    """The tutorial's users are 1 john, 2 steve and 3 bill; the configured admin is 0."""
    response = client.get("/users/4")
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found: http://testserver/users/4"


def test_unknown_user_is_the_tutorials_404(client: TestClient) -> None:
    response = client.get("/users/99?x=1")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404
    assert problem["title"] == "Not Found"
    assert problem["message"] == "Not Found: http://testserver/users/99?x=1"


V2 = "application/vnd.example.v2+json"


def test_v2_is_the_profile(client: TestClient) -> None:
    response = client.get("/users/2", headers={"Accept": V2})
    assert response.status_code == 200
    assert response.headers["content-type"] == V2
    profile = response.json()
    assert set(profile) == {"id", "username", "created_at"}
    assert (profile["id"], profile["username"]) == (2, "steve")
    assert profile["created_at"].endswith("Z")


def test_users_are_listed_a_page_at_a_time(client: TestClient) -> None:
    first = client.get("/users?limit=3")
    assert first.status_code == 200
    page = first.json()
    assert [user["username"] for user in page["items"]] == ["admin", "john", "steve"]
    assert "password" not in first.text
    assert first.headers["link"] == f'<{page["links"]["next"]["href"]}>; rel="next"'
    rest = client.get(page["links"]["next"]["href"]).json()
    assert [user["username"] for user in rest["items"]] == ["bill"]


def test_admin_creates_a_user_who_can_log_in(
    client: TestClient, admin: dict[str, str], settings
) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/users", json={"username": "alice", "password": "correct horse"}, headers=admin
    )
    assert response.status_code == 201
    assert response.headers["location"] == "/users/4"
    assert response.json()["username"] == "alice"
    assert "correct horse" not in response.text
    assert client.get("/secrets", headers=basic("alice", "correct horse")).status_code == 200
    db = Database(settings.database_url)
    with db.read() as session:
        stored = session.scalars(select(User.password_hash).where(User.username == "alice")).one()
    db.dispose()
    assert stored.startswith("$argon2id$")


def test_a_taken_username_is_409(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/users", json={"username": "steve", "password": "password-1"}, headers=admin
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "x"},
        {"username": "has space", "password": "password-1"},
        {"username": "ok", "password": "short"},
        {"username": "ok", "password": "password-1", "role": "admin"},
        {"username": "u" * 65, "password": "password-1"},
    ],
)
def test_invalid_users_are_400(client: TestClient, admin: dict[str, str], payload: dict) -> None:  # type: ignore[type-arg]
    assert client.post("/users", json=payload, headers=admin).status_code == 400
    assert len(client.get("/users").json()["items"]) == 4


def test_only_admins_manage_users(client: TestClient, admin: dict[str, str]) -> None:
    client.post("/users", json={"username": "alice", "password": "password-1"}, headers=admin)
    alice = basic("alice", "password-1")
    refused = client.post(
        "/users", json={"username": "eve", "password": "password-1"}, headers=alice
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert client.delete("/users/1", headers=alice).status_code == 403
    assert client.delete("/users/1").status_code == 401
    assert client.get("/users/1").status_code == 200


def test_admin_deletes_a_user_and_their_tokens(client: TestClient, admin: dict[str, str]) -> None:
    client.post("/users", json={"username": "alice", "password": "password-1"}, headers=admin)
    token = client.post("/tokens", headers=basic("alice", "password-1")).json()["access_token"]
    assert client.delete("/users/4", headers=admin).status_code == 204
    assert client.get("/users/4").status_code == 404
    assert client.get("/secrets", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.delete("/users/4", headers=admin).status_code == 404


def test_authors_and_the_admin_cannot_be_deleted(client: TestClient, admin: dict[str, str]) -> None:
    client.post("/articles", json={"title": "T", "body": "B"}, headers=admin)
    response = client.delete("/users/0", headers=admin)
    assert response.status_code == 409
    client.post("/users", json={"username": "alice", "password": "password-1"}, headers=admin)
    client.post("/articles", json={"title": "A", "body": "B"}, headers=basic("alice", "password-1"))
    assert client.delete("/users/4", headers=admin).status_code == 409
    assert client.get("/users/4").status_code == 200
