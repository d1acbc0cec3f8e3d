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
from prometheus_client.multiprocess import MultiProcessCollector
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

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; it exits cleanly."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(40) == 0


@contextmanager
def gunicorn_serving(tmp_path: Path, **env: str) -> Iterator[Server]:
    """`make serve-prod` on a free port with WORKERS workers (2 unless given), all started."""
    port = free_port()
    output = tmp_path / f"gunicorn-{port}.out"
    workers = env.setdefault("WORKERS", "2")
    environment = {
        **{name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"},
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


HELLO_COUNT = 'http_requests_total{method="GET",operation="get_hello",status="200"} '
HELLO_LATENCIES = 'http_request_duration_seconds_count{operation="get_hello"} '


def say_hello(server: Server, times: int) -> None:
    """GET /hello, each over a new connection (one kept alive would stay on one worker)."""
    for _ in range(times):
        assert httpx.get(f"{server.base}/hello", timeout=10).status_code == 200


def scrapes(server: Server, times: int = 6) -> list[str]:
    """GET /metrics, each over a new connection, so several workers answer."""
    return [httpx.get(f"{server.base}/metrics", timeout=10).text for _ in range(times)]


def assert_every_scrape_counts(server: Server, hellos: int) -> None:
    for text in scrapes(server):
        assert f"{HELLO_COUNT}{hellos}.0" in text, text
        assert f"{HELLO_LATENCIES}{hellos}.0" in text, text


def hellos_by_pid(directory: Path) -> dict[int, float]:
    """GET /hello requests in each worker's file (prometheus_client's multiprocess mode)."""
    counts: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if (
                    sample.name == "http_requests_total"
                    and sample.labels["operation"] == "get_hello"
                ):
                    counts[int(path.stem.removeprefix("counter_"))] = sample.value
    return counts


def test_metrics_count_the_requests_of_every_worker(tmp_path: Path) -> None:
    # Without PROMETHEUS_MULTIPROC_DIR, the server makes a directory of its own (in TMPDIR).
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    with gunicorn_serving(tmp_path, TMPDIR=str(temporary)) as server:
        say_hello(server, 20)
        assert_every_scrape_counts(server, 20)
        # Both workers served some: no single worker's counts could have answered.
        [directory] = temporary.iterdir()
        served = hellos_by_pid(directory)
        assert len(served) == 2, served
        assert sum(served.values()) == 20
        server.stop()
    assert not list(temporary.iterdir()), "the metrics directory outlived the server"


def test_metrics_keep_the_counts_of_a_restarted_worker(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()  # the operator's
    with gunicorn_serving(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(directory)) as server:
        say_hello(server, 20)
        served = hellos_by_pid(directory)
        assert len(served) == 2, served
        stopped = min(served)
        os.kill(stopped, signal.SIGTERM)
        server.wait_for_started_workers(3)  # gunicorn reaped it and started another
        with pytest.raises(ProcessLookupError):
            os.kill(stopped, 0)
        assert_every_scrape_counts(server, 20)  # its share too
        say_hello(server, 10)
        assert_every_scrape_counts(server, 30)


def test_metrics_of_a_fresh_start_count_only_its_own_requests(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    with gunicorn_serving(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(directory)) as server:
        say_hello(server, 20)
        server.stop()
    with gunicorn_serving(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(directory)) as server:
        say_hello(server, 10)
        assert_every_scrape_counts(server, 10)


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
print("prometheus_client" in sys.modules)
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
    # several processes on one socket accept as libuv does (web.serving.uvicorn_options); not
    # prometheus_client, which each worker imports after on_starting set its multiprocess mode.
    assert done.stdout.split() == ["True", "False", "False", "True", workers, loop]


@pytest.mark.parametrize(
    ("env", "exit_line"),
    [
        (
            {"APP_ENV": "production", "WORKERS": "2"},
            "articles-api: APP_ENV=production refuses WORKERS=2 without REDIS_URL: each worker "
            "counts failed logins on its own, so the limits let WORKERS times as many guesses in",
        ),
        ({"APP_ENV": "production", "WORKERS": "1"}, None),
        ({"APP_ENV": "production", "WORKERS": "2", "REDIS_URL": "redis://127.0.0.1:1/0"}, None),
        ({"WORKERS": "2"}, None),
    ],
)
def test_production_refuses_several_workers_that_cannot_share_failed_logins(
    tmp_path: Path, env: dict[str, str], exit_line: str | None
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", 'import runpy; runpy.run_path("deploy/gunicorn.conf.py")'],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "LOG_FILE": str(tmp_path / "app.log"),
            "ADMIN_PASSWORD": "correct-horse-battery",
            **env,
        },
        capture_output=True,
        text=True,
    )
    if exit_line is None:
        assert done.returncode == 0, done.stderr
        if env.get("WORKERS") == "2" and "REDIS_URL" not in env:
            assert "warning: WORKERS=2 without REDIS_URL" in done.stderr
    else:
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [exit_line]
