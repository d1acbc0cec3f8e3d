"""Tokens, scopes, roles, limits on guessing, the production profile, and no leaks."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from app import create_app
from auth.passwords import Passwords
from auth.principal import ARTICLES_WRITE, USERS_ADMIN, Principal, caller
from errors import DomainError, Forbidden, InsufficientScope
from settings import Settings, SettingsError
from store import users
from store.db import Database
from store.models import Article, Token, User
from tests.conftest import REDIS_URL, basic, serving

ROOT = Path(__file__).resolve().parents[2]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_user(client: TestClient, admin: dict[str, str], name: str) -> dict[str, str]:
    response = client.post(
        "/users", json={"username": name, "password": "password-1"}, headers=admin
    )
    assert response.status_code == 201, response.text
    return basic(name, "password-1")


def issue(client: TestClient, credentials: dict[str, str], **request: object) -> dict:  # type: ignore[type-arg]
    response = client.post("/tokens", json=request or None, headers=credentials)
    assert response.status_code == 201, response.text
    return response.json()


# --- tokens ------------------------------------------------------------------------------------


def test_token_lifetime_and_scopes_follow_the_request(
    client: TestClient, admin: dict[str, str]
) -> None:
    token = issue(client, admin, expires_in=120, scopes=["articles:write"])
    assert token["expires_in"] == 120
    assert token["scopes"] == ["articles:write"]


def test_a_users_token_gets_only_what_the_role_allows(
    client: TestClient, admin: dict[str, str]
) -> None:
    alice = new_user(client, admin, "alice")
    assert issue(client, alice)["scopes"] == ["articles:write"]
    refused = client.post("/tokens", json={"scopes": ["users:admin"]}, headers=alice)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "request_body", [{"expires_in": 59}, {"expires_in": 86401}, {"scopes": ["root"]}, {"x": 1}]
)
def test_bad_token_requests_are_400(
    client: TestClient, admin: dict[str, str], request_body: dict
) -> None:  # type: ignore[type-arg]
    assert client.post("/tokens", json=request_body, headers=admin).status_code == 400


def test_tokens_need_basic_not_a_token(client: TestClient, admin: dict[str, str]) -> None:
    token = issue(client, admin)["access_token"]
    assert client.post("/tokens", headers=bearer(token)).status_code == 401


def test_list_shows_the_callers_tokens_without_values(
    client: TestClient, admin: dict[str, str]
) -> None:
    alice = new_user(client, admin, "alice")
    mine = [issue(client, alice) for _ in range(2)]
    issue(client, admin)
    listing = client.get("/tokens", headers=alice)
    assert listing.status_code == 200
    assert listing.headers["cache-control"] == "no-store"
    items = listing.json()["items"]
    assert [item["id"] for item in items] == [token["id"] for token in mine]
    for token in mine:
        assert token["access_token"] not in listing.text
    assert set(items[0]) == {"id", "scopes", "created_at", "expires_at"}


def test_a_revoked_token_stops_working_at_once(client: TestClient, admin: dict[str, str]) -> None:
    token = issue(client, admin)
    assert client.get("/secrets", headers=bearer(token["access_token"])).status_code == 200
    revoked = client.delete(f"/tokens/{token['id']}", headers=bearer(token["access_token"]))
    assert revoked.status_code == 204
    refused = client.get("/secrets", headers=bearer(token["access_token"]))
    assert refused.status_code == 401
    assert (
        refused.headers.get_list("www-authenticate")[1]
        == 'Bearer realm="Example", error="invalid_token"'
    )


def test_someone_elses_token_cannot_be_revoked(client: TestClient, admin: dict[str, str]) -> None:
    alice = new_user(client, admin, "alice")
    token = issue(client, admin)
    assert client.delete(f"/tokens/{token['id']}", headers=alice).status_code == 404
    assert client.get("/secrets", headers=bearer(token["access_token"])).status_code == 200


def test_tokens_in_the_query_string_are_never_accepted(
    client: TestClient, admin: dict[str, str]
) -> None:
    token = issue(client, admin)["access_token"]
    assert client.get(f"/secrets?access_token={token}").status_code == 401


# --- scopes ------------------------------------------------------------------------------------


def test_a_token_without_the_scope_gets_403_insufficient_scope(
    client: TestClient, admin: dict[str, str]
) -> None:
    writer = issue(client, admin, scopes=["articles:write"])["access_token"]
    refused = client.post(
        "/users", json={"username": "eve", "password": "password-1"}, headers=bearer(writer)
    )
    assert refused.status_code == 403
    assert refused.headers["www-authenticate"] == (
        'Bearer realm="Example", error="insufficient_scope", scope="users:admin"'
    )
    reader = issue(client, admin, scopes=[])["access_token"]
    no_write = client.post("/articles", json={"title": "T", "body": "B"}, headers=bearer(reader))
    assert no_write.status_code == 403
    assert 'scope="articles:write"' in no_write.headers["www-authenticate"]
    assert client.get("/secrets", headers=bearer(reader)).status_code == 200
    assert client.get("/articles").text == "List of /articles\n"
    assert client.get("/users").json()["items"][0]["username"] == "admin"


# --- limits on guessing ------------------------------------------------------------------------


def limited(
    settings: Settings, rate: str = "5/minute", redis_url: str | None = None, **changes: object
) -> TestClient:
    return create_app(
        dataclasses.replace(settings, auth_failure_limit=rate, redis_url=redis_url, **changes)
    ).test_client()


def from_address(address: str) -> dict[str, str]:
    """A request header that makes the request come from `address` (see `addressed`)."""
    return {"X-Test-Address": address}


def addressed(app: object) -> TestClient:
    """A test client whose requests come from the address in their X-Test-Address header."""

    async def wrapped(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        for name, value in scope.get("headers", []):
            if name == b"x-test-address":
                scope["client"] = (value.decode(), 40000)
        await app(scope, receive, send)  # type: ignore[operator]

    return TestClient(wrapped)  # type: ignore[arg-type]


def test_five_failures_lock_out_even_the_right_password(settings: Settings) -> None:
    with limited(settings) as client:
        for number in range(5):
            wrong = basic("admin", f"wrong-{number}")
            assert client.get("/secrets", headers=wrong).status_code == 401
        locked = client.get("/secrets", headers=basic("admin", "secret"))
        assert locked.status_code == 429
        assert locked.headers["content-type"] == "application/problem+json"
        assert 1 <= int(locked.headers["retry-after"]) <= 60
        assert locked.json()["status"] == 429


def test_the_lock_lifts_when_the_window_passes(settings: Settings) -> None:
    with limited(settings, "2/2 seconds") as client:
        for number in range(2):
            client.get("/secrets", headers=basic("admin", f"wrong-{number}"))
        assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 429
        time.sleep(2.2)
        assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 200


def test_bad_tokens_count_too(settings: Settings) -> None:
    with limited(settings, "3/minute") as client:
        for number in range(3):
            assert client.get("/secrets", headers=bearer(f"guess-{number}")).status_code == 401
        assert client.get("/secrets", headers=bearer("guess-3")).status_code == 429
        refused = client.get("/secrets", headers=basic("admin", "secret"))
        assert refused.status_code == 429


def test_a_valid_token_is_never_refused_for_failed_logins(settings: Settings) -> None:
    """Tokens are 256 random bits: no guess finds one, so a valid one is never a guess."""
    with limited(settings, "3/minute") as client:
        token = issue(client, basic("admin", "secret"))["access_token"]
        for number in range(3):
            client.get("/secrets", headers=basic("admin", f"wrong-{number}"))
        assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 429
        assert client.get("/secrets", headers=bearer(token)).status_code == 200


def test_successes_do_not_count(settings: Settings) -> None:
    with limited(settings, "2/minute") as client:
        for _ in range(5):
            assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 200


def test_the_same_wrong_credentials_again_are_no_new_guess(settings: Settings) -> None:
    """A client retrying (or a contract tester probing with one invalid value) sends the same
    wrong credentials again and again: they learn nothing new, so only the first one counts."""
    with limited(settings, "3/minute") as client:
        for _ in range(10):
            assert client.get("/secrets", headers=basic("admin", "wrong")).status_code == 401
            assert client.get("/secrets", headers=bearer("SOME-INVALID-VALUE")).status_code == 401
        assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 200
        assert client.get("/secrets", headers=basic("admin", "wrong-2")).status_code == 401
        assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 429
        # Still no new guess, even now: the answer it already had.
        assert client.get("/secrets", headers=basic("admin", "wrong")).status_code == 401


# What schemathesis' ignored_auth check sends (schemathesis/specs/openapi/_auth_retry.py): one
# constant invalid value per scheme, once per protected operation in every run.
INVALID = "SCHEMATHESIS-INVALID-VALUE"
PROBES = (basic(INVALID, INVALID), bearer(INVALID))


def counting_hashes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one for every Argon2id verification from now on."""
    from argon2 import PasswordHasher

    verified: list[int] = []
    original = PasswordHasher.verify

    def counted(self: PasswordHasher, *args: object) -> bool:
        verified.append(1)
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return verified


