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
        "author": {"href": "/users/0"},
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


def test_a_bearer_token_creates(client: TestClient, admin: dict[str, str]) -> None:
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
    assert response.headers["accept-post"] == "application/json, application/vnd.example.v2+json"


# --- filters -------------------------------------------------------------------------------


def make_user(client: TestClient, admin: dict[str, str], username: str) -> dict[str, str]:
    response = client.post(
        "/users", json={"username": username, "password": "password-1"}, headers=admin
    )
    assert response.status_code == 201, response.text
    return basic(username, "password-1")


def test_filter_by_author_and_title(client: TestClient, admin: dict[str, str]) -> None:
    alice = make_user(client, admin, "alice")
    create(client, alice, "Hello world")
    create(client, admin, "Hello admin")
    create(client, alice, "Goodbye 100%")
    json = {"Accept": "application/json"}
    by_alice = client.get("/articles?author=alice", headers=json).json()
    assert [item["title"] for item in by_alice["items"]] == ["Hello world", "Goodbye 100%"]
    hello = client.get("/articles?q=HELLO", headers=json).json()
    assert [item["id"] for item in hello["items"]] == [1, 2]
    assert [i["id"] for i in client.get("/articles?q=100%25", headers=json).json()["items"]] == [3]
    assert client.get("/articles?q=%25", headers=json).json()["items"][0]["id"] == 3
    both = client.get("/articles?author=alice&q=hello", headers=json).json()
    assert [item["id"] for item in both["items"]] == [1]
    assert client.get("/articles?author=nobody", headers=json).json()["items"] == []


def test_next_link_keeps_the_filters(client: TestClient, admin: dict[str, str]) -> None:
    for number in range(3):
        create(client, admin, f"Hello {number}")
    create(client, admin, "Other")
    first = client.get(
        "/articles?limit=2&q=hello&author=admin", headers={"Accept": "application/json"}
    )
    next_href = first.json()["links"]["next"]["href"]
    assert next_href.startswith("/articles?limit=2&author=admin&q=hello&cursor=")
    second = client.get(next_href, headers={"Accept": "application/json"}).json()
    assert [item["title"] for item in second["items"]] == ["Hello 2"]


# --- ETags and conditional requests --------------------------------------------------------


