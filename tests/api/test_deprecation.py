"""Deprecation on the wire (web.deprecation): RFC 9745 `Deprecation`, RFC 8594 `Sunset` and
`Link rel="deprecation"` on every response to a request that uses what the spec deprecates.

The contract's real case is `GET /healthz`, deprecated for `GET /livez`; the generic cases
(an operation without a sunset, query and header parameters, a response that has a `Link` of
its own, an error response) run the whole app on the real spec with those marks added."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from connexion.spec import Specification
from starlette.testclient import TestClient

import app as app_module
from settings import Settings
from web import deprecation

SINCE = "@1796169600"  # 2026-12-02T00:00:00Z
SUNSET = "Fri, 31 Dec 2027 00:00:00 GMT"
HEALTHZ_LINK = '</ui/#/operations/get_healthz>; rel="deprecation"; type="text/html"'
DEPRECATION_HEADERS = ("deprecation", "sunset", "link")


def test_healthz_announces_its_deprecation_and_sunset(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["deprecation"] == SINCE
    assert response.headers["sunset"] == SUNSET
    assert response.headers.get_list("link") == [HEALTHZ_LINK]


def test_healthz_head_announces_it_too(client: TestClient) -> None:
    response = client.head("/healthz")
    assert response.status_code == 200
    assert response.headers["deprecation"] == SINCE
    assert response.headers["sunset"] == SUNSET


def test_livez_is_healthz_without_the_deprecation(client: TestClient) -> None:
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"
    assert not any(name in response.headers for name in DEPRECATION_HEADERS)


def test_the_index_links_livez_not_healthz(client: TestClient) -> None:
    links = client.get("/", headers={"Accept": "application/json"}).json()["links"]
    assert links["livez"] == {"href": "/livez"}
    assert "healthz" not in links


@pytest.mark.parametrize("path", ["/", "/hello", "/readyz", "/articles"])
def test_what_is_not_deprecated_says_nothing(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert "deprecation" not in response.headers
    assert "sunset" not in response.headers


def _operation(spec: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return operation
    raise LookupError(operation_id)


def _marked(spec: dict[str, Any]) -> dict[str, Any]:
    """The real spec with get_hello deprecated (no sunset), list_articles' `q` and
    get_article's `If-None-Match` deprecated (with sunsets)."""
    spec = copy.deepcopy(spec)
    hello = _operation(spec, "get_hello")
    hello["deprecated"] = True
    hello["x-deprecation"] = {"date": "2026-01-15"}
    articles = _operation(spec, "list_articles")
    for parameter in articles["parameters"]:
        if parameter.get("name") == "q":
            parameter["deprecated"] = True
            parameter["x-deprecation"] = {"date": "2026-03-01", "sunset": "2027-03-01"}
    article = _operation(spec, "get_article")
    for parameter in article["parameters"]:
        if parameter.get("$ref") == "#/components/parameters/IfNoneMatch":
            parameter.clear()
            parameter.update(copy.deepcopy(spec["components"]["parameters"]["IfNoneMatch"]))
            parameter["deprecated"] = True
            parameter["x-deprecation"] = {"date": "2026-02-01", "sunset": "2026-12-31"}
    return spec


