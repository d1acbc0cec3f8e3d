"""`st run URL/openapi.json` from the repository root, as the README tells a user to run it.

The root schemathesis.toml holds everything (every check, the development admin, the hooks,
the statuses the API legitimately answers), and the service's failed-login limits stay at their
production defaults: the run must find nothing and never be rate limited.

Measured by hand on 2026-12-02, schemathesis 4.32.5, the full default run (no options at all)
against `make run` on a fresh database, 2 shared cores: 2,762 test cases in 380 s, "No issues
found" (0 failures, no warnings), not one 429 in the server's log. Here `--max-examples 10` and
a fixed seed keep CI quick and repeatable.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from schemathesis.config import SchemathesisConfig
from schemathesis.config._warnings import DEFAULT_DISPLAYED_WARNINGS

from settings import Settings
from tests import fuzzing
from tests.conftest import serving

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "schemathesis.toml"
SEED = 20121126


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is under test is the root config as a user runs it;
    tests/contract/test_fuzz.py runs the CLI against both databases."""
    return f"sqlite:///{tmp_path / 'data' / 'app.db'}"


def st() -> list[str]:
    script = Path(sys.executable).with_name("st")
    return [str(script)] if script.exists() else [sys.executable, "-m", "schemathesis.cli"]


def test_the_root_config_is_what_the_readme_says() -> None:
    config = SchemathesisConfig.from_path(str(CONFIG)).projects.default
    assert config.auth.basic == ("admin", "secret")  # `make run`'s admin
    assert config.hooks == "tests/fuzz_hooks.py" and (ROOT / config.hooks).is_file()
    raw = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert raw["checks"]["enabled"] is True
    statuses = config.checks.positive_data_acceptance.expected_statuses
    assert statuses == list(fuzzing.EXPECTED_STATUSES)
    # One narrow exception: the "schema validation mismatch" warning (and missing_test_data,
    # without which schemathesis 4.32 cannot turn it off), for the three conditional writes
    # only; every other warning still shows there.
    (writes,) = raw["operations"]
    assert writes["include-path"] == "/articles/{articleId}"
    assert writes["include-method"] == ["PUT", "PATCH", "DELETE"]
    (operations,) = config.operations.operations
    hidden = set(DEFAULT_DISPLAYED_WARNINGS) - set(operations.warnings.display)
    assert {str(warning) for warning in hidden} == {"validation_mismatch", "missing_test_data"}


@pytest.fixture
def make_run(settings: Settings) -> Iterator[str]:
    """A live server like `make run`'s: the development profile, the default limits."""
    assert settings.auth_failure_limit == "5/minute"
    assert settings.auth_account_failure_limit == "20/minute"
    with serving(settings) as base_url:
        yield base_url


def test_st_run_with_the_root_config_finds_nothing(make_run: str) -> None:
    result = subprocess.run(
        [*st(), "run", f"{make_run}/openapi.json", "--max-examples", "10", "--seed", str(SEED)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert f"Configuration:    {CONFIG}" in output, output
    assert result.returncode == 0, output
    assert "Failures:" not in output and "Errors:" not in output, output
    assert "Rate limited" not in output and "Too Many Requests" not in output, output
    assert "Warnings:" not in output, output
