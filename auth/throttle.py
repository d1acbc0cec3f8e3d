"""Limits on failed authentication: per client address, and per account from untrusted clients.

Every password check first reserves a failure in each window that applies, atomically: a
reservation over the limit is refused (429) before any hashing, so a burst of parallel guesses
gets no more verifications than the limit allows. A successful check gives its reservation back
(successes never count) and marks the client, its (username, address) pair, as trusted; a
failed one keeps it.

Two policies, after OWASP's Authentication Cheat Sheet ("Account Lockout", and "Slow Down
Online Guessing Attacks with Device Cookies"):

- `address`: failures from one client address, whatever the username (AUTH_FAILURE_LIMIT).
  One address guessing stops there, and cannot go on to lock anyone out.
- `account`: failures for one username from clients not trusted for it (AUTH_ACCOUNT_FAILURE_
  LIMIT, by default four times the address's): guesses spread over many addresses are slowed
  too, while an owner at an address they logged in from before is never refused for them.

Counts live in this process, or in Redis (REDIS_URL) so that every process and host shares them.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from errors import DependencyUnavailable, TooManyRequests

ADDRESS = "address"
ACCOUNT = "account"
TRUST_SECONDS = 30 * 24 * 3600  # how long a successful login makes its client trusted
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$", re.I)


@dataclass(frozen=True)
class Policy:
    """At most `limit` failures within any `window` seconds."""

    name: str
    limit: int
    window: int

    @classmethod
    def parse(cls, name: str, rate: str) -> Policy:
        """`5/minute`, `20 per hour`, `2/10 seconds`; ValueError otherwise."""
        found = _RATE.match(rate)
        if found is None or int(found[1]) < 1:
            raise ValueError(f"{rate!r} is not a rate such as 5/minute")
        window = int(found[2] or 1) * _UNITS[found[3].lower()]
        return cls(name, int(found[1]), window)


@dataclass(frozen=True)
class Quota:
    """A policy's state as a client sees it (draft-ietf-httpapi-ratelimit-headers)."""

    policy: Policy
    remaining: int
    reset: int  # seconds until a failure leaves the window (0: none in it)


@dataclass
class Attempt:
    """A password check under way: the failure it reserved in each window."""

    member: str
    keys: list[str]
    quotas: list[Quota]  # as they will stand if this attempt fails
    unchanged: list[Quota]  # as they stood before it (and will again if it succeeds)
    trust_key: str | None = None
    settled: bool = False


@dataclass(frozen=True)
class Window:
    """One policy's window for one key, as a store keeps it."""

    key: str
    policy: Policy
    unless_trusted: bool  # skipped when the client is trusted


@dataclass(frozen=True)
class Counted:
    """What a store found in a window: failures in it and when the oldest leaves."""

    count: int
    oldest_leaves_in: float  # seconds; 0 when the window is empty


class Store(Protocol):
    """Where failures are counted."""

    def reserve(
        self, windows: Sequence[Window], member: str | None, trust_key: str | None
    ) -> tuple[bool, list[Counted | None]]:
        """Atomically: count each window (None: skipped, the client is trusted); if every one
        is under its limit, add `member` to each (None: add nothing). True when under."""
        ...

    def release(self, keys: Sequence[str], member: str) -> None:
        """Take `member` out of each window again."""
        ...

    def trust(self, key: str, seconds: int) -> None:
        """Trust a client for `seconds`."""
        ...

    def ping(self) -> None:
        """Raise DependencyUnavailable when the store cannot be reached."""
        ...


def _hash(*parts: str) -> str:
    joined = "\x00".join(parts).encode("utf-8", "surrogateescape")
    return hashlib.sha256(joined).hexdigest()[:32]


