"""Patch: connexion imported without the modules it needs only for tests or unused features.

Replaces: the module-level imports of `starlette.testclient` (connexion 3.3.0's
connexion/apps/abstract.py, for `App.test_client()`), `httpx` (connexion/security.py, for OAuth2
token introspection, which our spec does not use) and `requests` (connexion/json_schema.py, for
remote `$ref`s, which our spec has none of). While connexion is imported, stand-ins take their
place in `sys.modules`; each imports the real module the first time it is used.
Why: written for start time (about 0.2 s of a 1 s start, measured in 2026-11, for each
gunicorn worker, each `make run`, each server a test starts); and starlette 1.10's testclient
warns on import that it wants httpx2, a warning every start would print. No upstream issue asks
for lazy imports yet (spec-first/connexion's tracker searched, 2026-12-02).
Gain: no warning on every start. The start time it was written for is not measurable here now:
on 2026-12-02 a gunicorn worker started in 1.53 s without it and 1.62-1.70 s with it (median of
three starts each; starts of one build spread by 0.2 s).
Must run before anything imports connexion: app.py and deploy/gunicorn.conf.py import it first.
Delete when: connexion imports these where it uses them; tests/test_patches_connexion.py
checks every line of connexion naming them is still an import plus one use inside a function.
"""

from __future__ import annotations

import importlib
import sys
import types


class _Deferred(types.ModuleType):
    """Stands in for a module while connexion is imported; imports it when first used."""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):  # the import system's probes (`__path__`), not a use
            raise AttributeError(name)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


def _test_client(*args: object, **kwargs: object) -> object:
    """connexion's `TestClient(app, **kwargs)`: Starlette's test client, imported on first use."""
    from starlette.testclient import TestClient

    return TestClient(*args, **kwargs)  # type: ignore[arg-type]


DEFERRED_BY_CONNEXION = {
    "connexion.apps.abstract": "starlette.testclient",
    "connexion.security": "httpx",
    "connexion.json_schema": "requests",
}


def _import_connexion() -> None:
    """Import connexion with stand-ins for the modules in DEFERRED_BY_CONNEXION."""
    if "connexion" in sys.modules:
        return  # imported already: nothing left to defer
    testclient = _Deferred("starlette.testclient")
    testclient.TestClient = _test_client  # type: ignore[attr-defined]
    stand_ins = [testclient, _Deferred("httpx"), _Deferred("requests")]
    for stand_in in stand_ins:
        sys.modules.setdefault(stand_in.__name__, stand_in)
    try:
        for module in DEFERRED_BY_CONNEXION:
            importlib.import_module(module)
    finally:
        for stand_in in stand_ins:
            if sys.modules.get(stand_in.__name__) is stand_in:
                del sys.modules[stand_in.__name__]


_import_connexion()