def test_a_contract_testers_fixed_invalid_credentials_count_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each repeat gets the 401 the first one got, its problem and both challenges, unhashed
    and uncounted: the owner's quota is what the first of each left, and stays so."""
    verified = counting_hashes(monkeypatch)
    with limited(settings, "3/minute") as client:
        firsts = [client.get("/secrets", headers=probe) for probe in PROBES]
        assert [first.status_code for first in firsts] == [401, 401]
        assert firsts[1].headers["ratelimit"].startswith('"address";r=1;')
        hashed = len(verified)
        for _ in range(20):
            for probe, first in zip(PROBES, firsts, strict=True):
                again = client.get("/secrets", headers=probe)
                assert again.status_code == 401
                assert again.json() == first.json()
                assert again.headers.get_list("www-authenticate") == first.headers.get_list(
                    "www-authenticate"
                )
        assert len(verified) == hashed
        owner = client.get("/secrets", headers=admin_basic())
        assert owner.status_code == 200
        assert owner.headers["ratelimit"].startswith('"address";r=1;')
        # Even while the limit holds (a third failure fills it), a repeat is answered 401.
        assert client.get("/secrets", headers=basic("admin", "wrong")).status_code == 401
        assert client.get("/secrets", headers=admin_basic()).status_code == 429
        for probe in PROBES:
            assert client.get("/secrets", headers=probe).status_code == 401


