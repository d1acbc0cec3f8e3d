"""Every failure is problem+json; a 500 hides its traceback unless debug mode is on."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from app import create_app
from settings import Settings
from store import users


def explode(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("database on fire: internal detail")


def test_unknown_path_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["message"] == "Not Found: http://testserver/nope"


def test_wrong_method_is_405_with_allow_from_the_spec(client: TestClient) -> None:
    response = client.delete("/articles")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.headers["content-type"] == "application/problem+json"


def test_malformed_json_is_a_400_problem(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/articles", content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_500_is_a_problem_without_internals(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "get", explode)
    response = client.get("/users/1")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 500
    assert "internal detail" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-request-id"] in problem["detail"] or "X-Request-ID" in problem["detail"]


def test_debug_mode_shows_the_traceback(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "get", explode)
    app = create_app(dataclasses.replace(settings, debug=True))
    with app.test_client() as client:
        response = client.get("/users/1")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert "Traceback" in detail
    assert "database on fire" in detail
