"""Limits on failed authentication, per client address and per username."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from errors import TooManyRequests

Key = tuple[str, str]


class FailedLogins:
    """Counts failures in a moving window; in memory, or in Redis to share across processes."""

    def __init__(self, storage_uri: str, rate: str) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._rate = parse(rate)

    def check(self, keys: list[Key]) -> None:
        """TooManyRequests when any key has used up its failures, whatever the credentials."""
        for key in keys:
            if not self._limiter.test(self._rate, *key):
                reset = self._limiter.get_window_stats(self._rate, *key).reset_time
                raise TooManyRequests(max(1, math.ceil(reset - time.time())))

    def fail(self, keys: list[Key]) -> None:
        """Count one failure against every key."""
        for key in keys:
            self._limiter.hit(self._rate, *key)
