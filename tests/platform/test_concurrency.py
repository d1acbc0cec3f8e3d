"""Concurrent writers over real HTTP: no lost creates, and exactly one winner per version."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import basic

WRITERS = 8
ADMIN = basic("admin", "secret")


def run_together(
    count: int, request: Callable[[httpx.Client, int], httpx.Response]
) -> list[httpx.Response]:
    """Send `count` requests at the same moment, each on its own connection."""
    start = threading.Barrier(count)

    def one(number: int) -> httpx.Response:
        with httpx.Client(timeout=60) as http:
            start.wait()
            return request(http, number)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_concurrent_creates_all_succeed_with_distinct_ids(live_server: str) -> None:
    token = httpx.post(f"{live_server}/tokens", headers=ADMIN).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    responses = run_together(
        WRITERS,
        lambda http, n: http.post(
            f"{live_server}/articles", json={"title": f"T{n}", "body": "B"}, headers=bearer
        ),
    )
    assert [r.status_code for r in responses] == [201] * WRITERS
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == WRITERS
    listing = httpx.get(f"{live_server}/articles", headers={"Accept": "application/json"}).json()
    assert {item["id"] for item in listing["items"]} == ids


def test_concurrent_puts_with_one_etag_have_exactly_one_winner(live_server: str) -> None:
    token = httpx.post(f"{live_server}/tokens", headers=ADMIN).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    created = httpx.post(
        f"{live_server}/articles", json={"title": "Start", "body": "B"}, headers=bearer
    )
    tag = created.headers["etag"]
    responses = run_together(
        WRITERS,
        lambda http, n: http.put(
            f"{live_server}/articles/1",
            json={"title": f"Writer {n}", "body": f"Body {n}"},
            headers={**bearer, "If-Match": tag},
        ),
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * (WRITERS - 1)
    winner = next(r for r in responses if r.status_code == 200).json()
    stored = httpx.get(f"{live_server}/articles/1", headers={"Accept": "application/json"})
    assert stored.json() == winner
    assert stored.headers["etag"] == '"2"'
