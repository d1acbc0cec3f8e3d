"""The spec document and Swagger UI, the only routes outside the spec's paths."""

from starlette.testclient import TestClient

from app import load_spec


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
    assert client.get("/ui/swagger-ui-bundle.js").status_code == 200
