"""Every failure is problem+json; a 500 hides its traceback unless debug mode is on."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, event
from starlette.testclient import TestClient

from app import create_app, load_spec
from settings import Settings
from store import users
from web.problems import GENERIC_500


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
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert response.headers["content-type"] == "application/problem+json"


def test_malformed_json_is_a_400_problem(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/articles", content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_500_is_a_problem_without_internals(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "get", explode)
    response = client.get("/users/1")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 500
    assert "internal detail" not in response.text
    assert "Traceback" not in response.text
    assert problem["detail"] == GENERIC_500
    # The detail's promise: the response's request id finds the error and its traceback in the log.
    log = Path(settings.log_file).read_text(encoding="utf-8")
    request_id = response.headers["x-request-id"]
    assert f"[{request_id}] articles_api.problems: unhandled RuntimeError" in log
    assert "database on fire: internal detail" in log


def test_debug_mode_shows_the_traceback(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "get", explode)
    app = create_app(dataclasses.replace(settings, debug=True))
    with app.test_client() as client:
        response = client.get("/users/1")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert "Traceback" in detail
    assert "database on fire" in detail


def test_invalid_utf8_json_is_400_not_500(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/articles",
        content=b'{"title": "\xff"}',
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "The JSON body is not valid UTF-8."


def test_deeply_nested_json_is_400_not_500(client: TestClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    response = client.post("/messages", content=deep, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"] == "The JSON body is nested too deeply."
    assert client.get("/messages").json()["items"] == []


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=xyz"]
)
def test_broken_multipart_is_400_not_500(client: TestClient, content_type: str) -> None:
    response = client.post("/messages", content=b"0", headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("body", [b"null", b"[1, 2]", b"3", b'"text"'])
def test_a_json_message_is_an_object(client: TestClient, body: bytes) -> None:
    """The spec says JsonObject, not any JSON (a generated client could not send `{}`); a
    literal `null` is checked against it, not mistaken for a missing body."""
    response = client.post("/messages", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"] == "The body breaks its `type` rule (object)."
    assert client.get("/messages").json()["items"] == []


def test_json_null_article_is_rejected_by_its_schema(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/articles", content=b"null", headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "The body breaks its `type` rule (object)."


def test_validation_details_name_the_rule_not_the_input(
    client: TestClient, admin: dict[str, str]
) -> None:
    too_long = client.post("/articles", json={"title": "s3cr3t" * 40, "body": "b"}, headers=admin)
    assert too_long.status_code == 400
    assert (
        too_long.json()["detail"] == "The body's field `title` breaks its `maxLength` rule (200)."
    )
    assert "s3cr3t" not in too_long.text
    missing = client.post("/articles", json={"title": "t"}, headers=admin)
    assert missing.json()["detail"] == "The body: `body` is a required property."
    cursor = client.get("/articles?cursor=p4ssw0rd")
    assert cursor.json()["detail"] == (
        "The query parameter `cursor` breaks its `pattern` rule (^[A-Za-z0-9_-]{11}$)."
    )
    assert "p4ssw0rd" not in cursor.text
    limit = client.get("/articles?limit=1000")
    assert limit.json()["detail"] == "The query parameter `limit` breaks its `maximum` rule (100)."


def test_framework_errors_say_what_to_do(client: TestClient) -> None:
    assert (
        client.get("/nope").json()["detail"]
        == "Nothing lives at this URL; GET / lists the resources."
    )
    assert (
        client.put("/hello").json()["detail"] == "PUT is not allowed here; use GET, HEAD, OPTIONS."
    )
    unsupported = client.post(
        "/messages", content=b"<x/>", headers={"Content-Type": "application/xml"}
    )
    assert unsupported.json()["detail"] == (
        "application/xml is not accepted here; send one of: "
        "application/json, text/plain, application/octet-stream, multipart/form-data."
    )


@pytest.mark.parametrize(
    "path", ["/", "/articles", "/articles/1", "/hello", "/echo", "/messages", "/users", "/users/2"]
)
def test_head_answers_every_get_with_its_headers_and_no_body(
    client: TestClient, admin: dict[str, str], path: str
) -> None:
    client.post("/articles", json={"title": "T", "body": "B"}, headers=admin)
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    ignore = {"x-request-id", "date"}
    assert {k: v for k, v in head.headers.items() if k not in ignore} == {
        k: v for k, v in get.headers.items() if k not in ignore
    }


@pytest.mark.parametrize("query", ["limit=99999999999999999999999", "limit=-1", "limit=abc"])
def test_out_of_range_query_integers_are_400(client: TestClient, query: str) -> None:
    response = client.get(f"/articles?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_a_form_an_operation_does_not_declare_never_reaches_its_handler(
    client: TestClient, admin: dict[str, str]
) -> None:
    """connexion would hand the handler a file whose field is named like one of its arguments
    (an article id, a page limit), whatever the spec says: a 500 or the wrong resource."""
    created = client.post("/articles", json={"title": "Kept", "body": "B"}, headers=admin)
    article = created.headers["Location"]
    stored = client.post("/messages", content=b"keep me", headers={"Content-Type": "text/plain"})
    message = stored.headers["Location"]

    def upload(field: str) -> dict[str, tuple[str, bytes]]:
        return {field: ("x.txt", b"not a number")}

    page = client.request("GET", "/articles?limit=1", files=upload("limit"))
    assert page.status_code == 200
    assert page.text == f"List of /articles\n{article.rsplit('/', 1)[1]}\tKept\n"
    one = client.request("GET", article, files=upload("articleId"))
    assert (one.status_code, one.text.splitlines()[1]) == (200, "Kept")
    assert client.request("GET", "/hello", files=upload("name")).text == "Hello John Doe"
    assert client.request("GET", "/hello?name=Luis", files=upload("name")).text == "Hello Luis"
    gone = client.request("DELETE", message, files=upload("messageId"))
    assert gone.status_code == 204
    assert client.get(message).status_code == 404


BEYOND_INT_DIGITS = "7" * 4301  # Python refuses to convert more than 4300 digits to an int


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/articles/"),
        ("PUT", "/articles/"),
        ("GET", "/messages/"),
        ("DELETE", "/messages/"),
        ("GET", "/users/"),
        ("DELETE", "/tokens/"),
        ("HEAD", "/articles/-"),
    ],
)
def test_a_path_id_python_cannot_convert_is_400(
    client: TestClient, admin: dict[str, str], method: str, path: str
) -> None:
    response = client.request(method, path + BEYOND_INT_DIGITS, headers=admin)
    assert response.status_code == 400
    if method != "HEAD":
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"].endswith("has more than 4300 digits.")


@pytest.mark.parametrize("path", ["/messages", "/articles", "/tokens", "/echo"])
def test_a_json_integer_python_cannot_convert_is_400(
    client: TestClient, admin: dict[str, str], path: str
) -> None:
    body = b'{"title": "T", "body": "B", "n": ' + BEYOND_INT_DIGITS.encode() + b"}"
    response = client.post(
        path, content=body, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "The JSON body holds an integer of more than 4300 digits."
    assert client.get("/messages").json()["items"] == []
    assert client.get("/articles").text == "List of /articles\n"


@pytest.mark.parametrize(
    ("filename", "media_type", "detail"),
    [
        ("a\x00b.txt", "text/plain", "The file name holds a NUL character."),
        ("n" * 256, "text/plain", "The file name has 256 characters; at most 255 are stored."),
        (
            "x.txt",
            "text/" + "p" * 251,
            "The file's media type has 256 characters; at most 255 are stored.",
        ),
    ],
    ids=["NUL", "long-name", "long-media-type"],
)
def test_a_file_name_a_database_cannot_store_is_400_on_every_backend(
    client: TestClient, filename: str, media_type: str, detail: str
) -> None:
    # Built by hand: httpx would percent-encode the NUL, a client need not.
    body = (
        f'--b\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {media_type}\r\n\r\ncontent\r\n--b--\r\n"
    ).encode()
    response = client.post(
        "/messages", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == detail
    assert client.get("/messages").json()["items"] == []


def test_the_longest_file_name_is_stored_as_sent(client: TestClient) -> None:
    name = "é" * 255
    response = client.post(
        "/messages",
        files={"file": (name, b"content", "text/plain")},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 201, response.text
    listing = client.get("/messages").json()["items"]
    assert [item["filename"] for item in listing] == [name]


@pytest.mark.parametrize(("error", "status"), [("DataError", 400), ("IntegrityError", 500)])
def test_a_database_error_never_logs_the_statements_parameters(
    client: TestClient, settings: Settings, error: str, status: int
) -> None:
    def refuse(connection: Connection, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("INSERT INTO messages"):  # as the driver would refuse it
            raise getattr(connection.dialect.loaded_dbapi, error)("refused")

    event.listen(Engine, "before_cursor_execute", refuse)
    try:
        response = client.post(
            "/messages", content=b"TOP-SECRET-CONTENT", headers={"Content-Type": "text/plain"}
        )
    finally:
        event.remove(Engine, "before_cursor_execute", refuse)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert "TOP-SECRET-CONTENT" not in response.text
    log = Path(settings.log_file).read_text(encoding="utf-8")
    assert "TOP-SECRET-CONTENT" not in log
    assert client.get("/messages").json()["items"] == []


def _with_bodies() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation that takes a request body, ids filled in."""
    spec = load_spec()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", template))
        for template, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    ]


@pytest.mark.parametrize(("method", "path"), _with_bodies())
def test_a_415_sends_the_accept_header_its_operation_declares(
    client: TestClient, admin: dict[str, str], method: str, path: str
) -> None:
    """The Accept-Post / Accept-Patch a 415 carries is the one the spec declares for it."""
    spec = load_spec()
    template = next(t for t in spec["paths"] if re.fullmatch(re.sub(r"\{[^}]+\}", "1", t), path))
    declared = spec["paths"][template][method.lower()]["responses"]["415"]
    while "$ref" in declared:
        declared = spec["components"]["responses"][declared["$ref"].rsplit("/", 1)[1]]
    response = client.request(
        method,
        path,
        content=b"<x/>",
        headers={**admin, "Content-Type": "application/xml", "If-Match": "*"},
    )
    assert response.status_code == 415
    sent = {name for name in ("Accept-Post", "Accept-Patch") if name in response.headers}
    assert sent <= set(declared.get("headers", {})), (sent, declared.get("headers"))
    expected = {"POST": {"Accept-Post"}, "PATCH": {"Accept-Patch"}}.get(method, set())
    assert sent == expected