def test_wrong_credentials_are_remembered_even_when_right_ones_are_not(
    settings: Settings,
) -> None:
    """AUTH_CACHE_SECONDS=0 turns off the cache of verified passwords, not the record of
    failures: a repeat still counts once."""
    with limited(settings, "2/minute", auth_cache_seconds=0.0) as client:
        for _ in range(5):
            assert client.get("/secrets", headers=basic("admin", "wrong")).status_code == 401
            assert client.get("/secrets", headers=bearer("wrong")).status_code == 401
        assert client.get("/secrets", headers=basic("admin", "wrong-2")).status_code == 429


def test_a_failure_is_remembered_as_long_as_it_counts(settings: Settings) -> None:
    """Once a failure has left its windows, the same credentials are a guess again."""
    with limited(settings, "2/2 seconds", auth_account_failure_limit="8/2 seconds") as client:
        assert client.get("/secrets", headers=basic("admin", "wrong-1")).status_code == 401
        time.sleep(2.2)
        assert client.get("/secrets", headers=basic("admin", "wrong-1")).status_code == 401
        assert client.get("/secrets", headers=basic("admin", "wrong-2")).status_code == 401
        assert client.get("/secrets", headers=admin_basic()).status_code == 429


def test_a_refused_password_is_forgotten_when_the_password_changes(settings: Settings) -> None:
    with limited(settings, "5/minute") as client:
        new_user(client, admin_basic(), "alice")
        assert client.get("/secrets", headers=basic("alice", "next-password")).status_code == 401
        passwords = Passwords(time_cost=1, memory_kib=1024)
        db = Database(settings.database_url)
        users.set_password_hash(db, "alice", passwords.hash("next-password"))
        db.dispose()
        assert client.get("/secrets", headers=basic("alice", "next-password")).status_code == 200


