"""Argon2id password hashes, a bounded number at a time, and recently checked credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from errors import Unavailable


class Passwords:
    """Hashes and verifies passwords; a missing hash costs as much as a wrong password.

    Each Argon2id computation holds `memory_kib` of memory for its ~0.1 s: at most `concurrency`
    run at once (a burst of a hundred would take gigabytes), and one that waits more than
    `wait_seconds` for its turn is refused (503) instead of queueing without bound.
    """

    def __init__(
        self,
        *,
        time_cost: int = 3,
        memory_kib: int = 65536,
        concurrency: int = 2,
        wait_seconds: float = 5.0,
    ) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._turns = threading.BoundedSemaphore(concurrency)
        self._wait = wait_seconds
        self._dummy: str | None = None

    @contextmanager
    def _turn(self) -> Iterator[None]:
        if not self._turns.acquire(timeout=self._wait):
            raise Unavailable(
                "Too many password checks are under way; try again in a second.", retry_after=1
            )
        try:
            yield
        finally:
            self._turns.release()

    @property
    def _dummy_hash(self) -> str:
        """A hash no password matches, with this hasher's cost: verifying against it costs what
        a real check does. Made up rather than hashed, so that no first check pays for making
        it (a timing tell that a username does not exist)."""
        if self._dummy is None:
            hasher = self._hasher

            def b64(size: int) -> str:
                return base64.b64encode(os.urandom(size)).decode("ascii").rstrip("=")

            self._dummy = (
                f"$argon2id$v=19$m={hasher.memory_cost},t={hasher.time_cost},"
                f"p={hasher.parallelism}${b64(hasher.salt_len)}${b64(hasher.hash_len)}"
            )
        return self._dummy

    def hash(self, password: str) -> str:
        """A new Argon2id hash of the password."""
        with self._turn():
            return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether the password matches; with no hash, verify a dummy so timing reveals nothing."""
        with self._turn():
            try:
                return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                    password_hash is not None
                )
            except (VerificationError, InvalidHashError):
                return False


class RecentChecks:
    """Verdicts of recent credential checks, so that a client sending the same credentials again
    is not hashed again: right ones kept `right_seconds` (AUTH_CACHE_SECONDS), wrong ones
    `wrong_seconds` (the longest failed-login window: as long as the failure they were counted
    as); 0 keeps none.

    Keyed by an HMAC-SHA256, under a key that never leaves this process, of the username, the
    password and the stored hash: the plaintext is never kept, and a changed password (a new
    hash) or a deleted user no longer matches. At most `capacity` verdicts, the oldest dropped.
    In this process only, even with REDIS_URL: a verdict another process lacks means one more
    check there, counted as any other, which is the safe direction.
    """

    def __init__(self, right_seconds: float, wrong_seconds: float, capacity: int = 10_000) -> None:
        self._seconds = {True: right_seconds, False: wrong_seconds}
        self._capacity = capacity
        self._key = os.urandom(32)
        self._lock = threading.Lock()
        self._verdicts: OrderedDict[bytes, tuple[bool, float]] = OrderedDict()

    def fingerprint(self, username: str, password: str, stored_hash: str | None) -> bytes:
        """What the verdict of these credentials is kept under."""
        message = "\x00".join((username, password, stored_hash or "")).encode(
            "utf-8", "surrogateescape"
        )
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def verdict(self, fingerprint: bytes) -> bool | None:
        """True: verified recently as right; False: as wrong; None: not known."""
        with self._lock:
            found = self._verdicts.get(fingerprint)
            if found is None:
                return None
            if found[1] <= time.monotonic():
                del self._verdicts[fingerprint]
                return None
            return found[0]

    def remember(self, fingerprint: bytes, right: bool) -> None:
        """Keep a verdict for as long as verdicts of its kind are kept."""
        seconds = self._seconds[right]
        if seconds <= 0:
            return
        with self._lock:
            self._verdicts[fingerprint] = (right, time.monotonic() + seconds)
            self._verdicts.move_to_end(fingerprint)
            while len(self._verdicts) > self._capacity:
                self._verdicts.popitem(last=False)
