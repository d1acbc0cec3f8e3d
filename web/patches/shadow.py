"""Shadow checks for the fast paths that stand in for connexion's own per-request code.

With `VERIFY` on (tests/conftest.py turns it on for the whole suite, schemathesis runs
included), each fast path also computes what connexion's code would have, and any difference
is recorded in `MISMATCHES` and raised. Off in the service: the fast paths then run alone.
"""

from __future__ import annotations

import typing as t

VERIFY = False
MISMATCHES: list[str] = []


def same(a: t.Any, b: t.Any) -> bool:
    """Equal, and of the same types all the way down (1 == 1.0 == True in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def check(what: str, ours: t.Any, theirs: t.Any) -> None:
    """Record and raise a difference between a fast path's answer and connexion's."""
    if not same(ours, theirs):
        mismatch = f"{what}: fast path gave {ours!r}, connexion {theirs!r}"
        MISMATCHES.append(mismatch)
        raise AssertionError(mismatch)
