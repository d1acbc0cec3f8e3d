"""Fixtures: a fresh app and database per test, on SQLite always and PostgreSQL when configured."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from app import create_app
from settings import Settings
from web.patches import shadow
from web.serving import uvicorn_options

# The test client's own httpx logger would write full request URLs into the service's log file;
# the service itself never uses httpx.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpx2").setLevel(logging.WARNING)

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
ROOT_DIR = Path(__file__).resolve().parent.parent  # "gw0", "gw1", ... under pytest -n


def per_worker_postgres(url: str | None) -> str | None:
    """Under xdist, each worker gets its own database (test_gw0, ...), created when missing."""
    if not url or not WORKER:
        return url
    base = make_url(url)
    database = f"{base.database}_{WORKER}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{database}"'))
    engine.dispose()
    return base.set(database=database).render_as_string(hide_password=False)


def per_worker_redis(url: str | None) -> str | None:
    """Under xdist, each worker gets its own Redis database number (1, 2, ...)."""
    if not url or not WORKER:
        return url
    return str(make_url(url).set(database=str(int(WORKER.removeprefix("gw")) + 1)))


POSTGRES_URL = per_worker_postgres(os.environ.get("TEST_DATABASE_URL"))
REDIS_URL = per_worker_redis(os.environ.get("TEST_REDIS_URL"))
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not POSTGRES_URL, reason="set TEST_DATABASE_URL to also run against PostgreSQL"
        ),
    ),
]


def reset_postgres(url: str) -> None:
    """Drop everything in the test database's public schema."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(autouse=True)
def fast_paths_agree_with_connexion(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every request in the suite goes through the fast paths and connexion's own code (handler
    arguments, query parameters); both must give the same answer (web.patches.shadow)."""
    monkeypatch.setattr(shadow, "VERIFY", True)
    mismatches = shadow.MISMATCHES
    mismatches.clear()
    yield
    assert not mismatches, "\n".join(mismatches)


@pytest.fixture(scope="session", autouse=True)
def leave_postgres_empty() -> Iterator[None]:
    """The test database holds nothing of ours once the suite is done."""
    yield
    if POSTGRES_URL:
        reset_postgres(POSTGRES_URL)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a new SQLite file, or a wiped PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'app.db'}"
    assert POSTGRES_URL is not None
    reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test app: its own database and log file, responses validated."""
    return Settings(
        database_url=database_url,
        log_file=str(tmp_path / "app.log"),
        validate_responses=True,
        # Argon2id still, at a cost that keeps hundreds of logins in the suite fast.
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A started app (migrated, seeded) and a client for it."""
    app = create_app(settings)
    with app.test_client() as test_client:
        yield test_client


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The app served by uvicorn on a free local port, in a background thread, with the
    service's own uvicorn settings (web.serving), as `python app.py` serves it; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **uvicorn_options(
            workers=1,
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            body_min_rate=settings.body_min_rate,
            shutdown_timeout=settings.shutdown_timeout,
        ),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """A live server for the test's settings; its base URL."""
    with serving(settings) as base_url:
        yield base_url


def basic(username: str, password: str) -> dict[str, str]:
    """An Authorization header for HTTP Basic, UTF-8 encoded as RFC 7617 says."""
    pair = f"{username}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


@pytest.fixture
def admin() -> dict[str, str]:
    """The development admin's credentials (the README's `curl -u admin:secret`)."""
    return basic("admin", "secret")


# --- generated clients and Prism (tests/contract/test_sdk*.py) ----------------------------------

PRISM = ROOT_DIR / "node_modules" / ".bin" / "prism"


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """One pytest-xdist worker at a time, for what they share (build/sdk/)."""
    import fcntl

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def sdk_built(request: pytest.FixtureRequest) -> Path:
    """build/sdk/: every client of sdk/build.py, generated once per test run (by whichever
    xdist worker comes first) from a scratch server's /openapi.json."""
    from sdk import build

    missing = [tool for tool in ("java", "node") if shutil.which(tool) is None]
    if missing or not PRISM.exists():
        pytest.skip(f"make sdk needs Java and Node (and `npm ci`'s tools), missing: {missing}")
    # One id for the whole run: xdist's, shared by its workers; else this process's.
    workerinput = getattr(request.config, "workerinput", None)
    run_id = workerinput["testrunuid"] if workerinput else f"pid-{os.getpid()}"
    done = build.OUT / ".built"
    with exclusive(build.OUT / ".lock"):
        if not done.exists() or done.read_text() != run_id:
            with build.scratch_server() as base_url:
                build.fetch_spec(base_url)
            for name in build.CLIENTS:
                result = build.generate(name)
                assert result.returncode == 0, f"{name}:\n{result.stdout}{result.stderr}"
            done.write_text(run_id)
    return build.OUT


@dataclass
class Prism:
    """`prism proxy --errors` in front of a live server: every request and response is checked
    against openapi/api.yaml, and a violation is answered by Prism itself (422 for a request)
    and written to its output."""

    base_url: str
    output: Path

    def violations(self) -> list[str]:
        """The lines of Prism's output that report a request or response violation."""
        text = self.output.read_text(encoding="utf-8", errors="replace")
        return [line for line in text.splitlines() if "Violation" in line or "✖" in line]


def wait_until_answering(
    url: str, process: subprocess.Popen[bytes], log: Path, what: str, timeout: float = 60
) -> None:
    """Poll `url` until the server `process` answers it at all; fail with its log if it
    exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.1)


@contextmanager
def prism_proxy(upstream: str, directory: Path) -> Iterator[Prism]:
    """Prism 5.14 proxying to `upstream`, on a free port, until the block ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    output = directory / "prism.log"
    argv = [
        str(PRISM), "proxy", "--errors", "--host", "127.0.0.1", "--port", str(port),
        str(ROOT_DIR / "openapi" / "api.yaml"), upstream,
    ]  # fmt: skip
    with output.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base_url}/livez", process, output, "Prism")
        yield Prism(base_url, output)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def through_prism(live_server: str, tmp_path: Path) -> Iterator[Prism]:
    """The live server behind Prism's validating proxy."""
    with prism_proxy(live_server, tmp_path) as prism:
        yield prism