GUESSERS = {
    # One address guessing one account's password: the address's window (5 a minute).
    "basic-one-address": lambda n: (
        {**basic("admin", f"guess-{n}"), **from_address("203.0.113.9")}
    ),
    # Guesses spread over addresses, four from each: the account's window (20 a minute).
    "basic-many-addresses": lambda n: (
        {**basic("admin", f"guess-{n}"), **from_address(f"203.0.113.{n // 4}")}
    ),
    # Token guesses from one address: the address's window.
    "bearer-one-address": lambda n: ({**bearer(f"guess-{n}"), **from_address("203.0.113.9")}),
}


@pytest.mark.parametrize("guesser", GUESSERS)
def test_distinct_guesses_are_refused_at_the_limit(settings: Settings, guesser: str) -> None:
    """At the production defaults, with the contract tester's fixed values sent before every
    guess (they count once): the guess after the limit, and the right password then, get 429
    with Retry-After."""
    guess = GUESSERS[guesser]
    limit = 20 if guesser == "basic-many-addresses" else 5
    app = create_app(settings)
    with addressed(app) as client:
        for number in range(limit):
            for probe in PROBES:
                client.get("/secrets", headers={**probe, **from_address("198.51.100.1")})
            assert client.get("/secrets", headers=guess(number)).status_code == 401
        refused = client.get("/secrets", headers=guess(limit))
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        where = {"X-Test-Address": guess(limit + 1)["X-Test-Address"]}
        right = client.get("/secrets", headers={**admin_basic(), **where})
        assert right.status_code == 429
        assert 1 <= int(right.headers["retry-after"]) <= 60


def test_failed_logins_carry_ratelimit_headers(settings: Settings) -> None:
    with limited(settings, "3/minute") as client:
        first = client.get("/secrets", headers=basic("admin", "wrong-1"))
        assert first.status_code == 401
        assert first.headers["ratelimit-policy"] == ('"address";q=3;w=60, "account";q=20;w=60')
        assert first.headers["ratelimit"] == '"address";r=2;t=60, "account";r=19;t=60'
        ok = client.get("/secrets", headers=basic("admin", "secret"))
        assert ok.status_code == 200
        assert re.fullmatch(
            r'"address";r=2;t=(59|60), "account";r=19;t=(59|60)', ok.headers["ratelimit"]
        )
        # Trusted now: the account's limit no longer applies to this client.
        again = client.get("/secrets", headers=basic("admin", "secret"))
        assert again.headers["ratelimit-policy"] == '"address";q=3;w=60'
        assert re.fullmatch(r'"address";r=2;t=(59|60)', again.headers["ratelimit"])
        client.get("/secrets", headers=basic("admin", "wrong-2"))
        client.get("/secrets", headers=basic("admin", "wrong-3"))
        locked = client.get("/secrets", headers=basic("admin", "wrong-4"))
        assert locked.status_code == 429
        assert locked.headers["ratelimit-policy"] == '"address";q=3;w=60'
        assert locked.headers["ratelimit"] == f'"address";r=0;t={locked.headers["retry-after"]}'
        token = client.get("/secrets", headers=bearer("nothing"))
        assert token.status_code == 429
        assert "ratelimit" not in client.get("/hello").headers


