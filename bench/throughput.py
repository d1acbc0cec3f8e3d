"""Benchmark: the service against a plain Flask floor, FastAPI, and a raw Starlette ceiling.

Starts four servers on loopback, each pinned to core 0 (`taskset`): (a) the service
(`gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`, one uvicorn worker, production settings),
(b) bench.baseline_flask on gunicorn's sync worker, (c) bench.baseline_fastapi (what a user
would write in FastAPI instead) and (d) bench.ceiling_starlette, both on uvicorn. They
share one SQLite database, seeded through the service. wrk, pinned to core 1, then drives each
endpoint on each server in interleaved rounds (the order rotates every round), and the medians
are reported: req/s, p50 and p99 latency, ours/Flask, ours/FastAPI and ours/Starlette.

Also measured: cold start (process start to the first 200, median of three), memory per
worker (largest VmRSS seen after each load run), and the service with two workers against one
on both cores: on the same SQLite database, and again on PostgreSQL when
BENCH_DATABASE_URL (or --scaling-database-url) names one (SQLite takes one writer at a time).

    python -m bench.throughput                           # about 6 minutes
    python -m bench.throughput --duration 2 --rounds 1   # a quick look

Needs wrk and taskset (Debian: `apt-get install wrk util-linux`). Results: build/bench/throughput.md
and .json. Targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench"
PYTHON_BIN = Path(sys.executable).parent
SERVER_CORE = "0"
LOAD_CORE = "1"
ARTICLES = 200


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    pin: str | None = SERVER_CORE


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float


@dataclass
class Row:
    endpoint: str
    server: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(s.rps for s in self.samples)

    @property
    def p50_ms(self) -> float:
        return statistics.median(s.p50_ms for s in self.samples)

    @property
    def p99_ms(self) -> float:
        return statistics.median(s.p99_ms for s in self.samples)


COMMANDS: list[str] = []


def _log_command(argv: Sequence[str], env: dict[str, str] | None = None) -> None:
    shown = {k: v for k, v in (env or {}).items() if "PASSWORD" not in k}
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in shown.items())
    line = f"{prefix} {shlex.join(argv)}".strip()
    COMMANDS.append(line)
    print(f"$ {line}", flush=True)


def load_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a wrk run: how long, how many rounds, how many connections."""
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run (4)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__)
    load_arguments(parser)
    parser.add_argument(
        "--servers",
        default="ours,flask,fastapi,starlette",
        help="which of ours,flask,fastapi,starlette",
    )
    parser.add_argument("--skip-scaling", action="store_true", help="no 2-vs-1-worker run")
    parser.add_argument(
        "--before",
        default="",
        help="a checkout of another commit (git worktree add DIR REV; make .venv/.installed "
        "there): served as a fifth server, 'before', in the same interleaved rounds",
    )
    parser.add_argument(
        "--scaling-database-url",
        default=os.environ.get("BENCH_DATABASE_URL", ""),
        help="also run 2 vs 1 workers on this (PostgreSQL) database; default $BENCH_DATABASE_URL",
    )
    return parser.parse_args(argv)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> float:
    """Seconds until `url` first answers 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise SystemExit(f"bench: server exited with {process.returncode}; see {OUT}/*.err")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.005)
    raise SystemExit(f"bench: {url} did not answer 200 within {timeout} s")


@contextmanager
def _serve(server: Server, base_env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    if not _free(server.port):
        raise SystemExit(f"bench: port {server.port} is taken; stop what listens there")
    argv = [*(["taskset", "-c", server.pin] if server.pin else []), *server.argv]
    env = {**os.environ, **base_env, **dict(server.env), "PORT": str(server.port)}
    _log_command(argv, {**dict(server.env), "PORT": str(server.port)})
    err = (OUT / f"{server.name}.err").open("ab")
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=err, stderr=err)  # noqa: S603
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        err.close()


def _workers(process: subprocess.Popen[bytes]) -> list[int]:
    """The worker pids: gunicorn's children, or the process itself."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    return pids or [process.pid]


