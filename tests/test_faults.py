"""Storage faults: a failed write leaves nothing; a database that goes away gives 503, heals."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from app import create_app
from settings import Settings
from tests.conftest import POSTGRES_URL, reset_postgres


def test_a_write_that_fails_halfway_leaves_nothing(client: TestClient) -> None:
    client.post("/messages", content=b"kept", headers={"Content-Type": "text/plain"})

    def fail_after_insert(_connection: object, statement: object, *_: object) -> None:
        if str(statement).startswith("INSERT INTO messages"):
            raise RuntimeError("disk full, after the INSERT and before the COMMIT")

    event.listen(Engine, "after_execute", fail_after_insert)
    try:
        response = client.post("/messages", content=b"lost", headers={"Content-Type": "text/plain"})
    finally:
        event.remove(Engine, "after_execute", fail_after_insert)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    listing = client.get("/messages").json()["items"]
    assert [item["size"] for item in listing] == [4]
    assert client.get("/messages/1").content == b"kept"
    assert client.get("/messages/2").status_code == 404


class Proxy:
    """A TCP forwarder in front of PostgreSQL that a test can cut and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.up = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every connection and refuse new ones, as a database that went down would."""
        self.up = False
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxied(settings: Settings) -> Iterator[tuple[Proxy, Settings]]:
    if not POSTGRES_URL or not settings.database_url.startswith("postgresql"):
        pytest.skip("a database that goes away is tested on PostgreSQL, over TCP")
    reset_postgres(POSTGRES_URL)
    url = make_url(POSTGRES_URL)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    yield proxy, dataclasses.replace(settings, database_url=through)
    proxy.close()


def test_a_database_that_goes_away_gives_503_and_heals(proxied: tuple[Proxy, Settings]) -> None:
    proxy, settings = proxied
    with create_app(settings).test_client() as client:
        stored = client.post("/messages", content=b"before", headers={"Content-Type": "text/plain"})
        assert stored.status_code == 201
        proxy.cut()
        for request in (
            lambda: client.get("/messages/1"),
            lambda: client.post(
                "/messages", content=b"during", headers={"Content-Type": "text/plain"}
            ),
            lambda: client.get("/secrets", headers={"Authorization": "Basic YWRtaW46c2VjcmV0"}),
        ):
            response = request()
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] == "5"
            assert "postgres" not in response.text.lower()
        proxy.restore()
        assert client.get("/messages/1").content == b"before"
        assert [m["id"] for m in client.get("/messages").json()["items"]] == [1]
        assert (
            client.get("/secrets", headers={"Authorization": "Basic YWRtaW46c2VjcmV0"}).status_code
            == 200
        )


def test_health_probes(client: TestClient) -> None:
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert response.headers["cache-control"] == "no-store"


def test_readiness_follows_the_database(proxied: tuple[Proxy, Settings]) -> None:
    proxy, settings = proxied
    with create_app(settings).test_client() as client:
        assert client.get("/readyz").status_code == 200
        proxy.cut()
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        assert client.get("/healthz").status_code == 200
        proxy.restore()
        assert client.get("/readyz").status_code == 200


def test_metrics_count_requests_by_operation(client: TestClient) -> None:
    client.get("/hello")
    client.get("/hello")
    client.get("/nowhere")
    client.get("/secrets")
    text = client.get("/metrics").text
    assert 'http_requests_total{method="GET",operation="get_hello",status="200"} 2.0' in text
    assert 'http_requests_total{method="GET",operation="none",status="404"} 1.0' in text
    assert 'http_requests_total{method="GET",operation="get_secret",status="401"} 1.0' in text
    assert 'http_request_duration_seconds_count{operation="get_hello"} 2.0' in text


def test_metrics_count_unknown_methods_as_other(client: TestClient) -> None:
    for number in range(30):
        assert client.request(f"X-METHOD-{number}", "/hello").status_code == 405
    text = client.get("/metrics").text
    assert 'http_requests_total{method="other",operation="none",status="405"} 30.0' in text
    assert "X-METHOD" not in text