def test_a_login_with_no_failures_before_it_has_its_whole_quota(settings: Settings) -> None:
    with limited(settings, "3/minute") as client:
        ok = client.get("/secrets", headers=admin_basic())
    assert ok.status_code == 200
    assert ok.headers["ratelimit"] == '"address";r=3;t=0, "account";r=20;t=0'


def test_one_address_cannot_lock_the_owner_out_elsewhere(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, auth_failure_limit="5/minute"))
    with addressed(app) as client:
        attacker = from_address("203.0.113.66")
        for number in range(20):
            guess = client.get(
                "/secrets", headers={**basic("admin", f"guess-{number}"), **attacker}
            )
            assert guess.status_code == (401 if number < 5 else 429)
        assert client.get("/secrets", headers={**admin_basic(), **attacker}).status_code == 429
        owner = from_address("198.51.100.7")  # never seen before
        assert client.get("/secrets", headers={**admin_basic(), **owner}).status_code == 200


def test_guesses_spread_over_many_addresses_are_slowed(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, auth_account_failure_limit="8/minute"))
    with addressed(app) as client:
        usual = from_address("198.51.100.7")
        assert client.get("/secrets", headers={**admin_basic(), **usual}).status_code == 200
        statuses = []
        for number in range(12):  # three guesses from each of four addresses
            botnet = from_address(f"203.0.113.{number % 4}")
            guess = basic("admin", f"guess-{number}")
            statuses.append(client.get("/secrets", headers={**guess, **botnet}).status_code)
        assert statuses == [401] * 8 + [429] * 4
        new_place = from_address("192.0.2.1")
        assert client.get("/secrets", headers={**admin_basic(), **new_place}).status_code == 429
        # Where the owner logged in before, the account's lock does not apply.
        assert client.get("/secrets", headers={**admin_basic(), **usual}).status_code == 200


def admin_basic() -> dict[str, str]:
    return basic("admin", "secret")


def burst(base_url: str, requests: list[dict[str, str]]) -> list[int]:
    """Send every request at once, each on a connection of its own; their statuses in order."""
    barrier = threading.Barrier(len(requests))
    statuses = [0] * len(requests)

    def send(index: int) -> None:
        with httpx.Client(base_url=base_url, timeout=60) as session:
            barrier.wait()
            statuses[index] = session.get("/secrets", headers=requests[index]).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return statuses


def test_a_parallel_burst_gets_no_more_checks_than_the_limit(settings: Settings) -> None:
    """100 wrong passwords at once, the right one among them: at most 5 are checked at all (each
    check reserves its failure before hashing), every other one is refused unhashed."""
    slow = dataclasses.replace(
        settings, auth_failure_limit="5/minute", password_hash_time_cost=2,
        password_hash_memory_kib=16384,
    )  # fmt: skip
    guesses = [basic("admin", f"guess-{number}") for number in range(100)]
    guesses.insert(50, admin_basic())
    with serving(slow) as base_url:
        statuses = burst(base_url, guesses)
        assert statuses.count(401) + statuses.count(200) <= 5, sorted(statuses)
        assert statuses.count(429) == len(guesses) - statuses.count(401) - statuses.count(200)
        if statuses.count(401) == 5:
            assert statuses[50] == 429
        # The right password, checked before the limit filled (200), makes its client trusted:
        # it gets past the limit from then on. Refused unhashed (429), it is refused again.
        assert statuses[50] in (200, 429)
        after = httpx.get(f"{base_url}/secrets", headers=admin_basic(), timeout=10)
        assert after.status_code == statuses[50]


