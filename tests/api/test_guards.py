"""web/guards.py: the request body cap, nosniff on every response, and OPTIONS on every path."""

from __future__ import annotations

import asyncio
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from errors import PayloadTooLarge
from settings import Settings
from web.guards import MULTIPART_ALLOWANCE, BodyLimit

MIB = 1024 * 1024
OCTETS = {"Content-Type": "application/octet-stream"}
MESSAGE_TYPES = "application/json, text/plain, application/octet-stream, multipart/form-data"
ECHO_TYPES = "application/json, text/plain, application/octet-stream"


def request_limit(settings: Settings) -> int:
    return settings.max_message_bytes + MULTIPART_ALLOWANCE


def too_large(detail: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": "Content Too Large", "status": 413, "detail": detail}


# What every response carries (web.request_context.RequestContext), but an X-Request-ID.
ALWAYS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
}


def stored_ids(base_url: str) -> list[int]:
    return [item["id"] for item in httpx.get(f"{base_url}/messages").json()["items"]]


def without_request_id(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name != "x-request-id"}


# --- BodyLimit ----------------------------------------------------------------------------


def test_oversized_content_length_is_413_and_stores_nothing(
    client: TestClient, settings: Settings
) -> None:
    limit = request_limit(settings)
    response = client.post("/messages", content=b"x" * (limit + 1), headers=OCTETS)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.json() == too_large(
        f"The body has {limit + 1} bytes; a request may carry at most {limit}."
    )
    assert client.get("/messages").json()["items"] == []


def test_oversized_content_length_is_refused_before_any_body_is_read() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not run")

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body must not be read")

    async def send(message: Any) -> None:
        raise AssertionError("the middleware answers by raising")

    scope = {"type": "http", "method": "POST", "headers": [(b"content-length", b"11")]}
    with pytest.raises(PayloadTooLarge):
        asyncio.run(BodyLimit(app, max_bytes=10)(scope, receive, send))


def test_chunked_reading_stops_once_over_the_limit() -> None:
    received = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not run")

    async def receive() -> dict[str, Any]:
        received.append(4)
        return {"type": "http.request", "body": b"abcd", "more_body": True}

    async def send(message: Any) -> None:
        raise AssertionError("the middleware answers by raising")

    scope = {"type": "http", "method": "POST", "headers": [(b"transfer-encoding", b"chunked")]}
    with pytest.raises(PayloadTooLarge):
        asyncio.run(BodyLimit(app, max_bytes=10)(scope, receive, send))
    assert received == [4, 4, 4]


def test_oversized_chunked_body_is_413_and_stores_nothing(
    live_server: str, settings: Settings
) -> None:
    limit = request_limit(settings)
    chunks = iter([b"x" * limit, b"y"])
    response = httpx.post(f"{live_server}/messages", content=chunks, headers=OCTETS, timeout=60)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == too_large(
        f"The body is longer than {limit} bytes, the most a request may carry."
    )
    assert stored_ids(live_server) == []


@pytest.mark.parametrize(
    ("content_type", "chunks", "receipt"),
    [
        (
            "application/octet-stream",
            [bytes(range(256)) * 4096, b"\x00\xff" * 3],
            "Binary message written!",
        ),
        (
            "text/plain",
            [b"Hello, ", "chunked wörld".encode()],
            "Text Message: Hello, chunked wörld",
        ),
        (
            "application/json",
            [b'{"message":', b' "in two chunks"}'],
            'JSON Message: {"message": "in two chunks"}',
        ),
    ],
)
def test_chunked_message_is_stored_byte_for_byte(
    live_server: str, content_type: str, chunks: list[bytes], receipt: str
) -> None:
    response = httpx.post(
        f"{live_server}/messages",
        content=iter(chunks),
        headers={"Content-Type": content_type},
        timeout=60,
    )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/messages/1"
    assert response.text == receipt
    stored = httpx.get(f"{live_server}/messages/1")
    assert stored.status_code == 200
    assert stored.headers["content-type"].split(";")[0] == content_type
    assert stored.content == b"".join(chunks)
    assert stored_ids(live_server) == [1]


def test_empty_chunked_body_is_still_the_handlers_400(live_server: str) -> None:
    response = httpx.post(f"{live_server}/messages", content=iter([]), headers=OCTETS)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert stored_ids(live_server) == []