def _rss_mib(pid: int) -> float:
    """Resident memory now (VmRSS; not VmHWM, whose peak is Argon2's 64 MiB at start-up)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


WRK_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(
    url: str,
    endpoint: Endpoint,
    duration: int,
    connections: int,
    pin: str | None,
    threads: int = 1,
) -> Sample:
    script = OUT / f"{endpoint.name.replace(' ', '_').replace('/', '_')}.lua"
    lines = [f"wrk.method = {json.dumps(endpoint.method)}"]
    if endpoint.body is not None:
        lines.append(f"wrk.body = {json.dumps(endpoint.body)}")
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in endpoint.headers]
    script.write_text("\n".join(lines) + "\n")
    argv = [
        *(["taskset", "-c", pin] if pin else []),
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script.relative_to(ROOT)),
        url + endpoint.path,
    ]
    _log_command(argv)
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout  # noqa: S603
    if "Non-2xx" in out:
        raise SystemExit(f"bench: {url}{endpoint.path} failed under load:\n{out}")
    if "Socket errors" in out:  # counted in the results, not fatal: latency shows the cost
        print(out, flush=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {p: float(v) * UNITS[u] for p, v, u in WRK_LATENCY.findall(out)}
    return Sample(rps=rps, p50_ms=latency["50"], p99_ms=latency["99"])


def _seed(base: str, password: str) -> tuple[str, int]:
    """A Bearer token for the admin and the id of an article, made through the service."""
    with httpx.Client(base_url=base, timeout=30) as client:
        issued = client.post("/tokens", auth=("admin", password), json={"expires_in": 86400})
        issued.raise_for_status()
        token = issued.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        first = None
        for number in range(ARTICLES):
            made = client.post(
                "/articles",
                headers=auth,
                json={"title": f"Article {number}", "body": "Lorem ipsum dolor sit amet. " * 8},
            )
            made.raise_for_status()
            first = first or int(made.headers["Location"].rsplit("/", 1)[1])
        assert first is not None
        return token, first + ARTICLES // 2


def production_env(name: str, password: str) -> dict[str, str]:
    """The service's production settings, on build/bench/<name>.db, logging to <name>.log."""
    return {
        "APP_ENV": "production",
        "DATABASE_URL": f"sqlite:///{OUT / name}.db",  # absolute: --before serves from elsewhere
        "ADMIN_PASSWORD": password,
        "ADMIN_PASSWORD_FILE": "",
        "LOG_FILE": str(OUT / f"{name}.log"),
        "DEBUG": "",
        "HOST": "127.0.0.1",
    }


def _servers(names: Sequence[str], before: str = "") -> list[Server]:
    gunicorn = str(PYTHON_BIN / "gunicorn")
    other = Path(before).resolve() if before else ROOT
    serve_other = (
        f"cd {shlex.quote(str(other))} && exec {shlex.quote(str(other / '.venv/bin/gunicorn'))} "
        "-c deploy/gunicorn.conf.py 'app:create_app()'"
    )
    catalogue = {
        "before": Server("before", 8186, ("sh", "-c", serve_other), (("WORKERS", "1"),)),
        "ours": Server(
            "ours",
            8181,
            (gunicorn, "-c", "deploy/gunicorn.conf.py", "app:create_app()"),
            (("WORKERS", "1"),),
        ),
        "flask": Server(
            "flask",
            8182,
            (gunicorn, "-w", "1", "-b", "127.0.0.1:8182", "bench.baseline_flask:app"),
        ),
        "starlette": Server(
            "starlette",
            8183,
            (
                str(PYTHON_BIN / "uvicorn"),
                "--port",
                "8183",
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
                "bench.ceiling_starlette:app",
            ),
        ),
        # What a user would pick instead: uvicorn's defaults (uvloop and httptools when
        # installed), one worker, no access log.
        "fastapi": Server(
            "fastapi",
            8184,
            (
                str(PYTHON_BIN / "uvicorn"),
                "--port",
                "8184",
                "--no-access-log",
                "--log-level",
                "warning",
                "bench.baseline_fastapi:app",
            ),
        ),
    }
    return [catalogue[name] for name in names]


