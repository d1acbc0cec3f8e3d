"""Benchmark: what HTTP Basic costs under load, and what a burst of guesses costs in memory.

1. The mix: 95% `GET /articles/{id}` (JSON) and 5% `POST /articles`, authenticated with HTTP
   Basic in one run and with a Bearer token in the other, against the service as deployed
   (gunicorn, one uvicorn worker, production settings: Argon2id at its default cost, 64 MiB),
   pinned to core 0, wrk on core 1, in interleaved rounds; medians. Target: the Basic mix serves
   at least 0.8x the Bearer mix (a verified password is remembered for AUTH_CACHE_SECONDS
   instead of hashed on every request).
2. The burst: 100 wrong Basic passwords for the admin at once, each on a connection of its own,
   the right one among them (the 51st), at the default limit (5 failures a minute): how many
   were checked at all (401 or 200), and the worker's peak memory (VmRSS sampled every 5 ms).
   Then 100 wrong passwords for 100 different users, which the limits let through: the peak
   memory shows the cap on Argon2id checks at once (PASSWORD_HASH_CONCURRENCY).

    python -m bench.auth                           # about 2 minutes
    python -m bench.auth --duration 2 --rounds 1   # a quick look

Needs wrk and taskset. Results: build/bench/auth.md and .json. Targets are reported, never
asserted.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import statistics
import subprocess
import threading
import time
from collections.abc import Sequence

import httpx

from bench.throughput import (
    LOAD_CORE,
    OUT,
    PYTHON_BIN,
    ROOT,
    UNITS,
    WRK_LATENCY,
    Sample,
    Server,
    _log_command,
    _machine,
    _rss_mib,
    _serve,
    _wait_ready,
    _workers,
    production_env,
)

PORT = 8191
WRITE_EVERY = 20  # one request in 20 is a POST: 5%

MIX = """
local counter = 0
local read = {{["Accept"] = "application/json"}}
local write = {{["Accept"] = "application/json", ["Content-Type"] = "application/json",
  ["Authorization"] = {authorization}}}
local body = '{{"title": "Mix", "body": "Lorem ipsum dolor sit amet."}}'
request = function()
  counter = counter + 1
  if counter % {every} == 0 then
    return wrk.format("POST", "/articles", write, body)
  end
  return wrk.format("GET", "/articles/{article}", read)
