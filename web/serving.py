"""How uvicorn serves the app: in `python app.py` and in each of gunicorn's workers alike."""

from __future__ import annotations

from typing import Any

from web.patches.uvicorn_limits import RequestLimits


def uvicorn_options(
    workers: int,
    *,
    max_header_bytes: int,
    header_timeout: float,
    body_timeout: float,
    body_min_rate: float,
    shutdown_timeout: float,
    forwarded_allow_ips: str = "",
    one_write: bool = True,
) -> dict[str, Any]:
    """uvicorn's settings for this service, served by `workers` processes on one socket.

    The event loop is chosen by how connections are accepted. uvloop (libuv) accepts one
    connection per turn of the loop (libuv/libuv#3696), and under load a turn serves every
    request that is ready: alone on a socket, a process took one turn per new connection, so 32
    connections opened at once were accepted over ~150 ms (GET /hello at 32 connections: p99
    12-23 ms, p99.9 80-110 ms). asyncio's own loop accepts all that wait at once (p99 9-10 ms,
    p99.9 10-12 ms, for ~3% fewer requests per second). But processes sharing a socket
    (gunicorn's workers) need libuv's way: with asyncio's, whichever woke first took a whole
    burst, and in one run of four two workers served no more than one. So: asyncio's loop for
    one process, uvloop for several (bench/throughput.py measures both).

    httptools parses, with a cap on a request head's size and on the time to receive it
    (MAX_HEADER_BYTES, HEADER_TIMEOUT: web.patches.uvicorn_limits), a minimum rate for its body
    (BODY_TIMEOUT, BODY_MIN_RATE) and its trailer fields thrown away, and a response's head and
    body sent in one write unless `one_write` is False (web.patches.one_write; PATCHES_OFF names
    it to measure what it buys); no access log (the app writes its own line per request);
    client addresses from X-Forwarded-For only when `forwarded_allow_ips` (FORWARDED_ALLOW_IPS)
    names the proxies to trust; after SIGTERM, what is under way gets `shutdown_timeout`
    seconds (SHUTDOWN_TIMEOUT) before it is cancelled.
    """
    options: dict[str, Any] = {
        "loop": "asyncio" if workers == 1 else "uvloop",
        "http": RequestLimits(
            max_bytes=max_header_bytes,
            timeout=header_timeout,
            body_timeout=body_timeout,
            body_min_rate=body_min_rate,
            one_write=one_write,
        ),
        "access_log": False,
        # Without it uvicorn waits for every connection to close, however long: a client that
        # never reads its answers kept a SIGTERMed `python app.py` running for good.
        "timeout_graceful_shutdown": shutdown_timeout,
        "proxy_headers": bool(forwarded_allow_ips),
    }
    if forwarded_allow_ips:
        options["forwarded_allow_ips"] = forwarded_allow_ips
    return options
