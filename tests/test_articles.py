"""/articles and /articles/{articleId}."""

from __future__ import annotations

from datetime import datetime

import pytest
from starlette.testclient import TestClient

from tests.conftest import basic

V2 = "application/vnd.example.v2+json"


def create(
    client: TestClient, admin: dict[str, str], title: str = "Hello", body: str = "First article."
) -> dict:
    response = client.post("/articles", json={"title": title, "body": body}, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def test_empty_list_is_the_tutorials_line(client: TestClient) -> None:
    response = client.get("/articles")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "List of /articles\n"


def test_admin_creates_an_article(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/articles", json={"title": "Hello", "body": "First article."}, headers=admin
    )
    assert response.status_code == 201
    assert response.headers["location"] == "/articles/1"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "id": 1,
        "title": "Hello",
        "body": "First article.",
        "author": "admin",
    }
    stored = client.get("/articles/1", headers={"Accept": "application/json"}).json()
    assert stored == response.json()


def test_create_answers_v2_when_asked(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/articles", json={"title": "T", "body": "B"}, headers={**admin, "Accept": V2}
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == V2
    assert response.json()["links"]["self"] == {"href": "/articles/1"}


def test_listing_shows_one_line_per_article(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin, "Hello")
    create(client, admin, "Second")
    assert client.get("/articles").text == "List of /articles\n1\tHello\n2\tSecond\n"


def test_reading_an_article_as_text(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin)
    response = client.get("/articles/1")
    assert response.status_code == 200
    assert response.text.splitlines()[0] == "You are reading 1"
    assert response.text == "You are reading 1\nHello\n\nFirst article.\n"
    assert response.headers["vary"] == "Accept"


def test_reading_an_article_as_v2(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin)
    response = client.get("/articles/1", headers={"Accept": V2})
    assert response.status_code == 200
    assert response.headers["content-type"] == V2
    article = response.json()
    assert article["links"] == {
        "self": {"href": "/articles/1"},
        "author": {"href": "/users/4"},
        "collection": {"href": "/articles"},
    }
    created = datetime.fromisoformat(article["created_at"])
    assert created.utcoffset() is not None
    assert article["created_at"].endswith("Z")


def test_json_page_has_items_and_links(client: TestClient, admin: dict[str, str]) -> None:
    for number in range(3):
        create(client, admin, f"Article {number}")
    first = client.get("/articles?limit=2", headers={"Accept": "application/json"})
    assert first.status_code == 200
    page = first.json()
    assert [item["id"] for item in page["items"]] == [1, 2]
    next_href = page["links"]["next"]["href"]
    assert first.headers["link"] == f'<{next_href}>; rel="next"'
    second = client.get(next_href, headers={"Accept": "application/json"}).json()
    assert [item["id"] for item in second["items"]] == [3]
    assert "next" not in second["links"]


def test_a_malformed_cursor_is_a_400_problem(client: TestClient) -> None:
    response = client.get("/articles?cursor=bm9wZQ")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "`cursor`" in response.json()["detail"]


def test_any_well_formed_cursor_is_a_position(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin)
    beyond = client.get("/articles?cursor=__________8", headers={"Accept": "application/json"})
    assert beyond.status_code == 200
    assert beyond.json()["items"] == []


def test_unknown_article_is_404(client: TestClient) -> None:
    response = client.get("/articles/42")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "There is no article 42."


@pytest.mark.parametrize("path", ["/articles/abc", "/articles/1.5"])
def test_non_integer_id_is_a_404_problem(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "article_id", ["0", "-1", "9223372036854775808", "99999999999999999999999"]
)
def test_out_of_range_id_is_400_not_500(client: TestClient, article_id: str) -> None:
    response = client.get(f"/articles/{article_id}")
    assert response.status_code in (400, 404)
    assert response.headers["content-type"] == "application/problem+json"


def test_anonymous_cannot_create(client: TestClient) -> None:
    response = client.post("/articles", json={"title": "T", "body": "B"})
    assert response.status_code == 401
    assert client.get("/articles").text == "List of /articles\n"


def test_wrong_password_cannot_create(client: TestClient) -> None:
    response = client.post(
        "/articles", json={"title": "T", "body": "B"}, headers=basic("admin", "nope")
    )
    assert response.status_code == 401
    assert client.get("/articles").text == "List of /articles\n"


def test_admin_with_a_bearer_token_creates(client: TestClient, admin: dict[str, str]) -> None:
    token = client.post("/tokens", headers=admin).json()["access_token"]
    response = client.post(
        "/articles", json={"title": "T", "body": "B"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "payload",
    [
        {"title": "T"},
        {"title": "", "body": "B"},
        {"title": "T" * 201, "body": "B"},
        {"title": "T", "body": "B", "id": 7},
        {"title": 5, "body": "B"},
        [],
    ],
)
def test_invalid_article_is_400_and_stores_nothing(
    client: TestClient, admin: dict[str, str], payload: object
) -> None:
    response = client.post("/articles", json=payload, headers=admin)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/articles").text == "List of /articles\n"


def test_article_must_be_json(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/articles", content=b"title=T", headers={**admin, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.headers["accept-post"] == "application/json"