def test_ten_mib_multipart_file_is_still_accepted(client: TestClient, settings: Settings) -> None:
    payload = bytes(range(256)) * (settings.max_message_bytes // 256)
    assert len(payload) == settings.max_message_bytes == 10 * MIB
    response = client.post(
        "/messages", files={"file": ("big.bin", payload, "application/octet-stream")}
    )
    assert response.status_code == 201
    assert response.text == f"File message written: big.bin ({10 * MIB} bytes)"
    assert client.get("/messages/1").content == payload


def test_multipart_file_over_the_message_limit_is_the_handlers_413(
    client: TestClient, settings: Settings
) -> None:
    size = settings.max_message_bytes + 1
    response = client.post("/messages", files={"file": ("big.bin", b"x" * size, "text/plain")})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == too_large(
        f"The body has {size} bytes; at most {settings.max_message_bytes} are stored."
    )
    assert client.get("/messages").json()["items"] == []


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_gibibyte_upload_is_refused_quickly_in_flat_memory(
    live_server: str, framing: str
) -> None:
    chunk = b"x" * MIB

    def gibibyte() -> Iterator[bytes]:
        for _ in range(1024):
            yield chunk

    # live_server runs in this process, so ru_maxrss is the server's peak. JSON, because connexion
    # reads a JSON body with a Content-Length whole to validate it: 3 GiB of RSS unguarded.
    headers = {"Content-Type": "application/json"}
    if framing == "content-length":
        headers["Content-Length"] = str(1024 * MIB)
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    response = httpx.post(
        f"{live_server}/messages", content=gibibyte(), headers=headers, timeout=120
    )
    elapsed = time.monotonic() - started
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kib) / 1024
    assert ("transfer-encoding" in response.request.headers) == (framing == "chunked")
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert elapsed < 30
    assert grown_mib < 200, f"peak RSS grew by {grown_mib:.0f} MiB"
    assert stored_ids(live_server) == []


# --- SecurityHeaders ----------------------------------------------------------------------


def test_every_response_says_nosniff(client: TestClient, admin: dict[str, str]) -> None:
    created = client.post("/articles", json={"title": "T", "body": "B"}, headers=admin)
    message = client.post("/messages", content=b"Hi", headers={"Content-Type": "text/plain"})
    responses = {
        "200": client.get("/hello"),
        "201": created,
        "204 OPTIONS": client.options("/messages"),
        "204 DELETE": client.delete(message.headers["location"]),
        "304": client.get("/articles/1", headers={"If-None-Match": created.headers["etag"]}),
        "401": client.get("/secrets"),
        "404": client.get("/nowhere"),
        "405": client.request("TRACE", "/echo"),
        "415": client.post("/messages", content=b"<a/>", headers={"Content-Type": "text/xml"}),
    }
    assert {name: response.status_code for name, response in responses.items()} == {
        name: int(name[:3]) for name in responses
    }
    responses["200 UI"] = client.get("/ui/")
    for response in responses.values():
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]
        # Neither Swagger UI's page nor any answer may be shown in another site's frame.
        assert response.headers.get_list("x-frame-options") == ["DENY"]
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_nosniff_over_real_http(live_server: str) -> None:
    response = httpx.get(f"{live_server}/hello")
    assert response.status_code == 200
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]


# --- Options ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (
            "/articles",
            {
                "allow": "GET, HEAD, OPTIONS, POST",
                "accept-post": "application/json, application/vnd.example.v2+json",
            },
        ),
        (
            "/articles/1",
            {
                "allow": "DELETE, GET, HEAD, OPTIONS, PATCH, PUT",
                "accept-patch": "application/merge-patch+json",
            },
        ),
        ("/messages", {"allow": "GET, HEAD, OPTIONS, POST", "accept-post": MESSAGE_TYPES}),
        ("/messages/7", {"allow": "DELETE, GET, HEAD, OPTIONS"}),
        ("/secrets", {"allow": "GET, HEAD, OPTIONS"}),
        (
            "/echo",
            {
                "allow": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
                "accept-post": ECHO_TYPES,
                "accept-patch": ECHO_TYPES,
            },
        ),
    ],
)
def test_options_describes_the_path(client: TestClient, path: str, headers: dict[str, str]) -> None:
    response = client.options(path)
    assert response.status_code == 204
    assert response.content == b""
    assert without_request_id(response) == {**headers, **ALWAYS}


def test_options_on_an_unknown_path_is_404(client: TestClient) -> None:
    response = client.options("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Nothing lives at this URL; GET / lists the resources.",
        "message": "Not Found: http://testserver/nowhere",
    }


def test_options_matches_paths_as_routing_does(client: TestClient) -> None:
    assert client.options("/articles/12").status_code == 204
    assert client.options("/articles/abc").status_code == 404
    assert client.get("/articles/abc").status_code == 404


# --- what a client may leave half done -------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "part"),
    [
        ("text/plain", b"a" * 500),
        ("application/json", b'{"message": "' + b"b" * 400),
        ("application/octet-stream", b"c" * 500),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\nabc',
        ),
    ],
)
def test_a_body_the_client_gives_up_on_is_never_stored(
    live_server: str, settings: Settings, content_type: str, part: bytes
) -> None:
    """The client says 1000 bytes, sends fewer and goes away: no part of it is taken for the
    whole (it was stored, 201), nor is it logged as the client's mistake (400): 499."""
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(
            b"POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type.encode()
            + b"\r\nContent-Length: 1000\r\n\r\n" + part
        )  # fmt: skip
        time.sleep(0.2)  # the server has the head and some body, and waits for the rest
    deadline = time.monotonic() + 10
    log = Path(settings.log_file)
    while "POST /messages 499" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "POST /messages 499" in log.read_text()
    assert "POST /messages 201" not in log.read_text()
    assert "POST /messages 400" not in log.read_text()
    assert stored_ids(live_server) == []


@pytest.mark.parametrize("path", ["/messages/", "/articles/", "/users/", "/hello/"])
def test_a_path_with_a_trailing_slash_is_404_not_a_redirect(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "location" not in response.headers
