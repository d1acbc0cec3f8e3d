"""Production serving: gunicorn with uvicorn workers; SIGTERM finishes what it started; a
request's head is limited in size and in the time it may take to arrive."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import http.client
import json
import os
import re
import select
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
from settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
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
            [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "app:create_app()"],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers in its process group, to be stopped with it
        )
    server = Server(process, f"http://127.0.0.1:{port}", output)
    try:
        server.wait_for_started_workers(int(workers))
        yield server
    finally:
        # The whole group: killed alone, the arbiter would leave its workers running (uvicorn's
        # workers do not check that their parent is alive, as gunicorn's own workers do).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        print(output.read_text())


def worker_pids(server: Server) -> list[int]:
    """The pids of the workers gunicorn has booted ("Booting worker with pid: N")."""
    return [
        int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", server.output.read_text())
    ]


def running(pid: int) -> bool:
    """Whether a process with this pid runs (and is not a zombie awaiting its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_a_server_stopped_by_the_tests_leaves_no_worker_running(tmp_path: Path) -> None:
    with gunicorn_serving(tmp_path) as server:
        workers = worker_pids(server)
        assert len(workers) == 2 and all(running(pid) for pid in workers)
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in workers):
        assert time.monotonic() < deadline, "workers outlived the server"
        time.sleep(0.1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_stop_and_free_the_port_when_the_arbiter_is_killed(tmp_path: Path) -> None:
    """An arbiter killed with SIGKILL (the OOM killer, `kill -9`) signals nobody: its workers
    must notice by themselves, or they serve on, holding the port a new gunicorn needs."""
    with gunicorn_serving(tmp_path) as server:
        workers = worker_pids(server)
        assert len(workers) == 2 and all(running(pid) for pid in workers)
        assert httpx.get(f"{server.base}/livez").status_code == 200
        server.process.kill()  # the arbiter alone; its workers are in its process group
        server.process.wait()
        deadline = time.monotonic() + 10
        while any(running(pid) for pid in workers):
            assert time.monotonic() < deadline, "workers outlived the arbiter"
            time.sleep(0.1)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.base}/livez", timeout=5)


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
import gc, os, runpy, types
seen = []
config = runpy.run_path("deploy/gunicorn.conf.py")
seen.append(gc.isenabled())  # while the arbiter starts
config["when_ready"](None)
seen.append(gc.isenabled())  # the arbiter, serving
config["post_fork"](None, types.SimpleNamespace(ppid=os.getppid()))  # this process, a worker
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
from web.patches.uvicorn_limits import RequestLimits
print("connexion" in sys.modules)
print("prometheus_client" in sys.modules)
kwargs = config["Worker"].CONFIG_KWARGS
print(kwargs == uvicorn_options(
    config["workers"],
    max_header_bytes=1000,
    header_timeout=2.5,
    body_timeout=3.5,
    body_min_rate=100,
    shutdown_timeout=7.0,
))
print(config["workers"], kwargs["loop"], kwargs["http"] == RequestLimits(1000, 2.5, 3.5, 100))
print(kwargs["timeout_graceful_shutdown"], config["graceful_timeout"])
"""


@pytest.mark.parametrize(("workers", "loop"), [("1", "asyncio"), ("2", "uvloop")])
def test_the_arbiter_imports_connexion_once_for_every_worker(
    tmp_path: Path, workers: str, loop: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ARBITER],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "LOG_FILE": str(tmp_path / "app.log"),
            "WORKERS": workers,
            "MAX_HEADER_BYTES": "1000",
            "HEADER_TIMEOUT": "2.5",
            "BODY_TIMEOUT": "3.5",
            "BODY_MIN_RATE": "100",
            "SHUTDOWN_TIMEOUT": "7",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    # Workers fork with connexion imported, with web.serving's settings:
    # several processes on one socket accept as libuv does (web.serving.uvicorn_options), and
    # each connection has the request limits of the settings (web.patches.uvicorn_limits); not
    # prometheus_client, which each worker imports after on_starting set its multiprocess mode;
    # a worker cancels what SIGTERM left under way after SHUTDOWN_TIMEOUT, the arbiter 5 s on.
    assert done.stdout.split() == ["True", "False", "True", workers, loop, "True", "7.0", "12"]


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


# A request's head: at most MAX_HEADER_BYTES, received within HEADER_TIMEOUT
# (web.patches.uvicorn_limits).
HEAD_LIMIT = 20_000  # not the default (32 KiB): the setting reaches the server
HEAD_TIMEOUT = 1.0
# A request's body: at least BODY_MIN_RATE bytes a second once BODY_TIMEOUT seconds are used.
BODY_TIMEOUT = 1.0
BODY_RATE = 1000
# Far above what a refused head may hold (the limit plus a read or two, well under 1 MiB), far
# below what buffering it did: a 64 MiB header grew the server by 92 MiB (and took 8.6 s).
RSS_GROWTH_KIB = 24 * 1024


@dataclasses.dataclass
class Served:
    """A server in a subprocess: its port and process."""

    port: int
    process: subprocess.Popen[bytes]

    def rss_kib(self) -> int:
        """The server's resident memory (VmRSS), in KiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS"))[6:-2])

    def connect(self) -> socket.socket:
        """A new connection to the server, with a generous timeout for every read and write."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, "the server exited"
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def app_py(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`python app.py`, what `make run` serves, with the head limits above; its own SQLite file."""
    with app_py_serving(tmp_path_factory.mktemp("app_py")) as served:
        yield served


