"""The TypeScript calling scripts in sdk/examples/, compiled and run against a live server.

Each script calls every operation of the spec through a client made by a stock generator from
/openapi.json, unmodified (typescript-fetch; openapi-typescript's types with openapi-fetch). Here
they are compiled with tsc --strict once per test run, into build/sdk/js/, and each runs with Node
against `live_server` behind Prism's validating proxy: it must exit 0, print a line for every
operation of the spec, and Prism must have seen nothing that breaks the contract.

One thing the scripts leave out, because Prism 5.14 cannot proxy it: bytes that are not UTF-8
(Prism decodes every body as UTF-8 text, stoplightio/prism#2349, pinned in
tests/contract/test_sdk.py), so their binary messages are control characters and UTF-8.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT_DIR, Prism, exclusive

EXAMPLES = ROOT_DIR / "sdk" / "examples"
TSC = ROOT_DIR / "node_modules" / ".bin" / "tsc"
SCRIPTS = ["typescript_fetch", "openapi_fetch"]
NODE = shutil.which("node") or "node"
GROUPS = {"index", "hello", "echo", "articles", "messages", "users", "tokens", "secrets", "health"}
CHECK = re.compile(r"ok (?P<group>\w+): (?P<method>GET|POST|PUT|PATCH|DELETE) (?P<path>/\S*) ")
# Every `x as T`, `<T>x` and `x!` in a script: the scripts use the generated types as they are.
FIND_CASTS = """
const fs = require("node:fs");
const ts = require("typescript");
for (const file of process.argv.slice(1)) {
  const text = fs.readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    const cast = ts.isAsExpression(node) || ts.isTypeAssertionExpression(node);
    if (cast || ts.isNonNullExpression(node)) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      console.log(`${file}:${line + 1}: ${node.getText()}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
"""


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is under test is the generated clients and the contract; the server's
    PostgreSQL side has tests of its own (and tests/contract/test_fuzz.py, test_contract.py run
    on both)."""
    return f"sqlite:///{tmp_path / 'data' / 'app.db'}"


@pytest.fixture(scope="session")
def compiled(sdk_built: Path) -> Path:
    """build/sdk/js/: sdk/examples compiled by `tsc -p sdk/examples` once per test run, against
    the clients sdk_built generated for this run (keyed on the run id sdk_built wrote)."""
    out = sdk_built / "js"
    done = out / ".compiled"
    run_id = (sdk_built / ".built").read_text()
    with exclusive(sdk_built / ".lock"):
        if not done.exists() or done.read_text() != run_id:
            shutil.rmtree(out, ignore_errors=True)
            result = subprocess.run(
                [str(TSC), "-p", str(EXAMPLES)],
                cwd=ROOT_DIR,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert result.returncode == 0, f"tsc -p sdk/examples:\n{result.stdout}{result.stderr}"
            done.write_text(run_id)
    return out


def spec_operations(spec: Path) -> set[tuple[str, str]]:
    """Every (METHOD, path) of the spec the clients were generated from."""
    methods = {"get", "post", "put", "patch", "delete"}
    paths = json.loads(spec.read_text(encoding="utf-8"))["paths"]
    return {
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method in methods
    }


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_script_calls_every_operation_through_prism(
    script: str, compiled: Path, through_prism: Prism
) -> None:
    """`node build/sdk/js/sdk/examples/<script>.js` against the live server behind Prism."""
    result = subprocess.run(
        [NODE, str(compiled / "sdk" / "examples" / f"{script}.js")],
        env={
            "PATH": os.environ["PATH"],
            "ARTICLES_API_URL": through_prism.base_url,
            "ADMIN_PASSWORD": "secret",  # the development admin of the test settings
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = f"{result.stdout}{result.stderr}"
    assert result.returncode == 0, output
    checks = [match for line in result.stdout.splitlines() if (match := CHECK.match(line))]
    assert {check["group"] for check in checks} == GROUPS, output
    called = {(check["method"], check["path"]) for check in checks}
    assert spec_operations(compiled.parent / "openapi.json") - called == set(), output
    assert result.stdout.splitlines()[-1].endswith(
        "every check passed against " + through_prism.base_url
    )
    assert through_prism.violations() == []


def test_the_scripts_have_no_casts(sdk_built: Path) -> None:
    """Neither script needs `as`, `<T>` or `!` to use what the generators made."""
    scripts = [str(EXAMPLES / f"{script}.ts") for script in SCRIPTS]
    result = subprocess.run(
        [NODE, "-e", FIND_CASTS, *scripts],
        cwd=ROOT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == ""