@pytest.fixture
def marked(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app on the real spec with _marked's deprecations."""
    spec = _marked(app_module.load_spec())
    monkeypatch.setattr(app_module, "load_spec", lambda: copy.deepcopy(spec))
    with app_module.create_app(settings).test_client() as test_client:
        yield test_client


def test_a_deprecated_operation_without_a_sunset(marked: TestClient) -> None:
    response = marked.get("/hello")
    assert response.status_code == 200
    assert response.text == "Hello John Doe"
    assert response.headers["deprecation"] == "@1768435200"  # 2026-01-15
    assert "sunset" not in response.headers
    # A field of its own beside the response's Link (RFC 8288: Link is a list).
    assert response.headers.get_list("link") == [
        '</openapi.json>; rel="service-desc"',
        '</ui/#/tutorial/get_hello>; rel="deprecation"; type="text/html"',
    ]


def test_a_deprecated_query_parameter_only_when_sent(marked: TestClient) -> None:
    plain = marked.get("/articles")
    assert plain.status_code == 200
    assert "deprecation" not in plain.headers
    used = marked.get("/articles", params={"q": "hello"})
    assert used.status_code == 200
    assert used.headers["deprecation"] == "@1772323200"  # 2026-03-01
    assert used.headers["sunset"] == "Mon, 01 Mar 2027 00:00:00 GMT"
    assert (
        used.headers["link"]
        == '</ui/#/articles/list_articles>; rel="deprecation"; type="text/html"'
    )


def test_a_request_refused_before_the_operation_runs_is_not_announced(marked: TestClient) -> None:
    """A 400 from validation is the client's mistake to fix first; the spec declares the
    headers on the operation's own answers."""
    response = marked.get("/articles?q=")  # minLength 1
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "deprecation" not in response.headers


def test_a_deprecated_header_parameter_only_when_sent(
    marked: TestClient, admin: dict[str, str]
) -> None:
    created = marked.post("/articles", json={"title": "Hi", "body": "There."}, headers=admin)
    path = created.headers["location"]
    assert "deprecation" not in marked.get(path).headers
    used = marked.get(path, headers={"If-None-Match": '"x"'})
    assert used.status_code == 200
    assert used.headers["deprecation"] == "@1769904000"  # 2026-02-01
    assert used.headers["sunset"] == "Thu, 31 Dec 2026 00:00:00 GMT"
    missing = marked.get("/articles/999", headers={"If-None-Match": '"x"'})
    assert missing.status_code == 404
    assert missing.headers["deprecation"] == "@1769904000"


def test_a_deprecation_must_say_since_when(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = app_module.load_spec()
    _operation(spec, "get_hello")["deprecated"] = True
    undated = r"GET /hello is deprecated: declare since when"
    with pytest.raises(ValueError, match=undated):
        deprecation.from_spec(Specification.from_dict(copy.deepcopy(spec)))
    # connexion reads the deprecations into the middleware stack it builds before serving.
    monkeypatch.setattr(app_module, "load_spec", lambda: copy.deepcopy(spec))
    with pytest.raises(ValueError, match=undated), app_module.create_app(settings).test_client():
        pass


def test_a_deprecated_parameter_behind_a_ref_is_found_in_every_operation_using_it() -> None:
    """from_spec reads connexion's specification, whose `$ref`s connexion has resolved."""
    spec = app_module.load_spec()
    shared = spec["components"]["parameters"]["IfNoneMatch"]
    shared["deprecated"] = True
    shared["x-deprecation"] = {"date": "2026-02-01"}
    users = {
        operation["operationId"]
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        and {"$ref": "#/components/parameters/IfNoneMatch"} in operation.get("parameters", [])
    }
    assert users
    found = deprecation.from_spec(Specification.from_dict(spec))
    assert {operation_id for operation_id, what in found.items() if what.parameters} == users
    for operation_id in users:
        [(location, name, notice)] = found[operation_id].parameters
        assert (location, name, notice.since) == ("header", "If-None-Match", date(2026, 2, 1))


def test_several_deprecations_give_the_earliest_dates_and_every_link() -> None:
    notices = [
        deprecation.Notice(date(2026, 5, 1), date(2027, 5, 1), "/ui/#/a/one"),
        deprecation.Notice(date(2026, 3, 1), None, "/ui/#/a/two"),
        deprecation.Notice(date(2026, 4, 1), date(2027, 1, 1), "/ui/#/a/one"),
    ]
    assert deprecation.headers(notices) == {
        "Deprecation": "@1772323200",
        "Sunset": "Fri, 01 Jan 2027 00:00:00 GMT",
        "Link": '</ui/#/a/one>; rel="deprecation"; type="text/html", '
        '</ui/#/a/two>; rel="deprecation"; type="text/html"',
    }
