"""The breaking-change gate: `python -m contract.gate [--released DIR] [openapi/api.yaml]`.

It compares the contract with the highest version recorded in openapi/released/ (a release is a
copy of the spec saved there as <version>.yaml) and fails (exit 1) when
- the contract breaks a client of that release (contract.diff's rules, and Atlassian's
  openapi-diff where Node is installed) and `info.version`'s major number did not go up;
- the contract differs from the release and `info.version` is not above the released one;
- the contract differs from the release and CHANGELOG.md beside it has no `## <info.version>`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from contract.diff import Change, breaking_changes

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_DIFF = ROOT / "node_modules" / ".bin" / "openapi-diff"
VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass
class Verdict:
    """What the gate found, and the report it prints."""

    failures: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    own: list[Change] = field(default_factory=list)
    openapi_diff: list[str] | None = None  # None: not run

    @property
    def ok(self) -> bool:
        return not self.failures

    def report(self) -> str:
        verdict = ["contract gate: ok"] if self.ok else [f"FAILED: {f}" for f in self.failures]
        return "\n".join([*self.lines, *verdict])


def load(path: Path) -> dict[str, Any]:
    """A YAML or JSON document as a dict."""
    document: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return document


def version(text: Any) -> tuple[int, int, int]:
    """A MAJOR.MINOR.PATCH version as a tuple; ValueError for anything else."""
    match = VERSION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a MAJOR.MINOR.PATCH version")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def latest_release(released: Path) -> Path:
    """The released copy with the highest version."""
    copies = [path for path in released.glob("*.yaml") if VERSION.match(path.stem)]
    if not copies:
        raise FileNotFoundError(f"no <version>.yaml in {released}")
    return max(copies, key=lambda path: version(path.stem))


def has_changelog_entry(changelog: Path, release: str) -> bool:
    """True when the changelog has a `## <release>` heading (`## 2.0.0 (2026-12-02)` counts)."""
    if not changelog.is_file():
        return False
    heading = re.compile(rf"^##\s+\[?{re.escape(release)}\]?(\s|$)", re.MULTILINE)
    return heading.search(changelog.read_text(encoding="utf-8")) is not None


def run_openapi_diff(base: Path, head: Path) -> list[str] | str:
    """openapi-diff's breaking differences as `code at location` lines, or why it did not run."""
    tool = OPENAPI_DIFF
    if not tool.exists():
        return f"{tool.relative_to(ROOT)} is missing (make node_modules/.installed installs it)"
    if shutil.which("node") is None:
        return "node is not installed"
    # Its report goes to a file: through a pipe it is cut at 64 KiB (it exits before the flush).
    with tempfile.TemporaryFile("w+", encoding="utf-8") as report:
        result = subprocess.run(  # noqa: S603 (our pinned tool, our files)
            [str(tool), str(base), str(head)], stdout=report, stderr=subprocess.PIPE, check=False
        )
        report.seek(0)
        output = report.read()
    start = output.find("{")
    if result.returncode not in (0, 1) or (result.returncode == 1 and start < 0):
        error = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"openapi-diff failed ({result.returncode}): {error}")
    if result.returncode == 0:
        return []
    differences = json.loads(output[start:])["breakingDifferences"]
    return [openapi_diff_line(difference) for difference in differences]


def openapi_diff_line(difference: dict[str, Any]) -> str:
    """One of openapi-diff's breaking differences as `code at location`."""
    details = difference.get("sourceSpecEntityDetails") or difference.get(
        "destinationSpecEntityDetails"
    )
    location = details[0]["location"] if details else "?"
    return f"{difference['code']} at {location}"


def check(
    spec_path: Path,
    released: Path,
    changelog: Path,
    use_openapi_diff: bool = True,
) -> Verdict:
    """Compare spec_path with the latest release in `released`; the verdict says why it fails."""
    verdict = Verdict()
    base_path = latest_release(released)
    base, head = load(base_path), load(spec_path)
    base_version, head_version = base["info"]["version"], head["info"]["version"]
    verdict.lines.append(
        f"contract gate: {spec_path} ({head_version}) against {base_path} ({base_version})"
    )

    verdict.own = breaking_changes(base, head)
    verdict.lines.append(f"breaking changes (contract.diff): {len(verdict.own)}")
    verdict.lines += [f"  {change}" for change in verdict.own]
    if use_openapi_diff:
        found = run_openapi_diff(base_path, spec_path)
        if isinstance(found, str):
            verdict.lines.append(f"openapi-diff skipped: {found}; contract.diff's rules still ran")
        else:
            verdict.openapi_diff = found
            verdict.lines.append(f"breaking changes (openapi-diff): {len(found)}")
            verdict.lines += [f"  {line}" for line in found]
    else:
        verdict.lines.append("openapi-diff not run (--no-openapi-diff)")

    if base == head:
        verdict.lines.append(f"the contract is the released {base_version}")
        return verdict
    if version(head_version) <= version(base_version):
        verdict.failures.append(
            f"the contract differs from the released {base_version}, "
            f"so info.version ({head_version}) must be above it"
        )
    breaking = bool(verdict.own or verdict.openapi_diff)
    if breaking and version(head_version)[0] <= version(base_version)[0]:
        verdict.failures.append(
            f"breaking changes against the released {base_version}: undo them, "
            f"or raise info.version's major number ({head_version})"
        )
    elif breaking:
        verdict.lines.append(f"breaking changes allowed: {head_version} raises the major version")
    if not has_changelog_entry(changelog, str(head_version)):
        verdict.failures.append(
            f"the contract changed since {base_version}, and {changelog} has no "
            f"'## {head_version}' section saying how"
        )
    return verdict


def main(argv: list[str] | None = None) -> int:
    """The command line; 0 when the gate passes, 1 when it fails, 2 on a usage error."""
    parser = argparse.ArgumentParser(
        prog="python -m contract.gate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("spec", nargs="?", type=Path, default=Path("openapi/api.yaml"))
    parser.add_argument(
        "--released", type=Path, help="released copies (default: released/ beside spec)"
    )
    parser.add_argument("--changelog", type=Path, help="default: CHANGELOG.md beside spec")
    parser.add_argument("--no-openapi-diff", action="store_true", help="only contract.diff's rules")
    args = parser.parse_args(argv)
    try:
        verdict = check(
            args.spec,
            args.released or args.spec.parent / "released",
            args.changelog or args.spec.parent / "CHANGELOG.md",
            use_openapi_diff=not args.no_openapi_diff,
        )
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        print(f"contract gate: {error}", file=sys.stderr)
        return 2
    print(verdict.report())
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