def test_get_has_an_etag_and_honours_if_none_match(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = client.post("/articles", json={"title": "T", "body": "B"}, headers=admin)
    tag = created.headers["etag"]
    assert tag == '"1"'
    response = client.get("/articles/1")
    assert response.headers["etag"] == tag
    cached = client.get("/articles/1", headers={"If-None-Match": tag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == tag
    assert client.get("/articles/1", headers={"If-None-Match": '"7", W/"1"'}).status_code == 304
    assert client.get("/articles/1", headers={"If-None-Match": '"7"'}).status_code == 200


def test_put_replaces_with_if_match(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin)
    response = client.put(
        "/articles/1", json={"title": "New", "body": "Text"}, headers={**admin, "If-Match": '"1"'}
    )
    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'
    assert response.json() == {"id": 1, "title": "New", "body": "Text", "author": "admin"}
    assert client.get("/articles/1").text == "You are reading 1\nNew\n\nText\n"


def test_put_without_if_match_is_428_and_changes_nothing(
    client: TestClient, admin: dict[str, str]
) -> None:
    create(client, admin)
    response = client.put("/articles/1", json={"title": "New", "body": "Text"}, headers=admin)
    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"
    assert (
        client.get("/articles/1", headers={"Accept": "application/json"}).json()["title"] == "Hello"
    )


@pytest.mark.parametrize("if_match", ['"2"', 'W/"1"', '"abc"', '"99999999999999999999999"'])
def test_stale_or_weak_if_match_is_412_and_changes_nothing(
    client: TestClient, admin: dict[str, str], if_match: str
) -> None:
    create(client, admin)
    response = client.put(
        "/articles/1",
        json={"title": "New", "body": "Text"},
        headers={**admin, "If-Match": if_match},
    )
    assert response.status_code == 412
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/articles/1").headers["etag"] == '"1"'


def test_if_match_star_and_lists(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin)
    star = client.put(
        "/articles/1", json={"title": "A", "body": "B"}, headers={**admin, "If-Match": "*"}
    )
    assert star.status_code == 200
    listed = client.put(
        "/articles/1", json={"title": "C", "body": "D"}, headers={**admin, "If-Match": '"1", "2"'}
    )
    assert listed.status_code == 200
    assert listed.headers["etag"] == '"3"'


def test_patch_is_a_merge_patch(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin, "Title", "Body")
    response = client.patch(
        "/articles/1",
        content=b'{"body": "Changed"}',
        headers={**admin, "Content-Type": "application/merge-patch+json", "If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Title"
    assert response.json()["body"] == "Changed"
    assert response.headers["etag"] == '"2"'


@pytest.mark.parametrize("patch", [b'{"title": null}', b'{"id": 5}', b'{"author": "x"}', b"[]"])
def test_patch_cannot_break_or_set_read_only_fields(
    client: TestClient, admin: dict[str, str], patch: bytes
) -> None:
    create(client, admin)
    response = client.patch(
        "/articles/1",
        content=patch,
        headers={**admin, "Content-Type": "application/merge-patch+json", "If-Match": '"1"'},
    )
    assert response.status_code == 400
    assert client.get("/articles/1").headers["etag"] == '"1"'


def test_patch_needs_the_merge_patch_type(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin)
    response = client.patch("/articles/1", json={"body": "x"}, headers={**admin, "If-Match": '"1"'})
    assert response.status_code == 415
    assert response.headers["accept-patch"] == "application/merge-patch+json"


def test_delete_with_if_match_then_404(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin)
    assert client.delete("/articles/1", headers=admin).status_code == 428
    assert client.delete("/articles/1", headers={**admin, "If-Match": '"9"'}).status_code == 412
    deleted = client.delete("/articles/1", headers={**admin, "If-Match": '"1"'})
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get("/articles/1").status_code == 404
    assert client.delete("/articles/1", headers={**admin, "If-Match": "*"}).status_code == 404


# --- who may change what --------------------------------------------------------------------


def test_authors_change_their_own_and_admins_any(client: TestClient, admin: dict[str, str]) -> None:
    alice = make_user(client, admin, "alice")
    bob = make_user(client, admin, "bob")
    assert create(client, alice, "Alice's")["author"] == "alice"
    change = {"title": "Mine now", "body": "x"}
    refused = client.put("/articles/1", json=change, headers={**bob, "If-Match": '"1"'})
    assert refused.status_code == 404
    assert client.delete("/articles/1", headers={**bob, "If-Match": "*"}).status_code == 404
    assert (
        client.get("/articles/1", headers={"Accept": "application/json"}).json()["title"]
        == "Alice's"
    )
    own = client.put(
        "/articles/1", json={"title": "Edited", "body": "x"}, headers={**alice, "If-Match": '"1"'}
    )
    assert own.status_code == 200
    by_admin = client.put(
        "/articles/1", json={"title": "Admin", "body": "x"}, headers={**admin, "If-Match": '"2"'}
    )
    assert by_admin.status_code == 200
    assert by_admin.json()["author"] == "alice"


def test_anonymous_cannot_change(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin)
    response = client.put(
        "/articles/1", json={"title": "A", "body": "B"}, headers={"If-Match": "*"}
    )
    assert response.status_code == 401
    assert client.delete("/articles/1", headers={"If-Match": "*"}).status_code == 401
    assert client.get("/articles/1").headers["etag"] == '"1"'


# --- v2 in, NUL and surrogates out -----------------------------------------------------------


def test_v2_body_is_accepted_and_answered_in_v2(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/articles", content=b'{"title": "T", "body": "B"}', headers={**admin, "Content-Type": V2}
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == V2
    assert response.json()["links"]["self"] == {"href": "/articles/1"}
    replaced = client.put(
        "/articles/1",
        content=b'{"title": "T2", "body": "B2"}',
        headers={**admin, "Content-Type": V2, "If-Match": '"1"', "Accept": "application/json"},
    )
    assert replaced.status_code == 200
    assert replaced.headers["content-type"] == "application/json"
    assert replaced.json()["title"] == "T2"


def test_v2_read_only_fields_cannot_be_sent(client: TestClient, admin: dict[str, str]) -> None:
    body = b'{"title": "T", "body": "B", "created_at": "2020-01-01T00:00:00Z"}'
    response = client.post("/articles", content=body, headers={**admin, "Content-Type": V2})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "raw", [b'{"title": "a\\u0000b", "body": "B"}', b'{"title": "T", "body": "\\u0000"}']
)
def test_nul_in_text_is_400(client: TestClient, admin: dict[str, str], raw: bytes) -> None:
    response = client.post(
        "/articles", content=raw, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert client.get("/articles").text == "List of /articles\n"


def test_nul_in_a_filter_is_400(client: TestClient) -> None:
    assert client.get("/articles?q=a%00b").status_code == 400
    assert client.get("/articles?author=a%00").status_code == 400


def test_lone_surrogate_is_400(client: TestClient, admin: dict[str, str]) -> None:
    raw = b'{"title": "\\ud800", "body": "B"}'
    response = client.post(
        "/articles", content=raw, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "surrogate" in response.json()["detail"]