def _cold_start(server: Server, env: dict[str, str], path: str) -> float:
    times = []
    for _ in range(3):
        with _serve(server, env) as process:
            times.append(_wait_ready(f"http://127.0.0.1:{server.port}{path}", process))
    return statistics.median(times)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is missing (Debian: apt-get install wrk util-linux)")
    names = [name.strip() for name in args.servers.split(",") if name.strip()]
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("http.db*"):
        stale.unlink()
    for log in OUT.glob("*.err"):
        log.unlink()
    password = secrets.token_urlsafe(24)  # never written anywhere
    env = production_env("http", password)
    if args.before:
        names.insert(names.index("ours") + 1 if "ours" in names else 0, "before")
    servers = _servers(names, args.before)
    report: dict[str, object] = {"machine": _machine(), "args": vars(args)}

    cold = {}
    for server in servers:
        cold[server.name] = _cold_start(server, env, "/hello")
    report["cold_start_s"] = cold

    rows: dict[tuple[str, str], Row] = {}
    peaks: dict[str, float] = {}
    with ExitStack() as stack:
        processes = {s.name: stack.enter_context(_serve(s, env)) for s in servers}
        for s in servers:
            _wait_ready(f"http://127.0.0.1:{s.port}/hello", processes[s.name])
        seed_port = next((s.port for s in servers if s.name == "ours"), servers[0].port)
        token, article_id = _seed(f"http://127.0.0.1:{seed_port}", password)
        endpoints = _endpoints(token, article_id)
        for server in servers:  # warm-up: imports, caches, connection pools
            for endpoint in endpoints:
                _wrk(f"http://127.0.0.1:{server.port}", endpoint, 1, args.connections, LOAD_CORE)
        for round_number in range(args.rounds):
            order = servers[round_number % len(servers) :] + servers[: round_number % len(servers)]
            for endpoint in endpoints:
                for server in order:
                    url = f"http://127.0.0.1:{server.port}"
                    sample = _wrk(url, endpoint, args.duration, args.connections, LOAD_CORE)
                    row = rows.setdefault(
                        (endpoint.name, server.name), Row(endpoint.name, server.name)
                    )
                    row.samples.append(sample)
                    rss = max(_rss_mib(pid) for pid in _workers(processes[server.name]))
                    peaks[server.name] = max(peaks.get(server.name, 0.0), rss)
    report["rss_mib_per_worker_after_load"] = peaks
    report["rows"] = [
        {"endpoint": r.endpoint, "server": r.server, "samples": [asdict(s) for s in r.samples]}
        for r in rows.values()
    ]

    scaling: dict[str, dict[str, dict[str, float]]] = {}
    if "ours" in names and not args.skip_scaling:
        scaling["SQLite"] = _scaling(env, password, args, (token, article_id))
        if args.scaling_database_url:
            backend = make_url(args.scaling_database_url).get_backend_name()
            other = {**env, "DATABASE_URL": args.scaling_database_url}
            scaling[backend] = _scaling(other, password, args, None)
        report["scaling"] = scaling
    report["commands"] = COMMANDS

    table = _table(rows, names, cold, peaks, scaling, args)
    print(table)
    (OUT / "throughput.md").write_text(table + "\n")
    (OUT / "throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {OUT / 'throughput.md'}, {OUT / 'throughput.json'}")
    return 0


def _endpoints(token: str, article_id: int) -> list[Endpoint]:
    return [
        Endpoint("GET /hello?name=x", "GET", "/hello?name=x"),
        Endpoint(
            "GET /articles/{id} (JSON)",
            "GET",
            f"/articles/{article_id}",
            (("Accept", "application/json"),),
        ),
        Endpoint(
            "GET /articles (page of 20)", "GET", "/articles", (("Accept", "application/json"),)
        ),
        Endpoint(
            "GET /secrets (Bearer)", "GET", "/secrets", (("Authorization", f"Bearer {token}"),)
        ),
        # Last in each round: its writes grow the SQLite WAL the reads would otherwise wade through.
        Endpoint(
            "POST /messages (JSON)",
            "POST",
            "/messages",
            (("Content-Type", "application/json"),),
            '{"greeting": "Hello", "to": ["you", "me"]}',
        ),
    ]


