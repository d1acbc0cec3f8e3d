"""Changes to a library's behaviour, one module per patch.

Each module opens by naming the upstream symbol and version it changes, why (the upstream
issues), what it costs or gains as measured, and when to delete it; tests/test_patches.py fails
when the upstream code it relies on changes. (web.fastpath, connexion's per-request shortcuts,
predates this package and keeps its own fingerprints in tests/test_fastpath.py.)
"""
