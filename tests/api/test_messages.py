"""/messages and /messages/{messageId}: bodies in several media types, stored byte for byte."""

from __future__ import annotations

import hashlib

import pytest
from starlette.testclient import TestClient

ACCEPT_POST = "application/json, text/plain, application/octet-stream, multipart/form-data"


def test_text_message(client: TestClient) -> None:
    response = client.post("/messages", content=b"Hello", headers={"Content-Type": "text/plain"})
    assert response.status_code == 201
    assert response.headers["location"] == "/messages/1"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Text Message: Hello"
    stored = client.get("/messages/1")
    assert stored.status_code == 200
    assert stored.headers["content-type"] == "text/plain; charset=utf-8"
    assert stored.content == b"Hello"


def test_json_message_is_echoed_with_json_dumps(client: TestClient) -> None:
    raw = b'{"message":"Hello Data"}'
    response = client.post("/messages", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.text == 'JSON Message: {"message": "Hello Data"}'
    stored = client.get("/messages/1")
    assert stored.headers["content-type"] == "application/json"
    assert stored.content == raw


def test_binary_message_round_trips_byte_for_byte(client: TestClient) -> None:
    payload = bytes(range(256)) * 4
    response = client.post(
        "/messages", content=payload, headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 201
    assert response.text == "Binary message written!"
    stored = client.get("/messages/1")
    assert stored.headers["content-type"] == "application/octet-stream"
    assert stored.content == payload


def test_file_upload_names_the_file_and_its_size(client: TestClient) -> None:
    payload = b"\x89PNG\r\n\x1a\n" + bytes(100)
    response = client.post(
        "/messages", files={"file": ("x.bin", payload, "application/octet-stream")}
    )
    assert response.status_code == 201
    assert response.text == "File message written: x.bin (108 bytes)"
    assert client.get("/messages/1").content == payload


def test_json_accept_gets_the_metadata(client: TestClient) -> None:
    response = client.post(
        "/messages",
        content=b"Hello",
        headers={"Content-Type": "text/plain", "Accept": "application/json"},
    )
    assert response.status_code == 201
    info = response.json()
    assert info["id"] == 1
    assert info["media_type"] == "text/plain"
    assert info["size"] == 5
    assert info["sha256"] == hashlib.sha256(b"Hello").hexdigest()
    assert info["filename"] is None
    assert info["links"] == {"self": {"href": "/messages/1"}}


def test_the_receipt_is_what_was_stored(client: TestClient) -> None:
    """store.messages.create answers with what it inserted, without reading the row back."""
    json_accept = {"Accept": "application/json"}
    receipts = [
        client.post(
            "/messages", content=b"Hello", headers={"Content-Type": "text/plain", **json_accept}
        ),
        client.post(
            "/messages", files={"file": ("notes.txt", b"x" * 3, "text/plain")}, headers=json_accept
        ),
    ]
    assert [receipt.status_code for receipt in receipts] == [201, 201]
    stored = client.get("/messages").json()["items"]
    assert stored == [receipt.json() for receipt in receipts]
    assert stored[1]["filename"] == "notes.txt"
    assert stored[0]["created_at"] <= stored[1]["created_at"]


def test_unsupported_media_type_is_415_with_accept_post(client: TestClient) -> None:
    response = client.post(
        "/messages", content=b"<a/>", headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["accept-post"] == ACCEPT_POST
    assert response.json()["status"] == 415
    assert client.get("/messages", headers={"Accept": "application/json"}).json()["items"] == []


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/octet-stream", "application/json"]
)
def test_empty_body_is_400_and_stores_nothing(client: TestClient, content_type: str) -> None:
    response = client.post("/messages", content=b"", headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/messages").json()["items"] == []


def test_missing_content_type_is_415(client: TestClient) -> None:
    response = client.post("/messages", content=b"data")
    assert response.status_code == 415
    assert response.headers["accept-post"] == ACCEPT_POST
    assert client.get("/messages").json()["items"] == []


def test_text_must_be_utf8(client: TestClient) -> None:
    response = client.post("/messages", content=b"\xff\xfe", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    other = client.post(
        "/messages", content=b"abc", headers={"Content-Type": "text/plain; charset=latin-1"}
    )
    assert other.status_code == 415
    assert client.get("/messages").json()["items"] == []


def test_oversized_message_is_413(client: TestClient) -> None:
    big = b"x" * (10 * 1024 * 1024 + 1)
    response = client.post(
        "/messages", content=big, headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/messages").json()["items"] == []


def test_list_and_delete(client: TestClient) -> None:
    for text in (b"one", b"two"):
        client.post("/messages", content=text, headers={"Content-Type": "text/plain"})
    listing = client.get("/messages")
    assert listing.status_code == 200
    assert [item["id"] for item in listing.json()["items"]] == [1, 2]
    deleted = client.delete("/messages/1")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get("/messages/1").status_code == 404
    assert client.delete("/messages/1").status_code == 404
    assert [item["id"] for item in client.get("/messages").json()["items"]] == [2]


def test_stored_content_comes_in_its_own_type_whatever_is_asked(client: TestClient) -> None:
    client.post("/messages", content=b"\x00", headers={"Content-Type": "application/octet-stream"})
    response = client.get("/messages/1", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == b"\x00"


def test_a_body_without_content_type_is_415_everywhere(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post("/articles", content=b'{"title": "T", "body": "B"}', headers=admin)
    assert response.status_code == 415
    assert response.headers["accept-post"] == "application/json, application/vnd.example.v2+json"
    assert client.get("/articles").text == "List of /articles\n"


def test_binary_and_text_bodies_follow_the_spec_in_one_place(client: TestClient) -> None:
    empty = client.post(
        "/messages", content=b"", headers={"Content-Type": "application/octet-stream"}
    )
    assert empty.status_code == 400
    assert empty.headers["content-type"] == "application/problem+json"
    echo = client.post("/echo", content=b"\xff", headers={"Content-Type": "text/plain"})
    assert echo.status_code == 400
    assert echo.json()["detail"] == "The text/plain body is not valid UTF-8."


def test_uploads_are_served_as_attachments_never_rendered(client: TestClient) -> None:
    page = b"<script>alert(1)</script>"
    client.post("/messages", files={"file": ("évil.html", page, "text/html")})
    response = client.get("/messages/1")
    assert response.content == page
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"_vil.html\"; filename*=UTF-8''%C3%A9vil.html"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    client.post("/messages", content=b"\x00", headers={"Content-Type": "application/octet-stream"})
    assert (
        client.get("/messages/2").headers["content-disposition"]
        == 'attachment; filename="message-2"'
    )
    client.post("/messages", content=b"Hello", headers={"Content-Type": "text/plain"})
    assert "content-disposition" not in client.get("/messages/3").headers


@pytest.mark.parametrize("text", [b"0", b"true", b"null", b"[1]", b'{"a": 1}'])
def test_text_that_reads_as_json_is_still_text(client: TestClient, text: bytes) -> None:
    assert (
        client.post("/messages", content=text, headers={"Content-Type": "text/plain"}).status_code
        == 201
    )
    stored = client.get("/messages/1")
    assert stored.status_code == 200
    assert stored.content == text


def test_an_empty_file_is_a_file(client: TestClient) -> None:
    response = client.post("/messages", files={"file": ("empty.txt", b"", "text/plain")})
    assert response.status_code == 201
    assert response.text == "File message written: empty.txt (0 bytes)"
    assert client.get("/messages/1").content == b""