class FailedLogins:
    """The two policies over one store."""

    def __init__(self, store: Store, address: Policy, account: Policy) -> None:
        self.store = store
        self.address = address
        self.account = account

    def begin(self, *, address: str, username: str | None = None) -> Attempt:
        """Reserve a failure for a check of `username`'s credentials (None: a token) from
        `address`; TooManyRequests when a window that applies is full."""
        member = f"{time.time():.6f}:{os.urandom(6).hex()}"
        return self._reserve(address, username, member)

    def admit(self, *, address: str, username: str) -> list[Quota]:
        """TooManyRequests when a window that applies to `username` at `address` is full, as
        for `begin`; otherwise the quotas, reserving nothing (nothing is to be verified)."""
        return self._reserve(address, username, None).quotas

    def _reserve(self, address: str, username: str | None, member: str | None) -> Attempt:
        windows = [Window(f"{ADDRESS}:{address}", self.address, False)]
        trust_key = None
        if username is not None:
            windows.append(Window(f"{ACCOUNT}:{_hash(username)}", self.account, True))
            trust_key = f"trusted:{_hash(username, address)}"
        under, counted = self.store.reserve(windows, member, trust_key)
        applied = [(w, c) for w, c in zip(windows, counted, strict=True) if c is not None]
        if not under:
            full = [(w, c) for w, c in applied if c.count >= w.policy.limit]
            retry = max(math.ceil(c.oldest_leaves_in) for _, c in full)
            quotas = [_quota(w, c, 0) for w, c in applied]
            raise TooManyRequests(max(1, retry), rate_limit_headers(quotas))
        unchanged = [_quota(w, c, 0) for w, c in applied]
        quotas = unchanged if member is None else [_quota(w, c, 1) for w, c in applied]
        keys = [w.key for w, _ in applied]
        return Attempt(member or "", keys, quotas, unchanged, trust_key, settled=member is None)

    def succeeded(self, attempt: Attempt) -> list[Quota]:
        """The check passed: it does not count, and its client is trusted from now on."""
        self._release(attempt)
        if attempt.trust_key is not None:
            self.store.trust(attempt.trust_key, TRUST_SECONDS)
        return attempt.unchanged

    def failed(self, attempt: Attempt) -> list[Quota]:
        """The check failed: the reserved failure stays in its windows."""
        attempt.settled = True
        return attempt.quotas

    def abandoned(self, attempt: Attempt) -> None:
        """The check could not be made (a dependency failed): it does not count."""
        self._release(attempt)

    def _release(self, attempt: Attempt) -> None:
        if not attempt.settled:
            attempt.settled = True
            self.store.release(attempt.keys, attempt.member)

    def ping(self) -> None:
        """DependencyUnavailable when the store cannot be reached."""
        self.store.ping()


def _quota(window: Window, counted: Counted, adding: int) -> Quota:
    remaining = max(0, window.policy.limit - counted.count - adding)
    leaves = counted.oldest_leaves_in if counted.count else (window.policy.window if adding else 0)
    return Quota(window.policy, remaining, math.ceil(leaves))


def rate_limit_headers(quotas: Sequence[Quota]) -> dict[str, str]:
    """`RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-09) for these
    quotas; empty when none applied."""
    if not quotas:
        return {}
    return {
        "RateLimit-Policy": ", ".join(
            f'"{q.policy.name}";q={q.policy.limit};w={q.policy.window}' for q in quotas
        ),
        "RateLimit": ", ".join(f'"{q.policy.name}";r={q.remaining};t={q.reset}' for q in quotas),
    }


@dataclass
class MemoryStore:
    """Failures counted in this process: for one process only (production with several workers
    requires Redis, deploy/gunicorn.conf.py)."""

    max_trusted: int = 100_000
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _windows: dict[str, deque[tuple[float, str]]] = field(default_factory=dict)
    _trusted: OrderedDict[str, float] = field(default_factory=OrderedDict)
    _operations: int = 0

    def reserve(
        self, windows: Sequence[Window], member: str | None, trust_key: str | None
    ) -> tuple[bool, list[Counted | None]]:
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            trusted = trust_key is not None and self._trusted.get(trust_key, 0.0) > now
            counted: list[Counted | None] = []
            for window in windows:
                if window.unless_trusted and trusted:
                    counted.append(None)
                    continue
                entries = self._entries(window, now)
                leaves = entries[0][0] + window.policy.window - now if entries else 0.0
                counted.append(Counted(len(entries), leaves))
            if any(
                c is not None and c.count >= w.policy.limit
                for w, c in zip(windows, counted, strict=True)
            ):
                return False, counted
            for window, found in zip(windows, counted, strict=True):
                if found is not None and member is not None:
                    self._windows.setdefault(window.key, deque()).append((now, member))
            return True, counted

    def _entries(self, window: Window, now: float) -> deque[tuple[float, str]]:
        entries = self._windows.get(window.key, deque())
        while entries and entries[0][0] <= now - window.policy.window:
            entries.popleft()
        return entries

    def _sweep(self, now: float) -> None:
        """Now and then, forget windows whose failures are all older than a day."""
        self._operations += 1
        if self._operations % 1024:
            return
        stale = now - _UNITS["day"]
        for key in [
            k for k, entries in self._windows.items() if not entries or entries[-1][0] < stale
        ]:
            del self._windows[key]

    def release(self, keys: Sequence[str], member: str) -> None:
        with self._lock:
            for key in keys:
                entries = self._windows.get(key)
                if entries is None:
                    continue
                for entry in entries:
                    if entry[1] == member:
                        entries.remove(entry)
                        break

    def trust(self, key: str, seconds: int) -> None:
        with self._lock:
            self._trusted[key] = time.monotonic() + seconds
            self._trusted.move_to_end(key)
            while len(self._trusted) > self.max_trusted:
                self._trusted.popitem(last=False)

    def ping(self) -> None:
        return None


