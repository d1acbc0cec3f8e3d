"""Schemathesis' CLI against a real server: every check, every phase, stateful chains included.

test_contract.py runs schemathesis in-process, one request at a time; this adds the stateful
phase, which follows the spec's OpenAPI links from the POSTs: create, read, update, delete, and a
read of what was deleted must get 404. A fixed seed, so CI reruns the same requests; `make fuzz`
runs the same thing deeper with a random seed. The CLI's reports are checked too, not only its
exit code: every operation and every check exercised, the stateful chains really followed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import fuzzing
from tests.contract.test_contract import CONFIG as CONTRACT_CONFIG

SEED = 20121126
MAX_EXAMPLES = 20
STATEFUL_EXAMPLES = 150
CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
}
# Found by this run and fixed, each with a regression test of its own: a text/plain message that
# reads as JSON answered 500 under response validation; an empty uploaded file answered 400;
# SQLite reused deleted ids (a deleted /articles/N came back with ETag "1"); POST /tokens' links
# were malformed, which stopped the stateful phase.


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only, for CI's time (a run is over a minute): schemathesis fuzzes PostgreSQL
    in-process in tests/contract/test_contract.py, and what only PostgreSQL refuses (NUL bytes, long
    file names) has tests of its own on both databases."""
    return f"sqlite:///{tmp_path / 'data' / 'app.db'}"


def assert_thorough(out: Path, spec: dict[str, Any]) -> fuzzing.Summary:
    """The reports in `out` show a clean run that tested everything, statefully too."""
    report = json.loads(fuzzing.report_file(out, "json").read_text(encoding="utf-8"))
    assert report["exit_code"] == 0 and report["complete"], report
    assert report["failures"] == [] and report["errors"] == [], report
    phases = {name: phase["status"] for name, phase in report["phases"].items()}
    assert phases == dict.fromkeys(fuzzing.PHASES, "success"), phases
    operations = fuzzing.spec_operations(spec)
    counts = report["operations"]
    assert counts["total"] == counts["selected"] == counts["tested"] == len(operations), counts
    assert counts["errored"] == counts["skipped"] == 0, counts

    # One JUnit test case per operation in the spec, plus the stateful phase's.
    testcases = fuzzing.junit_testcases(fuzzing.report_file(out, "junit"))
    assert set(testcases) == operations | {"Stateful tests"}, set(testcases) ^ operations
    assert not any(testcases.values()), testcases

    summary = fuzzing.summarize(fuzzing.report_file(out, "ndjson"))
    assert summary.checks >= CHECKS, CHECKS - summary.checks
    for phase in ("coverage", "fuzzing", "stateful"):
        for mode in ("positive", "negative"):
            assert summary.cases[(phase, mode)] > 0, (phase, mode, summary.cases)
    assert summary.scenarios >= 10 and summary.steps >= 50, summary
    # The article links were followed with the values they extracted: a read (200, or 304 for
    # an If-None-Match it still held), or a change or delete with its ETag (2xx, or 412 when a
    # step in between changed the article, or the create was a replay); which ones a seed's
    # scenarios reach varies, that one of them succeeded does not.
    links = fuzzing.spec_links(spec)
    names = ("GetArticle", "PutArticle", "PatchArticle", "DeleteArticle")
    assert set(names) <= set(links), f"{names} left the spec"
    assert summary.link_statuses(*names) & {200, 204, 304}, summary.links
    # Reads of what a scenario deleted before: gone for good.
    assert set(summary.reads_after_delete) <= {404}, summary.reads_after_delete
    return summary


def test_accepts_what_the_contract_test_accepts() -> None:
    expected = CONTRACT_CONFIG["checks"]["positive_data_acceptance"]["expected-statuses"]
    assert list(fuzzing.EXPECTED_STATUSES) == expected


def test_schemathesis_finds_nothing(live_server: str, tmp_path: Path) -> None:
    """At the default failed-login limits: its fixed invalid credentials count once."""
    result = fuzzing.run(
        base_url=live_server,
        out=tmp_path,
        max_examples=MAX_EXAMPLES,
        stateful_examples=STATEFUL_EXAMPLES,
        seed=SEED,
        reports=("junit", "json", "ndjson"),
    )
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"schemathesis failed (exit {result.returncode}):\n{output}"
    spec = httpx.get(f"{live_server}/openapi.json").json()
    summary = assert_thorough(tmp_path, spec)
    print(  # shown with -rP: what this run amounted to
        f"{sum(summary.cases.values())} test cases, {summary.scenarios} stateful scenarios of "
        f"{summary.steps} steps; links followed: {dict(summary.links)}"
    )
