"""web.fastpath: the upstream code it replaces is still the code it was written against, and
the replacements do what they say (one thread hop at most, decorators and validators built once)."""

from __future__ import annotations

import hashlib
import inspect
import threading
from collections.abc import Iterator

import pytest
from connexion.apps.flask import FlaskOperation
from connexion.middleware.request_validation import RequestValidationOperation
from starlette.testclient import TestClient

from app import create_app
from handlers import articles, hello
from settings import Settings
from web import fastpath, validators

# sha256 of the source of each upstream function web.fastpath replaces or relies on, as reviewed
# (connexion 3.3.0, a2wsgi 1.10). A mismatch means a new release changed it: read the new code,
# bring web/fastpath.py in line (or drop the patch if upstream fixed the waste), update the hash.
REVIEWED = {
    "connexion.apps.flask.FlaskOperation.fn": "8e9389bf42b9e519",
    "connexion.apps.flask.FlaskASGIApp.__init__": "cc0d31503b250f26",
    "connexion.decorators.main.WSGIDecorator.__call__": "9a1025c77773ed68",
    "connexion.middleware.request_validation.RequestValidationOperation.__call__": (
        "af472716211911b9"
    ),
    "a2wsgi.wsgi.build_environ": "ec8bf30cd7ba800c",
}


@pytest.mark.parametrize("name", sorted(REVIEWED))
def test_upstream_code_is_the_reviewed_code(name: str) -> None:
    source = inspect.getsource(fastpath.UPSTREAM[name])
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == REVIEWED[name], (
        f"{name} changed upstream; re-review web/fastpath.py against it"
    )


def test_the_flask_app_is_served_by_the_one_hop_adapter(client: TestClient) -> None:
    assert isinstance(client.app._middleware_app.asgi_app, fastpath.OneHopWSGI)  # type: ignore[attr-defined]


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The name of the thread each Flask request ran on."""
    seen: list[str] = []
    original = fastpath._run_wsgi

    def recording(app, environ):  # type: ignore[no-untyped-def]
        seen.append(threading.current_thread().name)
        return original(app, environ)

    monkeypatch.setattr(fastpath, "_run_wsgi", recording)
    yield seen


def test_inline_handlers_run_on_the_event_loop_others_in_one_worker_thread(
    client: TestClient, threads: list[str]
) -> None:
    assert getattr(hello.get_hello, fastpath.INLINE, False)
    assert not getattr(articles.list_articles, fastpath.INLINE, False)

    assert client.get("/hello").text == "Hello John Doe"
    assert client.get("/articles").status_code == 200

    loop_thread, article_thread = threads
    assert not loop_thread.startswith("WSGI")
    assert article_thread.startswith("WSGI")


def test_request_and_response_survive_the_adapter_byte_for_byte(client: TestClient) -> None:
    body = "grüße\r\n\x00 " * 1000
    stored = client.post(
        "/messages",
        content=body.encode(),
        headers={"Content-Type": "text/plain; charset=utf-8", "Accept": "application/json"},
    )
    assert stored.status_code == 201
    read = client.get(stored.headers["Location"])
    assert read.content == body.encode()
    assert read.headers["content-type"] == "text/plain; charset=utf-8"
    assert read.headers["x-content-type-options"] == "nosniff"


def test_an_exception_in_a_threaded_handler_is_still_a_problem(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("store.articles.get", broken)
    response = client.get("/articles/1")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "boom" not in response.text


def test_handlers_are_decorated_once_per_operation(client: TestClient) -> None:
    client.get("/hello")
    operations = [
        view
        for view in client.app._middleware_app.app.view_functions.values()  # type: ignore[attr-defined]
        if isinstance(view, FlaskOperation)
    ]
    assert operations
    for operation in operations:
        assert operation.fn is operation.fn


def test_request_validators_are_built_once_per_operation(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    original_init = validators.ParameterErrors.__init__

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(validators.ParameterErrors, "__init__", counting)
    with create_app(settings).test_client() as client:
        for _ in range(3):
            assert client.get("/hello?name=x").status_code == 200
        assert client.get("/hello?name=" + "x" * 101).status_code == 400  # still validated
    assert len(built) == 1
    assert RequestValidationOperation.__call__ is fastpath._validate_request


def test_schema_validators_are_compiled_once_per_schema() -> None:
    schema = {"type": "integer", "minimum": 1}
    assert validators.draft4(schema) is validators.draft4(schema)
    assert validators.draft4(dict(schema)) is not validators.draft4(schema)
