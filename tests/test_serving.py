"""Production serving: gunicorn with uvicorn workers; SIGTERM finishes what it started."""

from __future__ import annotations

import dataclasses
import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from app import create_app
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


STARTED = "Application startup complete."


@dataclasses.dataclass
class Server:
    """A gunicorn started by `gunicorn_serving`: its process, base URL and output."""

    process: subprocess.Popen[bytes]
    base: str
    output: Path

    def wait_for_started_workers(self, count: int) -> None:
        """Wait until `count` workers have started their app (each logs STARTED once)."""
        deadline = time.monotonic() + 60
        while self.output.read_text().count(STARTED) < count:
            assert self.process.poll() is None, "gunicorn exited"
            assert time.monotonic() < deadline, f"{count} workers did not start"
            time.sleep(0.1)


@contextmanager
def gunicorn_serving(tmp_path: Path, **env: str) -> Iterator[Server]:
    """`make serve-prod` on a free port with WORKERS workers (2 unless given), all started."""
    port = free_port()
    output = tmp_path / f"gunicorn-{port}.out"
    workers = env.setdefault("WORKERS", "2")
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "LOG_FILE": str(tmp_path / "app.log"),
        "PORT": str(port),
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        **env,
    }
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "app:app"],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", output)
    try:
        server.wait_for_started_workers(int(workers))
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        print(output.read_text())


def test_sigterm_lets_an_in_flight_request_finish(settings: Settings, tmp_path: Path) -> None:
    with gunicorn_serving(tmp_path, DATABASE_URL=settings.database_url) as server:
        sent_half = threading.Event()

        def slow_body() -> Iterator[bytes]:
            yield b"a" * 1000
            sent_half.set()
            time.sleep(1.5)
            yield b"b" * 1000

        result: dict[str, httpx.Response] = {}

        def upload() -> None:
            result["response"] = httpx.post(
                f"{server.base}/messages",
                content=slow_body(),
                headers={"Content-Type": "application/octet-stream", "Accept": "application/json"},
                timeout=30,
            )

        thread = threading.Thread(target=upload)
        thread.start()
        assert sent_half.wait(10)
        time.sleep(0.2)
        server.process.send_signal(signal.SIGTERM)
        thread.join(30)
        response = result["response"]
        assert response.status_code == 201, response.text
        assert response.json()["size"] == 2000
        assert server.process.wait(40) == 0


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.get("/hello", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_the_configured_origins(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, cors_origins=("https://app.example",)))
    with app.test_client() as client:
        preflight = client.options(
            "/articles/1",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization, if-match, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "PUT" in preflight.headers["access-control-allow-methods"]
        simple = client.get("/articles", headers={"Origin": "https://app.example"})
        assert simple.headers["access-control-allow-origin"] == "https://app.example"
        assert "ETag" in simple.headers["access-control-expose-headers"]
        other = client.get("/articles", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    assert Settings.from_env(
        {"CORS_ORIGINS": "https://a.example, https://b.example"}
    ).cors_origins == (
        "https://a.example",
        "https://b.example",
    )


GC_STATES = """
import gc, runpy
seen = []
config = runpy.run_path("deploy/gunicorn.conf.py")
seen.append(gc.isenabled())  # while the arbiter starts
config["when_ready"](None)
seen.append(gc.isenabled())  # the arbiter, serving
config["post_fork"](None, None)
seen.append(gc.isenabled())  # a worker, starting
print(seen)
"""


def test_gunicorn_keeps_the_cyclic_gc_off_only_while_starting(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", GC_STATES],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "LOG_FILE": str(tmp_path / "app.log")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[False, True, False]"


def test_a_started_app_has_the_cyclic_gc_on(settings: Settings) -> None:
    gc.disable()  # as deploy/gunicorn.conf.py leaves a new worker
    try:
        with create_app(settings).test_client() as client:
            assert gc.isenabled()
            assert client.get("/hello").status_code == 200
    finally:
        gc.enable()


ARBITER = """
import runpy, sys
config = runpy.run_path("deploy/gunicorn.conf.py")
from web.serving import uvicorn_options
print("connexion" in sys.modules, "starlette.testclient" in sys.modules)
print(config["Worker"].CONFIG_KWARGS == uvicorn_options(config["workers"]))
print(config["workers"], config["Worker"].CONFIG_KWARGS["loop"])
"""


@pytest.mark.parametrize(("workers", "loop"), [("1", "asyncio"), ("2", "uvloop")])
def test_the_arbiter_imports_connexion_once_for_every_worker(
    tmp_path: Path, workers: str, loop: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ARBITER],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "LOG_FILE": str(tmp_path / "app.log"), "WORKERS": workers},
        capture_output=True,
        text=True,
        check=True,
    )
    # Workers fork with connexion imported (not its test client), with web.serving's settings:
    # several processes on one socket accept as libuv does (web.serving.uvicorn_options).
    assert done.stdout.split() == ["True", "False", "True", workers, loop]