def _scaling(
    env: dict[str, str],
    password: str,
    args: argparse.Namespace,
    seeded: tuple[str, int] | None,
) -> dict[str, dict[str, float]]:
    """req/s of the service with 1 and 2 workers, both cores for everyone (wrk included), on
    env's database (seeded through the service first unless `seeded` gives its token and
    article)."""
    gunicorn = str(PYTHON_BIN / "gunicorn")
    argv = (gunicorn, "-c", "deploy/gunicorn.conf.py", "app:create_app()")
    one = Server("ours-1w", 8184, argv, (("WORKERS", "1"),), pin=None)
    two = Server("ours-2w", 8185, argv, (("WORKERS", "2"),), pin=None)
    results: dict[str, dict[str, list[float]]] = {}
    with ExitStack() as stack:
        for server in (one, two):
            process = stack.enter_context(_serve(server, env))
            _wait_ready(f"http://127.0.0.1:{server.port}/hello", process)
        token, article_id = seeded or _seed(f"http://127.0.0.1:{one.port}", password)
        chosen = [
            e
            for e in _endpoints(token, article_id)
            if e.name.startswith(("GET /hello", "POST", "GET /articles/"))
        ]
        for server in (one, two):
            for endpoint in chosen:
                _wrk(f"http://127.0.0.1:{server.port}", endpoint, 1, args.connections, None, 2)
        for round_number in range(args.rounds):
            order = (one, two) if round_number % 2 == 0 else (two, one)
            for endpoint in chosen:
                for server in order:
                    url = f"http://127.0.0.1:{server.port}"
                    # Two wrk threads so the load generator is not the limit.
                    sample = _wrk(url, endpoint, args.duration, args.connections, None, threads=2)
                    results.setdefault(endpoint.name, {}).setdefault(server.name, []).append(
                        sample.rps
                    )
    return {
        name: {server: statistics.median(values) for server, values in by_server.items()}
        for name, by_server in results.items()
    }


def _machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {model}, Python {sys.version.split()[0]}"


def _table(
    rows: dict[tuple[str, str], Row],
    names: Sequence[str],
    cold: dict[str, float],
    peaks: dict[str, float],
    scaling: dict[str, dict[str, dict[str, float]]],
    args: argparse.Namespace,
) -> str:
    lines = [
        f"Machine: {_machine()}. One worker per server pinned to core {SERVER_CORE}, wrk -t1 "
        f"-c{args.connections} pinned to core {LOAD_CORE}; median of {args.rounds} interleaved "
        f"rounds of {args.duration} s.",
        "",
        "| endpoint | server | req/s | p50 ms | p99 ms "
        "| ours/Flask | ours/FastAPI | ours/Starlette |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    endpoints = list(dict.fromkeys(endpoint for endpoint, _ in rows))
    for endpoint in endpoints:
        for name in names:
            row = rows[(endpoint, name)]
            ratios = [  # ours (and before) against each peer
                _ratio(row.rps, peer.rps) if peer and name in ("ours", "before") else ""
                for peer in (
                    rows.get((endpoint, other)) for other in ("flask", "fastapi", "starlette")
                )
            ]
            lines.append(
                f"| {endpoint} | {name} | {row.rps:,.0f} | {row.p50_ms:.2f} | {row.p99_ms:.2f} "
                f"| {' | '.join(ratios)} |"
            )
    lines += [
        "",
        "| server | cold start (s) | RSS per worker after load (MiB) |",
        "|---|---:|---:|",
    ]
    lines += [f"| {n} | {cold[n]:.2f} | {peaks.get(n, float('nan')):.0f} |" for n in names]
    if scaling:
        lines += [
            "",
            "Service, 2 workers vs 1, no pinning (wrk -t2 shares the 2 cores):",
            "",
            "| database | endpoint | 1 worker req/s | 2 workers req/s | 2w/1w |",
            "|---|---|---:|---:|---:|",
        ]
        for database, by_endpoint in scaling.items():
            for endpoint, by_server in by_endpoint.items():
                one, two = by_server["ours-1w"], by_server["ours-2w"]
                lines.append(
                    f"| {database} | {endpoint} | {one:,.0f} | {two:,.0f} | {_ratio(two, one)} |"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