def test_password_checks_run_a_bounded_number_at_a_time(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each Argon2id check holds its memory (64 MiB by default): a burst across many accounts
    and addresses, which the limits let through, still runs only so many at once."""
    from argon2 import PasswordHasher

    running, most = [0], [0]
    lock = threading.Lock()
    original = PasswordHasher.verify

    def counted(self: PasswordHasher, *args: object) -> bool:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)
            return original(self, *args)  # type: ignore[arg-type]
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    spread = dataclasses.replace(
        settings, password_hash_concurrency=2, auth_failure_limit="1000/minute",
        auth_account_failure_limit="1000/minute",
    )  # fmt: skip
    with serving(spread) as base_url:
        statuses = burst(base_url, [basic(f"user-{n}", "guess") for n in range(40)])
    assert statuses == [401] * 40
    assert most[0] == 2


def test_a_verified_password_is_not_hashed_again_until_it_changes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    verified = []
    original = PasswordHasher.verify

    def counted(self: PasswordHasher, *args: object) -> bool:
        verified.append(1)
        return original(self, *args)  # type: ignore[arg-type]

    with create_app(settings).test_client() as client:
        alice = new_user(client, admin_basic(), "alice")
        monkeypatch.setattr(PasswordHasher, "verify", counted)
        for _ in range(5):
            assert client.get("/secrets", headers=alice).status_code == 200
        assert len(verified) == 1
        passwords = Passwords(time_cost=1, memory_kib=1024)
        db = Database(settings.database_url)
        users.set_password_hash(db, "alice", passwords.hash("a-new-password"))
        db.dispose()
        assert client.get("/secrets", headers=alice).status_code == 401
        assert client.get("/secrets", headers=basic("alice", "a-new-password")).status_code == 200
        alice_id = client.get("/users").json()["items"][-1]["id"]
        deleted = client.delete(f"/users/{alice_id}", headers=admin_basic())
        assert deleted.status_code == 204
        assert client.get("/secrets", headers=basic("alice", "a-new-password")).status_code == 401


def test_the_first_unknown_user_costs_no_extra_hash(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first unknown user of a fresh process is checked against a made-up hash, not one
    hashed on the spot: as fast as every later one (a timing tell otherwise)."""
    from argon2 import PasswordHasher

    with create_app(settings).test_client() as client:
        client.app_state = None  # type: ignore[attr-defined]
        hashed: list[str] = []
        original = PasswordHasher.hash
        monkeypatch.setattr(
            PasswordHasher, "hash", lambda self, p, **k: hashed.append(p) or original(self, p)
        )
        assert client.get("/secrets", headers=basic("nobody", "guess")).status_code == 401
    assert hashed == []


@pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to test limits shared through Redis")
def test_limits_are_shared_through_redis(settings: Settings) -> None:
    import redis

    assert REDIS_URL is not None
    redis.Redis.from_url(REDIS_URL).flushdb()
    with (
        limited(settings, "3/minute", REDIS_URL) as first,
        limited(settings, "3/minute", REDIS_URL) as second,
    ):
        for number in range(3):
            wrong = basic("admin", f"wrong-{number}")
            assert first.get("/secrets", headers=wrong).status_code == 401
        assert second.get("/secrets", headers=admin_basic()).status_code == 429
    redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to test limits shared through Redis")
def test_a_parallel_burst_through_redis_gets_no_more_checks_than_the_limit(
    settings: Settings,
) -> None:
    import redis

    assert REDIS_URL is not None
    redis.Redis.from_url(REDIS_URL).flushdb()
    slow = dataclasses.replace(
        settings, auth_failure_limit="5/minute", redis_url=REDIS_URL, password_hash_time_cost=2,
        password_hash_memory_kib=16384,
    )  # fmt: skip
    guesses = [basic("admin", f"guess-{number}") for number in range(100)]
    with serving(slow) as base_url:
        statuses = burst(base_url, guesses)
    redis.Redis.from_url(REDIS_URL).flushdb()
    assert statuses.count(401) == 5
    assert statuses.count(429) == 95


# --- the production profile ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "needed"),
    [
        (None, "at least 12 characters"),
        ("", "at least 12 characters"),
        ("secret", "at least 12 characters"),
        ("short-pass", "at least 12 characters"),
        (" " * 12, "no whitespace at either end"),
        (" correct horse battery", "no whitespace at either end"),
        ("secretsecret", "at least 8 different characters"),
        ("abcdefghabcdefgh", "not one string repeated"),
        ("my-secret-passphrase", "not containing the development default"),
    ],
)
def test_production_refuses_a_weak_admin_password(password: str | None, needed: str) -> None:
    env = {"APP_ENV": "production"} | ({} if password is None else {"ADMIN_PASSWORD": password})
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    assert str(refused.value) == (
        f"APP_ENV=production needs ADMIN_PASSWORD (or ADMIN_PASSWORD_FILE) of {needed}"
    )


