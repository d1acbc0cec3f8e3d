"""Nothing is reachable that the contract does not declare."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from app import create_app, load_spec
from settings import Settings
from web.routes import HTTP_METHODS

DOCUMENTS = {"/openapi.json", "/openapi.yaml", "/ui/"}


def spec_routes() -> set[tuple[str, str]]:
    return {
        (re.sub(r"\{[^}]+\}", "<>", path), method.upper())
        for path, item in load_spec()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_the_app_routes_exactly_the_spec(settings: Settings) -> None:
    app = create_app(settings)
    with app.test_client():
        served = {
            (re.sub(r"<[^>]+>", "<>", rule.rule), method)
            for rule in app.app.url_map.iter_rules()
            for method in rule.methods or ()
            if method not in ("HEAD", "OPTIONS")
        }
    assert served == spec_routes()


def test_undeclared_paths_are_404(client: TestClient) -> None:
    for path in ("/static/app.py", "/admin", "/articles/1/edit", "/app.py", "/.env"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


def test_only_the_spec_documents_and_the_ui_are_served_besides(client: TestClient) -> None:
    for path in DOCUMENTS:
        assert client.get(path).status_code == 200, path
