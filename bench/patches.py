"""Benchmark: what each patch buys, served. The service as deployed (gunicorn, one uvicorn
worker pinned to core 0, production settings) with everything on, twice (two servers: their
difference is this run's noise), and once with each of web.patches.SWITCHES off
(PATCHES_OFF), wrk pinned to core 1, interleaved rounds whose order rotates; medians.

    python -m bench.patches                          # about 6 minutes
    python -m bench.patches --duration 2 --rounds 1  # a quick look
    python -m bench.patches --off one_hop            # only that switch
    python -m bench.patches --off a,b,a+b            # a, b, and both at once

A switch whose "vs all on" stays within the two all-on servers' difference (and each round's
spread) buys nothing measurable: delete what it switches. Results: build/bench/patches.md and
.json. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import sys
from collections.abc import Sequence
from contextlib import ExitStack

from bench.throughput import (
    LOAD_CORE,
    OUT,
    PYTHON_BIN,
    Server,
    _endpoints,
    _machine,
    _seed,
    _serve,
    _wait_ready,
    _wrk,
    load_arguments,
    production_env,
)
from web.patches import SWITCHES

ENDPOINTS = ("GET /hello?name=x", "GET /articles/{id} (JSON)", "POST /messages (JSON)")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.patches", description=__doc__)
    load_arguments(parser)
    parser.add_argument(
        "--off",
        default=",".join(SWITCHES),
        help="switches to measure, one server each; a+b turns both off in one server",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is missing (Debian: apt-get install wrk util-linux)")
    switches = [name for name in args.off.split(",") if name]
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("patches.db*"):
        stale.unlink()
    password = secrets.token_urlsafe(24)  # never written anywhere
    env = production_env("patches", password)
    argv_ = (str(PYTHON_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "app:create_app()")
    labels = ["all on", "all on, again", *(f"{n.replace('+', ' and ')} off" for n in switches)]
    offs = ["", "", *(name.replace("+", ",") for name in switches)]
    servers = [
        Server(f"patches-{i}", 8300 + i, argv_, (("WORKERS", "1"), ("PATCHES_OFF", off)))
        for i, off in enumerate(offs)
    ]
    label = {server.name: text for server, text in zip(servers, labels, strict=True)}
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with ExitStack() as stack:
        for server in servers:  # one at a time: all at once on one core take minutes
            process = stack.enter_context(_serve(server, env))
            _wait_ready(f"http://127.0.0.1:{server.port}/hello", process, timeout=120)
        token, article_id = _seed(f"http://127.0.0.1:{servers[0].port}", password)
        endpoints = [e for e in _endpoints(token, article_id) if e.name in ENDPOINTS]
        for server in servers:  # warm-up
            for endpoint in endpoints:
                _wrk(f"http://127.0.0.1:{server.port}", endpoint, 1, args.connections, LOAD_CORE)
        for round_number in range(args.rounds):
            shift = round_number * 3 % len(servers)
            order = servers[shift:] + servers[:shift]
            for endpoint in endpoints:
                for server in order:
                    url = f"http://127.0.0.1:{server.port}"
                    sample = _wrk(url, endpoint, args.duration, args.connections, LOAD_CORE)
                    key = (endpoint.name, server.name)
                    samples.setdefault(key, []).append((sample.rps, sample.p99_ms))
    lines = [
        f"Machine: {_machine()}. One worker pinned to core 0, wrk -t1 -c{args.connections} on "
        f"core 1; median of {args.rounds} interleaved rounds of {args.duration} s.",
        "",
        "| endpoint | server | req/s | p99 ms | req/s vs all on | each round's req/s |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name in ENDPOINTS:
        base = statistics.median(rps for rps, _ in samples[(name, servers[0].name)])
        for server in servers:
            runs = samples[(name, server.name)]
            rps = statistics.median(r for r, _ in runs)
            p99 = statistics.median(p for _, p in runs)
            each = ", ".join(f"{r:,.0f}" for r, _ in runs)
            lines.append(
                f"| {name} | {label[server.name]} | {rps:,.0f} | {p99:.1f} "
                f"| {rps / base:.2f}x | {each} |"
            )
    table = "\n".join(lines)
    print(table)
    (OUT / "patches.md").write_text(table + "\n")
    report = {
        "machine": _machine(),
        "args": vars(args),
        "samples": [
            {"endpoint": e, "server": label[s], "rps_p99": v} for (e, s), v in samples.items()
        ],
    }
    (OUT / "patches.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {OUT / 'patches.md'}, {OUT / 'patches.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
