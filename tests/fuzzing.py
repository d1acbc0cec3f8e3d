"""Schemathesis' CLI at full strength against a running server, and what its reports say.

Every check, every phase (examples, coverage, fuzzing, stateful), positive and negative data, as
the admin. Shared by tests/contract/test_fuzz.py (a fixed seed, in CI) and `make fuzz` (more
examples, a random seed, for humans), which runs this module:

    python -m tests.fuzzing --base-url http://127.0.0.1:8099 --max-examples 300 --out build/fuzz
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "admin:secret"
# What a schema-valid request may get, as in test_contract.py (test_fuzz.py checks they agree):
# a schema-valid If-Match is still a precondition, so 412 and 428 are legitimate answers; a
# schema-valid Idempotency-Key may have been used for another request already (422).
EXPECTED_STATUSES = (
    "2xx", "3xx", "401", "403", "404", "409", "412", "422", "428", "429", "5xx"
)  # fmt: skip
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Steps per stateful scenario (schemathesis' default is 6): room for create, read, update,
# delete and a read of what was deleted, plus the auth checks' extra requests, in one scenario.
STATEFUL_MAX_STEPS = 10
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string


def config_text(*, stateful_examples: int) -> str:
    """The config file: the accepted statuses above, and a deeper stateful phase.

    The crash cache is off: it replays earlier runs' requests, and a run should depend only on
    its seed. Hypothesis' too_slow health check is off: it times the generation of data on this
    machine (it failed POST /articles at load averages of 6-9 on 2 cores, and passed when the
    machine was idle), which says nothing of the API.
    """
    statuses = ", ".join(_toml_string(status) for status in EXPECTED_STATUSES)
    return (
        'suppress-health-check = ["too_slow"]\n'
        "\n"
        "[cache]\n"
        "enabled = false\n"
        "\n"
        "[checks.positive_data_acceptance]\n"
        f"expected-statuses = [{statuses}]\n"
        "\n"
        "[phases.stateful]\n"
        f"max-steps = {STATEFUL_MAX_STEPS}\n"
        "\n"
        "[phases.stateful.generation]\n"
        f"max-examples = {stateful_examples}\n"
    )


def _executable() -> list[str]:
    script = Path(sys.executable).with_name("schemathesis")
    return [str(script)] if script.exists() else [sys.executable, "-m", "schemathesis.cli"]


def command(
    *,
    base_url: str,
    out: Path,
    max_examples: int,
    seed: int | None,
    reports: Sequence[str] = ("junit", "json"),
    schema: str | None = None,
) -> list[str]:
    """The CLI's argv; `out` receives the config file and the reports."""
    argv = [
        *_executable(),
        "--config-file",
        str(out / "schemathesis.toml"),
        "run",
        schema or f"{base_url}/openapi.json",
        "--url",
        base_url,
        "--checks",
        "all",
        "--phases",
        ",".join(PHASES),
        "--mode",
        "all",
        "--auth",
        ADMIN,
        "--max-examples",
        str(max_examples),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--wait-for-schema",
        "30",
        "--no-color",
        "--report",
        ",".join(reports),
        "--report-dir",
        str(out / "report"),
    ]
    if seed is not None:
        argv += ["--seed", str(seed)]
    return argv


def prepare(out: Path, *, stateful_examples: int) -> None:
    """Write the config file into `out`, and clear the reports of an earlier run."""
    (out / "report").mkdir(parents=True, exist_ok=True)
    for old in (out / "report").iterdir():
        if old.is_file():
            old.unlink()
    (out / "schemathesis.toml").write_text(config_text(stateful_examples=stateful_examples))


def report_file(out: Path, kind: str) -> Path:
    """The one report of this kind the run wrote (`junit`, `json`, `ndjson`)."""
    suffix = {"junit": "xml"}.get(kind, kind)
    found = sorted((out / "report").glob(f"{kind}-*.{suffix}"))
    assert len(found) == 1, f"expected one {kind} report in {out / 'report'}, found {found}"
    return found[0]