def test_production_refuses_debug_mode() -> None:
    env = {"APP_ENV": "production", "ADMIN_PASSWORD": "a-long-passphrase", "DEBUG": "1"}
    with pytest.raises(SettingsError, match="APP_ENV=production refuses DEBUG"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "APP_ENV": "development"}).debug


def test_production_takes_a_strong_password_or_a_file(tmp_path: Path) -> None:
    assert (
        Settings.from_env(
            {"APP_ENV": "production", "ADMIN_PASSWORD": "a-long-passphrase"}
        ).admin_password
        == "a-long-passphrase"
    )
    secret_file = tmp_path / "admin-password"
    secret_file.write_text("from-a-file-passphrase\n")
    settings = Settings.from_env({"APP_ENV": "production", "ADMIN_PASSWORD_FILE": str(secret_file)})
    assert settings.admin_password == "from-a-file-passphrase"
    assert Settings.from_env({}).admin_password == "secret"


def test_production_start_fails_in_one_clear_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "APP_ENV": "production",
        "ADMIN_PASSWORD": "secret",
        "LOG_FILE": str(tmp_path / "x.log"),
    }
    run = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert run.stderr.strip().splitlines() == [
        "articles-api: APP_ENV=production needs ADMIN_PASSWORD (or ADMIN_PASSWORD_FILE) "
        "of at least 12 characters"
    ]


# --- never leak ----------------------------------------------------------------------------------


