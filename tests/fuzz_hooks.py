"""Schemathesis hooks: for tests/fuzzing.py (SCHEMATHESIS_HOOKS=tests.fuzz_hooks), and for
`st run` from the repository root (the `hooks` key of schemathesis.toml).

A fresh Idempotency-Key for every request that sends a valid one. Hypothesis draws the same
few UUIDs again and again, so without this a generated request with another body gets the
422 a reused key deserves, and one with the same body the replay of a resource that a later
step deleted (ST302, "created resource not found"): right answers to a retry, which fuzzing
is not. tests/api/test_idempotency.py tests retries; invalid keys are left as generated.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import MutableMapping
from typing import Any

import schemathesis

HEADER = "Idempotency-Key"
UUID = re.compile(r'^"?[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"?$')


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Send a key no request sent before, where the case has a valid one."""
    headers = case.headers
    if not isinstance(headers, MutableMapping):
        return
    for name in [name for name in headers if name.lower() == HEADER.lower()]:
        if UUID.match(str(headers[name])):
            headers[name] = str(uuid.uuid4())