def spec_operations(spec: dict[str, Any]) -> set[str]:
    """Every operation in the spec, labelled as schemathesis labels them: `GET /articles`."""
    return {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def spec_links(spec: dict[str, Any]) -> dict[str, str]:
    """Every OpenAPI link: its name mapped to the operation it starts from."""
    links = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for response in operation.get("responses", {}).values():
                for name in response.get("links", {}):
                    links[name] = f"{method.upper()} {path}"
    return links


def junit_testcases(path: Path) -> dict[str, list[str]]:
    """Each JUnit test case's name and the tags of its failures and errors."""
    root = ElementTree.parse(path).getroot()  # noqa: S314 (our own report)
    return {
        case.attrib["name"]: [child.tag for child in case if child.tag in ("failure", "error")]
        for case in root.iter("testcase")
    }


@dataclass
class Step:
    """One request of a stateful scenario, in the order it was sent."""

    method: str
    path: str
    status: int
    link: str | None  # the spec link it followed, when it sent the values the link extracted


@dataclass
class Summary:
    """What the run did, from the NDJSON event stream."""

    cases: Counter[tuple[str, str]] = field(default_factory=Counter)  # (phase, mode) -> count
    checks: set[str] = field(default_factory=set)  # the checks that ran on some response
    scenarios: int = 0  # stateful ones, each a chain of steps
    steps: int = 0
    links: Counter[tuple[str, int]] = field(default_factory=Counter)  # (link, status) -> count
    reads_after_delete: Counter[int] = field(default_factory=Counter)  # status -> count

    def link_statuses(self, *names: str) -> set[int]:
        return {status for (link, status) in self.links if link in names}


def _steps(recorder: dict[str, Any]) -> Iterator[Step]:
    cases, interactions = recorder["cases"], recorder.get("interactions", {})
    for case_id in sorted(interactions, key=lambda case_id: interactions[case_id]["timestamp"]):
        interaction, transition = interactions[case_id], cases[case_id].get("transition")
        path = urlsplit(interaction["request"]["uri"]).path
        link = None
        if transition and not transition["is_inferred"]:
            # "POST /articles -> [201] GetArticle -> GET /articles/{articleId}"
            values = transition["parameters"].get("path_parameters", {}).values()
            if values and all(path.endswith(f"/{value['value']}") for value in values):
                link = transition["id"].split(" -> ")[1].split("] ", 1)[1]
        status = interaction["response"]["status_code"]
        yield Step(interaction["request"]["method"], path, status, link)


def summarize(ndjson: Path) -> Summary:
    """Test cases by phase and mode, checks run, and the stateful scenarios' steps."""
    summary = Summary()
    with ndjson.open(encoding="utf-8") as events:
        for line in events:
            event = json.loads(line).get("ScenarioFinished")
            if not event or not event["recorder"].get("cases"):
                continue
            recorder, phase = event["recorder"], event["phase"]
            for case in recorder["cases"].values():
                summary.cases[(phase, case["value"]["meta"]["generation"]["mode"])] += 1
            for results in recorder.get("checks", {}).values():
                summary.checks.update(result["name"] for result in results)
            if phase != "stateful":
                continue
            summary.scenarios += 1
            deleted: set[str] = set()
            for step in _steps(recorder):
                summary.steps += 1
                if step.link:
                    summary.links[(step.link, step.status)] += 1
                if step.method == "DELETE" and 200 <= step.status < 300:
                    deleted.add(step.path)
                elif step.method == "GET" and step.path in deleted:
                    summary.reads_after_delete[step.status] += 1
    return summary


def run(
    *,
    base_url: str,
    out: Path,
    max_examples: int,
    stateful_examples: int,
    seed: int | None,
    reports: Sequence[str] = ("junit", "json"),
    schema: str | None = None,
    capture: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI against `base_url`, from `out` (where anything it writes goes)."""
    prepare(out, stateful_examples=stateful_examples)
    argv = command(
        base_url=base_url,
        out=out.resolve(),
        max_examples=max_examples,
        seed=seed,
        reports=reports,
        schema=schema,
    )
    print("$", shlex.join(argv), flush=True)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        argv, cwd=out, env=env, capture_output=capture, text=True, encoding="utf-8", check=False
    )


def main(args: Sequence[str] | None = None) -> int:
    """`make fuzz`: run the CLI against a server already listening; its exit code."""
    parser = argparse.ArgumentParser(prog="python -m tests.fuzzing", description=__doc__)
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8099")
    parser.add_argument("--out", type=Path, required=True, help="config and reports go here")
    parser.add_argument("--max-examples", type=int, default=300)
    parser.add_argument("--stateful-examples", type=int, help="default: --max-examples")
    parser.add_argument("--seed", type=int, help="default: random (the CLI prints it)")
    parser.add_argument("--schema", help="default: the server's /openapi.json")
    options = parser.parse_args(args)
    options.out.mkdir(parents=True, exist_ok=True)
    result = run(
        base_url=options.base_url,
        out=options.out,
        max_examples=options.max_examples,
        stateful_examples=options.stateful_examples or options.max_examples,
        seed=options.seed,
        schema=options.schema,
        capture=False,
    )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
