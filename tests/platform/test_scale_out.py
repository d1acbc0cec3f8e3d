"""Scale-out: two service processes on one PostgreSQL database and one Redis act as one service.

Both instances are `python app.py` in processes of their own, on ports of their own, started at
the same moment against an empty database; a write, a token, a revocation and failed logins on
one instance are seen by the other.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import POSTGRES_URL, REDIS_URL, basic, reset_postgres

pytestmark = pytest.mark.skipif(
    not (POSTGRES_URL and REDIS_URL),
    reason="set TEST_DATABASE_URL and TEST_REDIS_URL to run two instances on one PostgreSQL and "
    "one Redis",
)

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30
STOP_SECONDS = 10
FAILURE_LIMIT = 3  # AUTH_FAILURE_LIMIT of both instances, per minute
JSON = {"Accept": "application/json"}
SECRET_TEXT = "Shhh this is top secret spy stuff!"


@dataclass
class Instance:
    """One service process and a client for it."""

    name: str
    process: subprocess.Popen[bytes]
    output: Path
    client: httpx.Client

    def output_text(self) -> str:
        """What the process wrote to stdout and stderr so far."""
        return self.output.read_text(encoding="utf-8", errors="replace")


@dataclass
class Pair:
    """Two instances sharing one database and one Redis, and the admin's credentials."""

    a: Instance
    b: Instance
    admin: dict[str, str]


def free_port() -> int:
    """A local port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def forget_failures() -> None:
    """Empty this worker's Redis database, where the instances count failed logins."""
    import redis

    assert REDIS_URL is not None
    redis.Redis.from_url(REDIS_URL).flushdb()


def start(name: str, directory: Path, admin_password: str) -> Instance:
    """`python app.py` on a free port against the shared database and Redis; not yet ready."""
    assert POSTGRES_URL is not None and REDIS_URL is not None
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": POSTGRES_URL,
        "REDIS_URL": REDIS_URL,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_FILE": str(directory / f"{name}.log"),
        "ADMIN_USERNAME": "admin",
        "ADMIN_PASSWORD": admin_password,
        "ADMIN_PASSWORD_FILE": "",
        "AUTH_FAILURE_LIMIT": f"{FAILURE_LIMIT}/minute",
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "VALIDATE_RESPONSES": "1",
        "DEBUG": "",
        # Both instances must see the client as 127.0.0.1, not an address a header claims.
        "FORWARDED_ALLOW_IPS": "",
    }
    output = directory / f"{name}.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    return Instance(name=name, process=process, output=output, client=client)


def wait_until_healthy(instance: Instance) -> None:
    """Poll GET /healthz (answered only once start-up has migrated and seeded the database)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if instance.process.poll() is not None:
            pytest.fail(
                f"instance {instance.name} exited with {instance.process.returncode}:\n"
                + instance.output_text()
            )
        try:
            if instance.client.get("/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"instance {instance.name} not healthy after {STARTUP_SECONDS} s:\n"
                + instance.output_text()
            )
        time.sleep(0.05)


def stop(instance: Instance) -> None:
    """SIGTERM, then wait; SIGKILL if it does not exit in time."""
    instance.client.close()
    if instance.process.poll() is None:
        instance.process.terminate()
    try:
        instance.process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        instance.process.kill()
        instance.process.wait()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """Instances A and B, started at once on an emptied database (both migrate it at start)."""
    assert POSTGRES_URL is not None
    reset_postgres(POSTGRES_URL)
    directory = tmp_path_factory.mktemp("scale-out")
    admin_password = secrets.token_urlsafe(16)
    instances: list[Instance] = []
    try:
        for name in ("a", "b"):
            instances.append(start(name, directory, admin_password))
        for instance in instances:
            wait_until_healthy(instance)
        yield Pair(a=instances[0], b=instances[1], admin=basic("admin", admin_password))
    finally:
        for instance in instances:
            if instance.process.poll() is None:
                instance.process.terminate()
        for instance in instances:
            stop(instance)


@pytest.fixture(autouse=True)
def no_failures_counted() -> Iterator[None]:
    """Each test starts with no failed logins counted, and leaves none (127.0.0.1 is shared)."""
    forget_failures()
    yield
    forget_failures()


def bearer(token: str) -> dict[str, str]:
    """An Authorization header for a Bearer token."""
    return {"Authorization": f"Bearer {token}"}


def test_both_instances_start_at_once_on_one_fresh_database(pair: Pair) -> None:
    """Started together on one empty database, both came up on it: the tutorial's users exist
    once each, with the same ids on both instances, and the admin's password works on both."""
    listings = []
    for instance in (pair.a, pair.b):
        response = instance.client.get("/users", params={"limit": 100}, headers=JSON)
        assert response.status_code == 200, response.text
        users = [(user["id"], user["username"]) for user in response.json()["items"]]
        assert users[:4] == [(0, "admin"), (1, "john"), (2, "steve"), (3, "bill")]
        assert len({name for _, name in users}) == len(users)
        listings.append(response.json())
        secret = instance.client.get("/secrets", headers=pair.admin)
        assert secret.status_code == 200, secret.text
        assert secret.text == SECRET_TEXT
    assert listings[0] == listings[1]


