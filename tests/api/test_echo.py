"""/echo: every HTTP method."""

import pytest
from starlette.testclient import TestClient

ALL_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "PUT", "DELETE"])
def test_echo_names_the_method(client: TestClient, method: str) -> None:
    response = client.request(method, "/echo")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == f"ECHO: {method}\n"


def test_head_gets_gets_headers_and_no_body(client: TestClient) -> None:
    get = client.get("/echo")
    head = client.head("/echo")
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "vary"):
        assert head.headers[name] == get.headers[name]


def test_options_lists_every_method(client: TestClient) -> None:
    response = client.options("/echo")
    assert response.status_code == 204
    assert response.headers["allow"] == ALL_METHODS
    assert response.content == b""


def test_echo_json_describes_the_request_and_redacts_credentials(client: TestClient) -> None:
    response = client.post(
        "/echo?a=1&a=2",
        content=b"hi there",
        headers={
            "Accept": "application/json",
            "Content-Type": "text/plain",
            "Authorization": "Bearer very-secret",
            "Cookie": "session=also-secret",
        },
    )
    assert response.status_code == 200
    echo = response.json()
    assert echo["method"] == "POST"
    assert echo["path"] == "/echo"
    assert echo["query"] == {"a": ["1", "2"]}
    assert echo["body"] == "hi there"
    assert echo["headers"]["Authorization"] == "[redacted]"
    assert echo["headers"]["Cookie"] == "[redacted]"
    assert "secret" not in response.text


def test_echo_json_body(client: TestClient) -> None:
    response = client.put("/echo", json={"x": 1}, headers={"Accept": "application/json"})
    assert response.json()["body"] == '{"x":1}'


def test_echo_refuses_an_undeclared_media_type(client: TestClient) -> None:
    response = client.post("/echo", content=b"<x/>", headers={"Content-Type": "application/xml"})
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert (
        response.headers["accept-post"] == "application/json, text/plain, application/octet-stream"
    )


def test_unknown_method_is_405_with_the_full_allow(client: TestClient) -> None:
    response = client.request("TRACE", "/echo")
    assert response.status_code == 405
    assert response.headers["allow"] == ALL_METHODS
    assert response.headers["content-type"] == "application/problem+json"
