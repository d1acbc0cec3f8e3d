"""The factory is the only entry: importing a module of the service builds no app, reads no
environment and never exits; only a server (`python app.py`, uvicorn --factory, gunicorn's
`app:create_app()`) calls create_app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT_DIR

IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
names = ["app", "settings", "errors"]
for package in ("auth", "handlers", "store", "web"):
    module = importlib.import_module(package)
    names += [m.name for m in pkgutil.walk_packages(module.__path__, package + ".")]
for name in names:
    importlib.import_module(name)
import app
print(len(names), hasattr(app, "app"), type(app.create_app).__name__)
"""


def test_importing_every_module_builds_nothing_and_never_exits() -> None:
    """With settings the service refuses (APP_ENV=bogus), every module still imports: none
    reads them. (app.py used to build `app` at import, and exit there.)"""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING],
        cwd=ROOT_DIR,
        env={"PATH": os.environ["PATH"], "APP_ENV": "bogus", "DATABASE_URL": "nope://"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    count, has_app, factory = done.stdout.split()
    assert int(count) > 30
    assert (has_app, factory) == ("False", "function")


def test_python_app_py_still_says_what_is_wrong_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT_DIR,
        env={"PATH": os.environ["PATH"], "APP_ENV": "bogus"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert (
        done.stderr == "articles-api: APP_ENV must be one of development, production, got 'bogus'\n"
    )


def test_a_start_prints_no_warning(tmp_path: Path) -> None:
    """connexion imports starlette's test client at start, which warns that it wants httpx2
    whenever only httpx is installed: httpx2 is a dependency, so nothing is printed."""
    done = subprocess.run(
        [sys.executable, "-c", "import app; app.create_app()"],
        cwd=ROOT_DIR,
        env={
            "PATH": os.environ["PATH"],
            "DATABASE_URL": f"sqlite:///{tmp_path}/app.db",
            "LOG_FILE": str(tmp_path / "app.log"),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