def test_no_credential_reaches_the_log_or_a_response(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    secrets = ["correct horse battery", "wrong-guess-1", "hunter2-in-query"]
    created = client.post(
        "/users", json={"username": "alice", "password": secrets[0]}, headers=admin
    )
    invalid = client.post(
        "/users", json={"username": "bob", "password": "x\u0000" + secrets[1]}, headers=admin
    )
    assert invalid.status_code == 400
    alice = basic("alice", secrets[0])
    token = issue(client, alice)["access_token"]
    secrets.append(token)
    responses = [
        created,
        invalid,
        client.get("/secrets", headers=basic("alice", secrets[1])),
        client.get(f"/secrets?password={secrets[2]}"),
        client.get("/secrets", headers=bearer(token)),
        client.get("/tokens", headers=bearer(token)),
        client.post("/echo", headers={**bearer(token), "Accept": "application/json"}),
    ]
    log = Path(settings.log_file).read_text(encoding="utf-8")
    for secret in secrets:
        assert secret not in log
        for response in responses:
            assert secret not in response.text
    assert alice["Authorization"].split()[1] not in log


# --- who may do what -----------------------------------------------------------------------------

CALLERS = ["anonymous", "alice", "bob", "admin"]
# (method, path, body, expected status per caller); alice owns article 1 and token 1.
MATRIX = [
    ("GET", "/articles", None, [200, 200, 200, 200]),
    ("GET", "/articles/1", None, [200, 200, 200, 200]),
    ("POST", "/articles", {"title": "T", "body": "B"}, [401, 201, 201, 201]),
    ("PUT", "/articles/1", {"title": "T", "body": "B"}, [401, 200, 404, 200]),
    ("PATCH", "/articles/1", {"body": "B"}, [401, 200, 404, 200]),
    ("DELETE", "/articles/1", None, [401, 204, 404, 204]),
    ("GET", "/users", None, [200, 200, 200, 200]),
    ("GET", "/users/5", None, [200, 200, 200, 200]),
    ("POST", "/users", {"username": "carol", "password": "password-1"}, [401, 403, 403, 201]),
    ("DELETE", "/users/6", None, [401, 403, 403, 204]),
    ("GET", "/secrets", None, [401, 200, 200, 200]),
    ("POST", "/tokens", None, [401, 201, 201, 201]),
    ("GET", "/tokens", None, [401, 200, 200, 200]),
    ("DELETE", "/tokens/1", None, [401, 204, 404, 404]),
]


def snapshot(settings: Settings) -> tuple[object, ...]:
    db = Database(settings.database_url)
    with db.read() as session:
        state = (
            session.execute(select(Article.id, Article.title, Article.body, Article.version)).all(),
            session.execute(select(User.id, User.username, User.password_hash)).all(),
            session.execute(select(Token.id, Token.user_id, Token.token_hash)).all(),
            session.scalar(select(func.count()).select_from(Token)),
        )
    db.dispose()
    return state


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX]
)
@pytest.mark.parametrize("caller", range(4), ids=CALLERS)
def test_permission_matrix(  # type: ignore[no-untyped-def]
    client: TestClient, admin, settings: Settings, method, path, body, expected, caller: int
) -> None:
    alice = new_user(client, admin, "alice")
    bob = new_user(client, admin, "bob")
    new_user(client, admin, "dave")  # id 6: someone to delete
    assert (
        client.post("/articles", json={"title": "A", "body": "B"}, headers=alice).status_code == 201
    )
    issue(client, alice)
    credentials = [{}, alice, bob, admin][caller]
    headers = dict(credentials)
    if method in ("PUT", "PATCH", "DELETE") and path.startswith("/articles"):
        headers["If-Match"] = "*"
    content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
    before = snapshot(settings)
    response = client.request(
        method,
        path,
        content=None if body is None else __import__("json").dumps(body).encode(),
        headers={**headers, **({"Content-Type": content_type} if body is not None else {})},
    )
    assert response.status_code == expected[caller], response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert snapshot(settings) == before


@pytest.mark.parametrize(
    ("role", "scopes", "admin_only", "scope", "refusal"),
    [
        ("user", None, False, None, None),
        ("user", None, False, ARTICLES_WRITE, None),
        ("user", frozenset(), False, ARTICLES_WRITE, InsufficientScope),
        ("user", None, True, None, Forbidden),
        ("admin", None, True, None, None),
        ("admin", frozenset({ARTICLES_WRITE}), True, None, InsufficientScope),
        ("admin", frozenset({USERS_ADMIN}), False, ARTICLES_WRITE, InsufficientScope),
    ],
)
def test_a_handler_gets_its_caller_checked_in_one_call(
    role: str,
    scopes: frozenset[str] | None,
    admin_only: bool,
    scope: str | None,
    refusal: type[DomainError] | None,
) -> None:
    principal = Principal(user_id=7, username="alice", role=role, scopes=scopes)
    token_info = principal.as_token_info()
    if refusal is None:
        assert caller(token_info, admin=admin_only, scope=scope) == principal
    else:
        with pytest.raises(refusal):
            caller(token_info, admin=admin_only, scope=scope)


def test_a_user_name_no_user_can_have_is_a_failed_login(client: TestClient) -> None:
    # A NUL: PostgreSQL can neither store nor compare it (it was a 400 there, a 401 on SQLite).
    refused = client.get("/secrets", headers=basic("adm\x00in", "secret"))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert 'Basic realm="Example"' in refused.headers["www-authenticate"]
