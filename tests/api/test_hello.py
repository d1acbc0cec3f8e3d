"""GET /hello."""

import pytest
from starlette.testclient import TestClient

from tests.conftest import basic

SERVICE_DESC = '</openapi.json>; rel="service-desc"'


def test_hello_greets_john_doe_by_default(client: TestClient) -> None:
    response = client.get("/hello")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Hello John Doe"


def test_hello_greets_by_name(client: TestClient) -> None:
    assert client.get("/hello", params={"name": "Luis"}).text == "Hello Luis"


def test_hello_json_is_the_tutorials_object_with_a_link(client: TestClient) -> None:
    response = client.get("/hello", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == '{"hello": "world", "number": 3}'
    assert response.headers["link"] == SERVICE_DESC


def test_hello_json_with_a_name(client: TestClient) -> None:
    response = client.get("/hello", params={"name": "Luis"}, headers={"Accept": "application/json"})
    assert response.json() == {"hello": "Luis", "number": 3}


@pytest.mark.parametrize("query", ["name=", "name=" + "x" * 101])
def test_hello_rejects_bad_query_with_a_problem(client: TestClient, query: str) -> None:
    response = client.get(f"/hello?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 400


def test_unknown_query_parameters_are_ignored(client: TestClient) -> None:
    assert client.get("/hello?nmae=Luis").text == "Hello John Doe"


def test_an_accept_nothing_satisfies_gets_the_default_not_406(client: TestClient) -> None:
    """RFC 9110 section 12.5.1: the server may answer in its default instead of 406, which
    generated clients need (they ask for JSON, or problem+json, from text-only operations)."""
    response = client.get("/hello", headers={"Accept": "image/png"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Hello John Doe"
    for accept in ("application/json", "application/problem+json"):
        secret = client.get("/secrets", headers={"Accept": accept, **basic("admin", "secret")})
        assert (secret.status_code, secret.text) == (200, "Shhh this is top secret spy stuff!")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/plain; charset=utf-8"),
        ("*/*", "text/plain; charset=utf-8"),
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "text/plain; charset=utf-8",
        ),
        ("application/json", "application/json"),
        ("application/json, text/plain", "text/plain; charset=utf-8"),  # a tie: the default
        ("text/plain;q=0.5, application/json", "application/json"),
        ("application/*", "application/json"),
    ],
)
def test_the_spec_names_what_a_client_that_accepts_anything_gets(
    client: TestClient, accept: str | None, expected: str
) -> None:
    """The spec lists JSON first (generated clients type it) and names text/plain as the default
    (`x-default-media-type`): what curl gets, and what a tie with anything else gives."""
    headers = {} if accept is None else {"Accept": accept}
    assert client.get("/hello", headers=headers).headers["content-type"] == expected


def test_accept_quality_values_are_honoured(client: TestClient) -> None:
    accept = "text/plain;q=0.5, application/json"
    assert client.get("/hello", headers={"Accept": accept}).json()["hello"] == "world"
    assert client.get("/hello", headers={"Accept": "application/*"}).json()["number"] == 3


def test_a_repeated_parameter_counts_once_its_last_value(client: TestClient) -> None:
    assert client.get("/hello?name=first&name=last").text == "Hello last"
    too_long = client.get("/hello?name=" + "x" * 101 + "&name=ok")
    assert too_long.text == "Hello ok"  # the value validated is the value used
    assert client.get("/hello?name=ok&name=" + "x" * 101).status_code == 400


@pytest.mark.parametrize("accept", [None, "", "*/*", " */* ", "*/*;q=0.9", "text/*"])
def test_anything_acceptable_gets_the_first_declared_type(
    client: TestClient, accept: str | None
) -> None:
    if accept is None:
        del client.headers["accept"]  # httpx sends */* unless told not to
        headers = {}
    else:
        headers = {"Accept": accept}
    response = client.get("/hello", headers=headers)
    assert ("accept" in response.request.headers) == (accept is not None)
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Hello John Doe"
    assert response.headers["vary"] == "Accept"
    assert response.headers["link"] == SERVICE_DESC
