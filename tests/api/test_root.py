"""GET /."""

from starlette.testclient import TestClient


def test_index_is_plain_welcome_for_curl(client: TestClient) -> None:
    response = client.get("/", headers={"Accept": "*/*"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Welcome"


def test_index_as_json_links_every_resource(client: TestClient) -> None:
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    links = response.json()["links"]
    assert links["articles"] == {"href": "/articles"}
    assert links["service-desc"] == {"href": "/openapi.json"}
    for link in links.values():
        assert client.get(link["href"]).status_code != 404, link


def test_index_without_accept_is_text(client: TestClient) -> None:
    response = client.get("/", headers={"Accept": ""})
    assert response.text == "Welcome"
