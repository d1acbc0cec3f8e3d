"""One line per request in the log file, with a request id, and never a credential."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from settings import Settings
from tests.conftest import basic

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO \[(?P<id>[0-9a-f]{32})\] articles_api\.access: "
    r"(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) (?P<ms>\d+\.\d)ms$"
)


def access_lines(settings: Settings) -> list[re.Match[str]]:
    text = Path(settings.log_file).read_text(encoding="utf-8")
    return [m for m in map(LINE.match, text.splitlines()) if m]


def test_each_request_writes_one_access_line(client: TestClient, settings: Settings) -> None:
    ok = client.get("/hello")
    missing = client.get("/users/99")
    lines = access_lines(settings)
    assert [(m["method"], m["path"], m["status"]) for m in lines] == [
        ("GET", "/hello", "200"),
        ("GET", "/users/99", "404"),
    ]
    assert [m["id"] for m in lines] == [ok.headers["x-request-id"], missing.headers["x-request-id"]]


def test_a_clients_request_id_is_kept(client: TestClient, settings: Settings) -> None:
    response = client.get("/hello", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert "[abc-123] articles_api.access: GET /hello 200" in Path(settings.log_file).read_text()


def test_a_malformed_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/hello", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_credentials_never_reach_the_log(client: TestClient, settings: Settings) -> None:
    token = client.post("/tokens", headers=basic("admin", "secret")).json()["access_token"]
    client.get("/secrets", headers={"Authorization": f"Bearer {token}"})
    client.get("/secrets", headers=basic("admin", "hunter2-wrong"))
    client.get(f"/secrets?access_token={token}")
    client.post("/echo", headers={"Cookie": "session=cookie-secret"}, content=b"x")
    client.post(
        "/articles",
        json={"title": "", "body": "password=body-secret"},
        headers=basic("admin", "secret"),
    )
    log = Path(settings.log_file).read_text(encoding="utf-8")
    for secret in (token, "hunter2-wrong", "cookie-secret", "body-secret", "YWRtaW46c2VjcmV0"):
        assert secret not in log