def test_a_write_on_one_instance_is_read_on_the_other(pair: Pair) -> None:
    """An article created on A reads the same on B (body and ETag); B's update with If-Match is
    what A then reads, and A refuses a change based on the version B replaced."""
    created = pair.a.client.post(
        "/articles",
        json={"title": "Scale out", "body": "Written on A."},
        headers=pair.admin | JSON,
    )
    assert created.status_code == 201, created.text
    article_id = created.json()["id"]
    location = created.headers["location"]
    assert location == f"/articles/{article_id}"
    assert created.json() == {
        "id": article_id,
        "title": "Scale out",
        "body": "Written on A.",
        "author": "admin",
    }
    assert created.headers["etag"] == '"1"'

    read_on_b = pair.b.client.get(location, headers=JSON)
    assert read_on_b.status_code == 200, read_on_b.text
    assert read_on_b.json() == created.json()
    assert read_on_b.headers["etag"] == created.headers["etag"]

    updated = pair.b.client.put(
        location,
        json={"title": "Scale out", "body": "Edited on B."},
        headers=pair.admin | JSON | {"If-Match": read_on_b.headers["etag"]},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json() == {
        "id": article_id,
        "title": "Scale out",
        "body": "Edited on B.",
        "author": "admin",
    }
    assert updated.headers["etag"] == '"2"'

    read_on_a = pair.a.client.get(location, headers=JSON)
    assert read_on_a.status_code == 200, read_on_a.text
    assert read_on_a.json() == updated.json()
    assert read_on_a.headers["etag"] == '"2"'

    stale = pair.a.client.put(
        location,
        json={"title": "Lost update", "body": "Based on version 1."},
        headers=pair.admin | JSON | {"If-Match": created.headers["etag"]},
    )
    assert stale.status_code == 412, stale.text
    assert pair.b.client.get(location, headers=JSON).json() == updated.json()


def test_a_token_from_one_instance_works_on_the_other_until_revoked(pair: Pair) -> None:
    """A token issued on A opens /secrets on B; once revoked on A, B and A both refuse it with
    401 and an RFC 6750 invalid_token challenge."""
    issued = pair.a.client.post("/tokens", headers=pair.admin | JSON)
    assert issued.status_code == 201, issued.text
    token = issued.json()["access_token"]
    token_id = issued.json()["id"]

    on_b = pair.b.client.get("/secrets", headers=bearer(token))
    assert on_b.status_code == 200, on_b.text
    assert on_b.text == SECRET_TEXT
    listed_on_b = pair.b.client.get("/tokens", headers=bearer(token) | JSON)
    assert listed_on_b.status_code == 200, listed_on_b.text
    assert [item["id"] for item in listed_on_b.json()["items"]] == [token_id]

    revoked = pair.a.client.delete(f"/tokens/{token_id}", headers=bearer(token))
    assert revoked.status_code == 204, revoked.text

    for instance in (pair.b, pair.a):
        refused = instance.client.get("/secrets", headers=bearer(token))
        assert refused.status_code == 401, f"{instance.name}: {refused.text}"
        assert 'Bearer realm="Example", error="invalid_token"' in refused.headers.get_list(
            "www-authenticate"
        )
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["status"] == 401
        assert refused.json()["detail"] == "Provided token is not valid"


def test_failed_logins_are_counted_across_instances(pair: Pair) -> None:
    """Wrong passwords spread over A (2) and B (1) use up the shared limit of 3 a minute, so the
    right password then gets 429 with Retry-After on A, which alone saw only 2 failures, and on
    B, which saw 1.

    The limit keys on the client address (127.0.0.1 for both instances), and reaches it only when
    the counts are shared in Redis. Each guess is a new one: the same wrong password again counts
    once (auth.authenticate.basic).
    """
    username = f"scale-out-{secrets.token_hex(4)}"
    created = pair.a.client.post(
        "/users", json={"username": username, "password": "password-1"}, headers=pair.admin | JSON
    )
    assert created.status_code == 201, created.text
    right = basic(username, "password-1")
    guesses = iter(basic(username, f"wrong-password-{number}") for number in range(10))
    failures = {pair.a.name: 2, pair.b.name: 1}
    # Neither instance alone sees enough failures to refuse anyone; together they reach the limit.
    assert all(count < FAILURE_LIMIT for count in failures.values())
    assert sum(failures.values()) == FAILURE_LIMIT

    for _ in range(failures[pair.a.name]):
        assert pair.a.client.get("/secrets", headers=next(guesses)).status_code == 401
    # Under the limit so far: the right password still works (and a success counts for nothing).
    assert pair.b.client.get("/secrets", headers=right).status_code == 200
    for _ in range(failures[pair.b.name]):
        assert pair.b.client.get("/secrets", headers=next(guesses)).status_code == 401

    for instance in (pair.a, pair.b):
        locked = instance.client.get("/secrets", headers=right)
        assert locked.status_code == 429, f"{instance.name}: {locked.status_code} {locked.text}"
        assert 1 <= int(locked.headers["retry-after"]) <= 60
        assert locked.headers["content-type"] == "application/problem+json"
        assert locked.json()["status"] == 429