@contextmanager
def app_py_serving(scratch: Path, **settings: str) -> Iterator[Served]:
    """`python app.py` on a free port, with the limits above and `settings`, until it is ready."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{scratch / 'app.db'}",
        "LOG_FILE": str(scratch / "app.log"),
        "PORT": str(port),
        "MAX_HEADER_BYTES": str(HEAD_LIMIT),
        "HEADER_TIMEOUT": str(HEAD_TIMEOUT),
        "BODY_TIMEOUT": str(BODY_TIMEOUT),
        "BODY_MIN_RATE": str(BODY_RATE),
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        **settings,
    }
    with (scratch / "server.out").open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=output, stderr=output
        )
        try:
            wait_ready(port, process)
            yield Served(port, process)
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    print((scratch / "server.out").read_text(errors="replace"))


def test_sigterm_stops_app_py_within_shutdown_timeout_while_a_client_never_reads(
    tmp_path: Path,
) -> None:
    """`make run` stopped (SIGTERM, as a container's stop sends it) while a client sends
    requests and reads none of the answers: uvicorn waited for that connection to close, for as
    long as the client liked; now what is under way gets SHUTDOWN_TIMEOUT, then the process
    ends."""
    with app_py_serving(tmp_path, SHUTDOWN_TIMEOUT="1") as served:
        greedy = socket.socket()
        greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window, set first
        greedy.connect(("127.0.0.1", served.port))
        greedy.setblocking(False)
        try:
            with contextlib.suppress(BlockingIOError):
                for _ in range(400):  # ~29 MB of answers (the spec), far beyond what buffers hold
                    greedy.sendall(request_head("/openapi.json"))
            time.sleep(1)  # the server has answered what the buffers take, and waits
            served.process.send_signal(signal.SIGTERM)
            try:
                code = served.process.wait(20)
            except subprocess.TimeoutExpired:
                pytest.fail("app.py still runs 20 s after SIGTERM")
            # uvicorn ends its process by the signal it caught, once it has shut down.
            assert code == -signal.SIGTERM
        finally:
            greedy.close()


def request_head(target: str = "/hello?name=x", pad: int = 0) -> bytes:
    """A GET request's head, with an X-Pad header of `pad` bytes when `pad` is not 0."""
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1"]
    if pad:
        lines.append("X-Pad: " + "a" * pad)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def head_of(size: int) -> bytes:
    """A GET /hello head of exactly `size` bytes: request line, header lines, blank line."""
    head = request_head(pad=size - len(request_head(pad=1)) + 1)
    assert len(head) == size
    return head


def answer(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The next response on the connection: status, headers (lower-case names), body."""
    response = http.client.HTTPResponse(connection)
    response.begin()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return response.status, headers, response.read()


def closed(connection: socket.socket) -> bool:
    """The server closed the connection (rather than leaving it open for the socket timeout)."""
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def answered(connection: socket.socket) -> bool:
    """The server has sent something (or closed) on the connection."""
    return bool(select.select([connection], [], [], 0)[0])


def send_until_answered(connection: socket.socket, pieces: Iterator[bytes]) -> None:
    """Send each piece, stopping as soon as the server answers or closes."""
    for piece in pieces:
        if answered(connection):
            return
        try:
            connection.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            return


def assert_problem(answer_: tuple[int, dict[str, str], bytes], status: int, title: str) -> str:
    """An RFC 9457 problem with that status and title, on a connection the server closes; its
    detail."""
    code, headers, body = answer_
    assert code == status
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem == {"type": "about:blank", "title": title, "status": status} | {
        "detail": problem["detail"]
    }
    return str(problem["detail"])


@pytest.mark.parametrize("pieces", [1, 2], ids=["in one piece", "in two pieces"])
def test_a_request_head_of_max_header_bytes_is_served(app_py: Served, pieces: int) -> None:
    head = head_of(HEAD_LIMIT)
    with app_py.connect() as connection:
        half = len(head) // pieces
        for start in range(0, len(head), half):
            connection.sendall(head[start : start + half])
            time.sleep(0.1)
        status, _, body = answer(connection)
    assert status == 200, body


@pytest.mark.parametrize("pieces", [1, 2], ids=["in one piece", "in two pieces"])
def test_a_request_head_one_byte_longer_is_431(app_py: Served, pieces: int) -> None:
    head = head_of(HEAD_LIMIT + 1)
    with app_py.connect() as connection:
        half = len(head) // pieces
        for start in range(0, len(head), half):
            connection.sendall(head[start : start + half])
            time.sleep(0.1)
        detail = assert_problem(answer(connection), 431, "Request Header Fields Too Large")
        assert f"{HEAD_LIMIT} bytes" in detail
        assert closed(connection)


def test_a_very_long_url_counts_toward_the_limit(app_py: Served) -> None:
    with app_py.connect() as connection:
        connection.sendall(request_head("/hello?name=" + "x" * 40_000))
        assert_problem(answer(connection), 431, "Request Header Fields Too Large")
        assert closed(connection)


def pieces_of_a_header(size: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    yield b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: "
    for _ in range(size // piece):
        yield b"a" * piece


@pytest.mark.parametrize("mib", [1, 64])
def test_a_huge_header_is_431_and_never_buffered(app_py: Served, mib: int) -> None:
    before = app_py.rss_kib()
    with app_py.connect() as connection:
        if mib == 1:
            send_until_answered(connection, iter([b"".join(pieces_of_a_header(1 << 20))]))
        else:
            send_until_answered(connection, pieces_of_a_header(mib << 20))
        assert_problem(answer(connection), 431, "Request Header Fields Too Large")
        assert closed(connection)
    assert app_py.rss_kib() - before < RSS_GROWTH_KIB


NOT_HTTP = {
    "a header line without a colon": b"GET /hello HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",
    "a space before the colon": b"GET /hello HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n",
    "TLS sent to the HTTP port": bytes.fromhex("160301020001000001fc0303") + b"\x00" * 32,
    "a Content-Length that is not a number": (
        b"POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n\r\n"
    ),
}


@pytest.mark.parametrize("head", NOT_HTTP.values(), ids=NOT_HTTP.keys())
def test_a_head_that_is_not_http_is_a_400_problem(app_py: Served, head: bytes) -> None:
    with app_py.connect() as connection:
        connection.sendall(head)
        detail = assert_problem(answer(connection), 400, "Bad Request")
        assert "not valid HTTP/1.1" in detail
        assert closed(connection)


def test_a_head_trickling_in_is_408_after_header_timeout(app_py: Served) -> None:
    with app_py.connect() as connection:
        connection.sendall(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")

        def one_byte_a_second() -> Iterator[bytes]:
            for _ in range(10):
                time.sleep(1)
                yield b"a"

        send_until_answered(connection, one_byte_a_second())
        detail = assert_problem(answer(connection), 408, "Request Timeout")
        assert f"{HEAD_TIMEOUT:g} second" in detail
        assert closed(connection)


@pytest.mark.parametrize("sent", [b"", b"\r\n"], ids=["nothing", "blank lines"])
def test_a_connection_without_a_request_is_closed_after_header_timeout(
    app_py: Served, sent: bytes
) -> None:
    def twice_a_second() -> Iterator[bytes]:
        for _ in range(20):
            time.sleep(0.5)
            yield sent

    with app_py.connect() as connection:
        # Blank lines before a request are allowed (RFC 9112 section 2.2) and start none.
        if sent:
            send_until_answered(connection, twice_a_second())
        assert closed(connection)


def test_keep_alive_outlives_header_timeout(app_py: Served) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", app_py.port, timeout=10)
    try:
        connection.request("GET", "/hello?name=x")
        assert connection.getresponse().read()
        first = connection.sock
        time.sleep(HEAD_TIMEOUT * 1.5)  # longer than HEADER_TIMEOUT, shorter than keep-alive's 5 s
        connection.request("GET", "/hello?name=y")
        response = connection.getresponse()
        assert response.status == 200
        assert response.read()
        assert connection.sock is first
    finally:
        connection.close()


def test_a_large_body_sent_with_its_head_is_not_part_of_the_head(app_py: Served) -> None:
    body = b"b" * (1 << 20)
    head = (
        "POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/octet-stream\r\nAccept: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with app_py.connect() as connection:
        connection.sendall(head + body)
        status, _, receipt = answer(connection)
    assert status == 201, receipt
    assert json.loads(receipt)["size"] == len(body)


def stored_messages(app_py: Served) -> list[dict[str, object]]:
    listed = httpx.get(f"http://127.0.0.1:{app_py.port}/messages?limit=100", timeout=10)
    assert listed.status_code == 200
    items: list[dict[str, object]] = listed.json()["items"]
    return items


def post_head(length: int | None) -> bytes:
    """A POST /messages head for a text body of `length` bytes, or a chunked one (None)."""
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    return (
        "POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        f"Accept: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def in_pieces(body: bytes, size: int, every: float, chunked: bool) -> Iterator[bytes]:
    """`body` in pieces of `size` bytes, one every `every` seconds (each a chunk if `chunked`,
    then the last chunk)."""
    for start in range(0, len(body), size):
        time.sleep(every)
        piece = body[start : start + size]
        yield b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    if chunked:
        yield b"0\r\n\r\n"


@pytest.mark.parametrize("chunked", [False, True], ids=["Content-Length", "chunked"])
def test_a_body_trickling_in_is_408_and_nothing_is_stored(app_py: Served, chunked: bool) -> None:
    before = stored_messages(app_py)
    body = b"x" * 40  # 5 bytes a second: 8 s to send it all, where the rate allows ~1 s
    with app_py.connect() as connection:
        connection.sendall(post_head(None if chunked else len(body)))
        pieces = in_pieces(body, 1, 0.2, chunked)
        send_until_answered(connection, pieces)
        assert next(pieces, None) is not None, "answered only once the whole body was sent"
        detail = assert_problem(answer(connection), 408, "Request Timeout")
        assert f"slower than {BODY_RATE} bytes a second" in detail
        assert closed(connection)
    assert stored_messages(app_py) == before


def test_a_slow_body_at_the_minimum_rate_is_stored(app_py: Served) -> None:
    # 3,000 bytes over 3 s, three times BODY_TIMEOUT: each piece earns the time it takes.
    body = b"y" * 3000
    with app_py.connect() as connection:
        connection.sendall(post_head(len(body)))
        for piece in in_pieces(body, 250, 0.25, chunked=False):
            connection.sendall(piece)
        status, _, receipt = answer(connection)
    assert status == 201, receipt
    assert json.loads(receipt)["size"] == len(body)


def test_a_body_nobody_reads_is_not_kept_open_by_a_trickle(app_py: Served) -> None:
    with app_py.connect() as connection:
        connection.sendall(post_head(100 << 20) + b"x")  # over the cap: 413 before it is read
        status, _, _ = answer(connection)
        assert status == 413
        # uvicorn throws the rest of the body away as it comes, for as long as it comes: the
        # body's rate (or, when shorter, HEADER_TIMEOUT after the answer) ends the connection.
        send_until_answered(connection, in_pieces(b"x" * 40, 1, 0.2, chunked=False))
        assert closed(connection)


def test_trailer_fields_are_not_taken_as_header_fields(app_py: Served) -> None:
    with app_py.connect() as connection:
        connection.sendall(
            post_head(None)
            + b"6\r\nhello!\r\n0\r\n"
            + b"Content-Type: application/xml\r\nX-Request-ID: from-the-trailer\r\n\r\n"
        )
        status, headers, receipt = answer(connection)
    # uvicorn added them to the request's header fields: a 415 for "text/plain,application/xml"
    # and the trailer's request id on the answer.
    assert status == 201, receipt
    assert headers["x-request-id"] != "from-the-trailer"
    stored = json.loads(receipt)
    assert (stored["media_type"], stored["size"]) == ("text/plain", 6)


def test_trailer_fields_over_the_limit_are_431_and_never_buffered(app_py: Served) -> None:
    before = stored_messages(app_py)
    rss = app_py.rss_kib()

    def a_huge_trailer() -> Iterator[bytes]:
        yield post_head(None) + b"6\r\nhello!\r\n0\r\nX-Huge: "
        for _ in range(64 * 16):
            yield b"a" * (64 * 1024)

    with app_py.connect() as connection:
        send_until_answered(connection, a_huge_trailer())
        detail = assert_problem(answer(connection), 431, "Request Header Fields Too Large")
        assert f"{HEAD_LIMIT} bytes" in detail
        assert closed(connection)
    assert app_py.rss_kib() - rss < RSS_GROWTH_KIB
    assert stored_messages(app_py) == before


def test_gunicorn_workers_limit_the_head(tmp_path: Path) -> None:
    # Two workers, as in production: uvloop's transports rather than asyncio's.
    with gunicorn_serving(tmp_path, HEADER_TIMEOUT=str(HEAD_TIMEOUT)) as server:
        port = int(server.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            send_until_answered(connection, iter([request_head(pad=1 << 20)]))
            detail = assert_problem(answer(connection), 431, "Request Header Fields Too Large")
            assert closed(connection)
        assert f"{Settings().max_header_bytes} bytes" in detail
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert_problem(answer(connection), 408, "Request Timeout")
            assert closed(connection)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(NOT_HTTP["a header line without a colon"])
            assert_problem(answer(connection), 400, "Bad Request")
            assert closed(connection)
        server.stop()


def test_the_head_limits_are_settings() -> None:
    defaults = Settings.from_env({})
    assert (defaults.max_header_bytes, defaults.header_timeout) == (32 * 1024, 10.0)
    assert (defaults.body_timeout, defaults.body_min_rate) == (20.0, 500)
    assert defaults.shutdown_timeout == 30.0
    assert Settings.from_env({"SHUTDOWN_TIMEOUT": "8"}).shutdown_timeout == 8.0
    chosen = Settings.from_env(
        {
            "MAX_HEADER_BYTES": "8192",
            "HEADER_TIMEOUT": "2.5",
            "BODY_TIMEOUT": "7.5",
            "BODY_MIN_RATE": "64",
        }
    )
    assert (chosen.max_header_bytes, chosen.header_timeout) == (8192, 2.5)
    assert (chosen.body_timeout, chosen.body_min_rate) == (7.5, 64)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_HEADER_BYTES", "lots"),
        ("MAX_HEADER_BYTES", "0"),
        ("MAX_HEADER_BYTES", "-1"),
        ("HEADER_TIMEOUT", "soon"),
        ("HEADER_TIMEOUT", "0"),
        ("HEADER_TIMEOUT", "-1"),
        ("HEADER_TIMEOUT", "nan"),
        ("HEADER_TIMEOUT", "inf"),
        ("BODY_TIMEOUT", "0"),
        ("BODY_TIMEOUT", "later"),
        ("BODY_MIN_RATE", "0"),
        ("BODY_MIN_RATE", "fast"),
        ("SHUTDOWN_TIMEOUT", "0"),
        ("SHUTDOWN_TIMEOUT", "never"),
    ],
)
def test_a_malformed_head_limit_is_a_settings_error(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
