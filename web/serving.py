"""How uvicorn serves the app: in `python app.py` and in each of gunicorn's workers alike."""

from __future__ import annotations

import os
from typing import Any


def uvicorn_options() -> dict[str, Any]:
    """uvicorn's settings for this service.

    asyncio's own event loop, not uvloop: libuv accepts one connection per turn of the loop
    (libuv/libuv#3696), and under load a turn serves every request ready, so a burst of new
    connections waited for up to a turn each: with 32 at once, the last was accepted ~150 ms
    after the first (p99.9 100-160 ms at 32 connections, against 11-19 ms with asyncio's loop,
    which accepts the whole backlog at once), for ~3% more requests per second (bench/README).
    httptools parses; no access log (the app writes its own line per request); client addresses
    from X-Forwarded-For only when FORWARDED_ALLOW_IPS names the proxies to trust.
    """
    return {
        "loop": "asyncio",
        "http": "httptools",
        "access_log": False,
        "proxy_headers": bool(os.environ.get("FORWARDED_ALLOW_IPS")),
    }