# KEYS: the windows' keys, then the trust key ("" for none). ARGV: now (ms), member ("": add
# nothing), then per
# window its limit, its length (ms) and whether a trusted client skips it (1/0). Returns
# {added (1/0), then per window: count (-1: skipped), ms until its oldest failure leaves}.
_RESERVE = """
local now = tonumber(ARGV[1])
local n = #KEYS - 1
local trusted = KEYS[n + 1] ~= "" and redis.call("EXISTS", KEYS[n + 1]) == 1
local result = {1}
local full = false
for i = 1, n do
  local limit = tonumber(ARGV[2 + 3 * i - 2])
  local window = tonumber(ARGV[2 + 3 * i - 1])
  if trusted and ARGV[2 + 3 * i] == "1" then
    table.insert(result, -1)
    table.insert(result, 0)
  else
    redis.call("ZREMRANGEBYSCORE", KEYS[i], "-inf", now - window)
    local count = redis.call("ZCARD", KEYS[i])
    local leaves = 0
    if count > 0 then
      local oldest = redis.call("ZRANGE", KEYS[i], 0, 0, "WITHSCORES")
      leaves = tonumber(oldest[2]) + window - now
    end
    if count >= limit then full = true end
    table.insert(result, count)
    table.insert(result, leaves)
  end
end
if full or ARGV[2] == "" then
  if full then result[1] = 0 end
  return result
end
for i = 1, n do
  if result[2 * i] ~= -1 then
    redis.call("ZADD", KEYS[i], now, ARGV[2])
    redis.call("PEXPIRE", KEYS[i], tonumber(ARGV[2 + 3 * i - 1]))
  end
end
return result
"""


class RedisStore:
    """Failures counted in Redis, shared by every process and host. A call waits at most
    `timeout` seconds, twice (one retry of a dropped connection), then DependencyUnavailable."""

    PREFIX = "articles-api:"

    def __init__(self, url: str, timeout: float) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self._errors = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self._reserve = self.client.register_script(_RESERVE)

    def _call(self, call: Any) -> Any:
        try:
            return call()
        except self._errors as error:
            raise DependencyUnavailable("Redis", type(error).__name__) from None

    def reserve(
        self, windows: Sequence[Window], member: str | None, trust_key: str | None
    ) -> tuple[bool, list[Counted | None]]:
        keys = [self.PREFIX + w.key for w in windows] + [
            "" if trust_key is None else self.PREFIX + trust_key
        ]
        arguments: list[Any] = [int(time.time() * 1000), member or ""]
        for window in windows:
            arguments += [
                window.policy.limit,
                window.policy.window * 1000,
                int(window.unless_trusted),
            ]
        result = self._call(lambda: self._reserve(keys=keys, args=arguments))
        counted: list[Counted | None] = []
        for i in range(len(windows)):
            count, leaves = int(result[1 + 2 * i]), float(result[2 + 2 * i])
            counted.append(None if count < 0 else Counted(count, leaves / 1000))
        return bool(result[0]), counted

    def release(self, keys: Sequence[str], member: str) -> None:
        def remove() -> None:
            with self.client.pipeline(transaction=False) as pipeline:
                for key in keys:
                    pipeline.zrem(self.PREFIX + key, member)
                pipeline.execute()

        self._call(remove)

    def trust(self, key: str, seconds: int) -> None:
        self._call(lambda: self.client.set(self.PREFIX + key, 1, ex=seconds))

    def ping(self) -> None:
        self._call(self.client.ping)
