"""The spec document and Swagger UI, the only routes outside the spec's paths."""

import re
from importlib.resources import files

from starlette.testclient import TestClient

from app import create_app, load_spec
from settings import Settings


def test_the_served_spec_is_the_contract(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    served = response.json()
    spec = load_spec()
    assert served["paths"] == spec["paths"]
    assert served["components"] == spec["components"]
    page_schema = served["paths"]["/articles"]["get"]["responses"]["200"]["content"]
    assert page_schema["application/json"]["schema"] == {"$ref": "#/components/schemas/ArticlePage"}


def test_swagger_ui_is_served_offline_from_the_package(client: TestClient) -> None:
    page = client.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'url: "/openapi.json"' in page.text
    assert "https://" not in page.text.split("<body")[0]
    assets = re.findall(r'(?:src|href)="\./([^"]+)"', page.text)
    assert "swagger-ui-bundle.js" in assets
    installed = files("flask_swagger_ui") / "dist"
    for asset in assets:
        served = client.get(f"/ui/{asset}")
        assert served.status_code == 200, asset
        assert served.content == (installed / asset).read_bytes(), asset


def test_swagger_ui_is_version_5(client: TestClient) -> None:
    bundle = client.get("/ui/swagger-ui-bundle.js").text
    served = re.search(r'PACKAGE_VERSION:"([0-9.]+)"', bundle)
    assert served is not None
    assert served[1].split(".")[0] == "5"


def test_behind_a_path_prefix_the_documents_ui_and_api_are_all_served(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app, root_path="/api") as client:
        spec = client.get("/api/openapi.json")
        assert spec.status_code == 200
        assert spec.json()["servers"] == [{"url": "/api"}]
        assert client.get("/api/openapi.yaml").status_code == 200
        assert 'url: "/api/openapi.json"' in client.get("/api/ui/").text
        assert client.get("/api/hello?name=proxy").text == "Hello proxy"


def test_the_documents_answer_only_get(client: TestClient) -> None:
    response = client.post("/openapi.json", json={})
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