end
"""


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.auth", description=__doc__)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    return parser.parse_args(argv)


def _mix(
    base: str, authorization: str, article: int, name: str, args: argparse.Namespace
) -> Sample:
    script = OUT / f"auth-mix-{name}.lua"
    script.write_text(
        MIX.format(authorization=json.dumps(authorization), every=WRITE_EVERY, article=article)
    )
    argv = [
        "taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{args.connections}",
        f"-d{args.duration}s", "--latency", "--timeout", "10s",
        "-s", str(script.relative_to(ROOT)), base,
    ]  # fmt: skip
    _log_command(argv)
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout  # noqa: S603
    if "Non-2xx" in out or "Socket errors" in out:
        print(out, flush=True)
    rps = float(out.split("Requests/sec:")[1].split()[0])
    latency = {p: float(v) * UNITS[u] for p, v, u in WRK_LATENCY.findall(out)}
    return Sample(rps=rps, p50_ms=latency["50"], p99_ms=latency["99"])


def _burst(base: str, worker: int, credentials: list[tuple[str, str]]) -> tuple[list[int], float]:
    """Every request at once; their statuses, and the worker's peak VmRSS (MiB) meanwhile."""
    statuses = [0] * len(credentials)
    barrier = threading.Barrier(len(credentials))
    done = threading.Event()
    peak = [_rss_mib(worker)]

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mib(worker))
            time.sleep(0.005)

    def send(index: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            barrier.wait()
            statuses[index] = client.get("/secrets", auth=credentials[index]).status_code

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(credentials))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    sampler.join()
    return statuses, peak[0]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("auth.db*"):
        stale.unlink()
    password = secrets.token_urlsafe(24)  # never written anywhere
    env = {**production_env("auth", password), "WORKERS": "1"}
    gunicorn = str(PYTHON_BIN / "gunicorn")
    server = Server("auth", PORT, (gunicorn, "-c", "deploy/gunicorn.conf.py", "app:create_app()"))
    base = f"http://127.0.0.1:{PORT}"
    report: dict[str, object] = {"machine": _machine(), "args": vars(args)}
    with _serve(server, env) as process:
        _wait_ready(f"{base}/readyz", process)
        with httpx.Client(base_url=base, timeout=30) as client:
            token = client.post("/tokens", auth=("admin", password)).json()["access_token"]
            made = client.post(
                "/articles", auth=("admin", password), json={"title": "T", "body": "B"}
            )
            article = int(made.headers["Location"].rsplit("/", 1)[1])
        basic = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
        mixes = {"basic": basic, "bearer": f"Bearer {token}"}
        for name, authorization in mixes.items():  # warm-up
            _mix(
                base,
                authorization,
                article,
                name,
                argparse.Namespace(**{**vars(args), "duration": 1}),
            )
        samples: dict[str, list[Sample]] = {name: [] for name in mixes}
        for round_number in range(args.rounds):
            order = list(mixes) if round_number % 2 == 0 else list(reversed(mixes))
            for name in order:
                samples[name].append(_mix(base, mixes[name], article, name, args))
    medians = {
        name: {
            "rps": statistics.median(s.rps for s in runs),
            "p99_ms": statistics.median(s.p99_ms for s in runs),
            "runs": [vars(s) for s in runs],
        }
        for name, runs in samples.items()
    }
    ratio = medians["basic"]["rps"] / medians["bearer"]["rps"]  # type: ignore[operator]
    report["mix"] = {**medians, "basic_over_bearer": ratio}

    for stale in OUT.glob("auth.db*"):
        stale.unlink()
    with _serve(server, env) as process:
        _wait_ready(f"{base}/readyz", process)
        worker = _workers(process)[0]
        idle = _rss_mib(worker)
        guesses = [("admin", f"guess-{n}") for n in range(100)]
        guesses.insert(50, ("admin", password))
        statuses, peak = _burst(base, worker, guesses)
    # From one address, the limit would refuse all but 5: raised, so that every check runs.
    spread_env = {**env, "AUTH_FAILURE_LIMIT": "1000/minute"}
    with _serve(server, spread_env) as process:
        _wait_ready(f"{base}/readyz", process)
        worker = _workers(process)[0]
        spread = [(f"user-{n}", "guess") for n in range(100)]
        spread_statuses, spread_peak = _burst(base, worker, spread)
    report["burst"] = {
        "idle_rss_mib": idle,
        "one_account": {
            "checked": statuses.count(401) + statuses.count(200),
            "refused_429": statuses.count(429),
            "right_password": statuses[50],
            "peak_rss_mib": peak,
        },
        "many_accounts": {
            "statuses": {str(s): spread_statuses.count(s) for s in sorted(set(spread_statuses))},
            "peak_rss_mib": spread_peak,
        },
    }
    text = _markdown(report)
    (OUT / "auth.md").write_text(text + "\n")
    (OUT / "auth.json").write_text(json.dumps(report, indent=2) + "\n")
    print(text)
    return 0


def _markdown(report: dict[str, object]) -> str:
    mix = report["mix"]
    burst = report["burst"]
    assert isinstance(mix, dict) and isinstance(burst, dict)
    lines = [
        f"Machine: {report['machine']}. One worker pinned to core 0, wrk -t1 on core 1; "
        f"95% GET /articles/{{id}}, 5% POST /articles; median of interleaved rounds.",
        "",
        "| mix | req/s | p99 ms | runs (req/s) |",
        "|---|---:|---:|---|",
    ]
    for name in ("basic", "bearer"):
        runs = ", ".join(f"{run['rps']:,.0f}" for run in mix[name]["runs"])
        lines.append(f"| {name} | {mix[name]['rps']:,.0f} | {mix[name]['p99_ms']:.1f} | {runs} |")
    one, many = burst["one_account"], burst["many_accounts"]
    lines += [
        "",
        f"Basic mix / Bearer mix: {mix['basic_over_bearer']:.2f}x (target >= 0.8x).",
        "",
        f"Burst, one account (100 wrong passwords and the right one, at once): {one['checked']} "
        f"checked, {one['refused_429']} refused unchecked (429), the right password got "
        f"{one['right_password']}; worker RSS {burst['idle_rss_mib']:.0f} MiB idle, "
        f"{one['peak_rss_mib']:.0f} MiB at its peak.",
        f"Burst, 100 accounts (AUTH_FAILURE_LIMIT raised so every one is checked): statuses "
        f"{many['statuses']}; peak RSS {many['peak_rss_mib']:.0f} MiB.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
