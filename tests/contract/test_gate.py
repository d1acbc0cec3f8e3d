"""The breaking-change gate (contract.gate) on mutations of the real spec.

Each mutation changes openapi/api.yaml in memory. A breaking one must fail the gate and name its
rule; an additive one must pass. The table also records whether Atlassian's openapi-diff alone
sees each one, and a test checks that record, so the tool's blind spots are known, not assumed.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contract import gate
from contract.diff import breaking_changes

ROOT = Path(__file__).resolve().parents[2]
Spec = dict[str, Any]


@dataclass(frozen=True)
class Mutation:
    name: str
    change: Callable[[Spec], None]
    rule: str | None  # the rule it breaks; None: additive
    openapi_diff_sees: bool  # does openapi-diff 0.24.1 report it as breaking?
    operation: tuple[str, str]  # (path, method): what openapi-diff is shown of both specs


def op(spec: Spec, path: str, method: str) -> Spec:
    operation: Spec = spec["paths"][path][method]
    return operation


def schema(spec: Spec, name: str) -> Spec:
    found: Spec = spec["components"]["schemas"][name]
    return found


def parameter(spec: Spec, name: str) -> Spec:
    found: Spec = spec["components"]["parameters"][name]
    return found


def hello_name(spec: Spec) -> Spec:
    found: Spec = op(spec, "/hello", "get")["parameters"][0]
    assert found["name"] == "name"
    return found


def articles_q(spec: Spec) -> Spec:
    [found] = [p for p in op(spec, "/articles", "get")["parameters"] if p.get("name") == "q"]
    return found


def remove_article_property(spec: Spec) -> None:
    del schema(spec, "Article")["properties"]["body"]
    schema(spec, "Article")["required"].remove("body")


def require_article_tags(spec: Spec) -> None:
    article_input = schema(spec, "ArticleInput")
    article_input["properties"]["tags"] = {"type": "array", "items": {"type": "string"}}
    article_input["required"].append("tags")


def add_required_header(spec: Spec) -> None:
    op(spec, "/hello", "get")["parameters"].append(
        {"name": "X-Tenant", "in": "header", "required": True, "schema": {"type": "string"}}
    )


def rename_hello_name(spec: Spec) -> None:
    hello_name(spec)["name"] = "who"


def add_comments_path(spec: Spec) -> None:
    spec["paths"]["/articles/{articleId}/comments"] = {
        "parameters": [{"$ref": "#/components/parameters/ArticleId"}],
        "get": {
            "operationId": "list_comments",
            "x-openapi-router-controller": "handlers.articles",
            "summary": "List an article's comments",
            "tags": ["articles"],
            "responses": {
                "200": {
                    "description": "The comments.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        },
    }


def add_sort_parameter(spec: Spec) -> None:
    op(spec, "/articles", "get")["parameters"].append(
        {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}}
    )


def add_response_header(spec: Spec) -> None:
    op(spec, "/hello", "get")["responses"]["200"]["headers"]["X-Greetings"] = {
        "schema": {"type": "integer"}
    }


def add_request_media_type(spec: Spec) -> None:
    content = op(spec, "/messages", "post")["requestBody"]["content"]
    content["text/csv"] = {"schema": {"type": "string", "minLength": 1}}


BREAKING = [
    Mutation(
        "path removed",
        lambda s: s["paths"].pop("/hello"),
        "path-removed",
        True,
        ("/hello", "get"),
    ),
    Mutation(
        "operation removed",
        lambda s: s["paths"]["/articles/{articleId}"].pop("delete"),
        "operation-removed",
        True,
        ("/articles/{articleId}", "delete"),
    ),
    Mutation(
        "operationId renamed",
        lambda s: op(s, "/hello", "get").update(operationId="say_hello"),
        "operationId-renamed",
        False,
        ("/hello", "get"),
    ),
    Mutation(
        "query parameter removed",
        lambda s: op(s, "/articles", "get")["parameters"].remove(articles_q(s)),
        "parameter-removed",
        False,
        ("/articles", "get"),
    ),
    Mutation(
        "query parameter renamed",
        rename_hello_name,
        "parameter-removed",
        False,
        ("/hello", "get"),
    ),
    Mutation(
        "required header parameter added",
        add_required_header,
        "required-parameter-added",
        False,
        ("/hello", "get"),
    ),
    Mutation(
        "parameter made required",
        lambda s: hello_name(s).update(required=True),
        "parameter-made-required",
        False,
        ("/hello", "get"),
    ),
    Mutation(
        "query maximum narrowed (limit 100 -> 50)",
        lambda s: parameter(s, "Limit")["schema"].update(maximum=50),
        "validation-narrowed",
        False,
        ("/articles", "get"),
    ),
    Mutation(
        "body minimum narrowed (expires_in 60 -> 300)",
        lambda s: schema(s, "TokenRequest")["properties"]["expires_in"].update(minimum=300),
        "validation-narrowed",
        True,
        ("/tokens", "post"),
    ),
    Mutation(
        "body maxLength narrowed (title 200 -> 100)",
        lambda s: schema(s, "Title").update(maxLength=100),
        "validation-narrowed",
        True,
        ("/articles", "post"),
    ),
    Mutation(
        "query minLength narrowed (q 1 -> 3)",
        lambda s: articles_q(s)["schema"].update(minLength=3),
        "validation-narrowed",
        False,
        ("/articles", "get"),
    ),
    Mutation(
        "query pattern added",
        lambda s: hello_name(s)["schema"].update(pattern="^[A-Za-z ]+$"),
        "validation-narrowed",
        False,
        ("/hello", "get"),
    ),
    Mutation(
        "enum value removed (scope users:admin)",
        lambda s: schema(s, "Scope")["enum"].remove("users:admin"),
        "enum-value-removed",
        False,
        ("/tokens", "post"),
    ),
    Mutation(
        "required request property added",
        require_article_tags,
        "required-property-added",
        True,
        ("/articles", "post"),
    ),
    Mutation(
        "response property removed",
        remove_article_property,
        "property-removed",
        True,
        ("/articles/{articleId}", "get"),
    ),
    Mutation(
        "response status removed (404)",
        lambda s: op(s, "/articles/{articleId}", "get")["responses"].pop("404"),
        "response-status-removed",
        True,
        ("/articles/{articleId}", "get"),
    ),
    Mutation(
        "response media type removed (text/plain)",
        lambda s: op(s, "/hello", "get")["responses"]["200"]["content"].pop("text/plain"),
        "response-media-type-removed",
        False,
        ("/hello", "get"),
    ),
    Mutation(
        "request media type removed (octet-stream)",
        lambda s: op(s, "/messages", "post")["requestBody"]["content"].pop(
            "application/octet-stream"
        ),
        "request-media-type-removed",
        False,
        ("/messages", "post"),
    ),
    Mutation(
        "response header removed (ETag)",
        lambda s: op(s, "/articles/{articleId}", "get")["responses"]["200"]["headers"].pop("ETag"),
        "response-header-removed",
        True,
        ("/articles/{articleId}", "get"),
    ),
    Mutation(
        "optional response header removed (Location)",
        lambda s: op(s, "/articles", "post")["responses"]["201"]["headers"].pop("Location"),
        "response-header-removed",
        False,
        ("/articles", "post"),
    ),
    Mutation(
        "security requirement added",
        lambda s: op(s, "/hello", "get").update(security=[{"basicAuth": []}]),
        "security-changed",
        False,
        ("/hello", "get"),
    ),
    Mutation(
        "security alternative dropped (bearer)",
        lambda s: op(s, "/articles", "post").update(security=[{"basicAuth": []}]),
        "security-changed",
        False,
        ("/articles", "post"),
    ),
    Mutation(
        "security scheme changed (basic -> digest)",
        lambda s: s["components"]["securitySchemes"]["basicAuth"].update(scheme="digest"),
        "security-changed",
        False,
        ("/secrets", "get"),
    ),
    Mutation(
        "parameter type changed (limit integer -> string)",
        lambda s: parameter(s, "Limit").update(schema={"type": "string"}),
        "type-changed",
        False,
        ("/articles", "get"),
    ),
    Mutation(
        "response type changed (number integer -> string)",
        lambda s: schema(s, "Hello")["properties"].update(number={"type": "string"}),
        "type-changed",
        True,
        ("/hello", "get"),
    ),
    Mutation(
        "nullable removed (filename)",
        lambda s: schema(s, "Message")["properties"]["filename"].pop("nullable"),
        "nullable-removed",
        False,
        ("/messages/{messageId}", "get"),
    ),
    Mutation(
        "response maximum widened (expires_in)",
        lambda s: schema(s, "IssuedToken")["properties"]["expires_in"].update(maximum=172800),
        "response-widened",
        True,
        ("/tokens", "post"),
    ),
]

ADDITIVE = [
    Mutation(
        "path added", add_comments_path, None, False, ("/articles/{articleId}/comments", "get")
    ),
    Mutation(
        "optional query parameter added", add_sort_parameter, None, False, ("/articles", "get")
    ),
    Mutation(
        "optional request property added",
        lambda s: schema(s, "ArticleInput")["properties"].update(summary={"type": "string"}),
        None,
        False,
        ("/articles", "post"),
    ),
    Mutation(
        "response property added",
        lambda s: schema(s, "Article")["properties"].update(summary={"type": "string"}),
        None,
        False,
        ("/articles/{articleId}", "get"),
    ),
    Mutation(
        "response status added (429)",
        lambda s: op(s, "/hello", "get")["responses"].update(
            {"429": {"$ref": "#/components/responses/TooManyRequests"}}
        ),
        None,
        False,
        ("/hello", "get"),
    ),
    Mutation("response header added", add_response_header, None, False, ("/hello", "get")),
    Mutation(
        "request validation widened (limit 100 -> 200)",
        lambda s: parameter(s, "Limit")["schema"].update(maximum=200),
        None,
        False,
        ("/articles", "get"),
    ),
    Mutation(
        "request media type added (text/csv)",
        add_request_media_type,
        None,
        False,
        ("/messages", "post"),
    ),
    Mutation(
        "security alternative added (bearer)",
        lambda s: op(s, "/tokens", "post")["security"].append({"bearerAuth": []}),
        None,
        False,
        ("/tokens", "post"),
    ),
    Mutation(
        "description changed",
        lambda s: op(s, "/hello", "get").update(description="Greets."),
        None,
        False,
        ("/hello", "get"),
    ),
]


MUTATIONS = {mutation.name: mutation for mutation in BREAKING + ADDITIVE}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return gate.load(ROOT / "openapi" / "api.yaml")


def mutated(spec: Spec, mutation: Mutation, version: str | None = None) -> Spec:
    head = copy.deepcopy(spec)
    mutation.change(head)
    if version:
        head["info"]["version"] = version
    return head


def layout(tmp_path: Path, base: Spec, head: Spec, changelog: str | None = None) -> Path:
    """released/<base version>.yaml, api.yaml and CHANGELOG.md (an entry for head) in tmp_path."""
    (tmp_path / "released").mkdir()
    (tmp_path / "released" / f"{base['info']['version']}.yaml").write_text(json.dumps(base))
    (tmp_path / "api.yaml").write_text(json.dumps(head))
    if changelog is None:
        changelog = f"# Changelog\n\n## {head['info']['version']}\n\n- A change.\n"
    (tmp_path / "CHANGELOG.md").write_text(changelog)
    return tmp_path / "api.yaml"


def run_gate(spec_path: Path, use_openapi_diff: bool = False) -> gate.Verdict:
    return gate.check(
        spec_path,
        spec_path.parent / "released",
        spec_path.parent / "CHANGELOG.md",
        use_openapi_diff,
    )


@pytest.mark.parametrize("mutation", BREAKING, ids=lambda m: m.name)
def test_a_breaking_change_fails_the_gate_and_names_its_rule(
    spec: Spec, mutation: Mutation, tmp_path: Path
) -> None:
    verdict = run_gate(layout(tmp_path, spec, mutated(spec, mutation)))
    assert not verdict.ok
    assert mutation.rule in {change.rule for change in verdict.own}, verdict.report()
    assert any("raise info.version's major number" in failure for failure in verdict.failures)
    assert f"[{mutation.rule}]" in verdict.report()


@pytest.mark.parametrize("mutation", ADDITIVE, ids=lambda m: m.name)
def test_an_additive_change_passes_with_a_minor_version(
    spec: Spec, mutation: Mutation, tmp_path: Path
) -> None:
    minor = ".".join([spec["info"]["version"].split(".")[0], "99", "0"])
    verdict = run_gate(layout(tmp_path, spec, mutated(spec, mutation, minor)))
    assert verdict.ok, verdict.report()
    assert verdict.own == []


def test_a_breaking_change_passes_when_the_major_version_goes_up(
    spec: Spec, tmp_path: Path
) -> None:
    major = f"{int(spec['info']['version'].split('.')[0]) + 1}.0.0"
    verdict = run_gate(layout(tmp_path, spec, mutated(spec, MUTATIONS["path removed"], major)))
    assert verdict.ok, verdict.report()
    assert [change.rule for change in verdict.own] == ["path-removed"]
    assert f"breaking changes allowed: {major} raises the major version" in verdict.report()


def test_a_changed_contract_needs_a_changelog_entry(spec: Spec, tmp_path: Path) -> None:
    head = mutated(spec, MUTATIONS["path added"], "2.99.0")
    verdict = run_gate(layout(tmp_path, spec, head, changelog="# Changelog\n\n## 2.9.0\n"))
    assert verdict.failures == [
        f"the contract changed since {spec['info']['version']}, and {tmp_path / 'CHANGELOG.md'} "
        "has no '## 2.99.0' section saying how"
    ]


def test_a_changed_contract_needs_a_higher_version(spec: Spec, tmp_path: Path) -> None:
    verdict = run_gate(layout(tmp_path, spec, mutated(spec, MUTATIONS["description changed"])))
    assert len(verdict.failures) == 1
    assert "info.version" in verdict.failures[0]
    assert "must be above it" in verdict.failures[0]


def test_an_unchanged_contract_passes_without_a_new_entry(spec: Spec, tmp_path: Path) -> None:
    verdict = run_gate(layout(tmp_path, spec, spec, changelog="# Changelog\n"))
    assert verdict.ok, verdict.report()


def test_the_repository_passes_its_own_gate(spec: Spec) -> None:
    released = gate.latest_release(ROOT / "openapi" / "released")
    assert released.name == "1.0.0.yaml"
    assert gate.load(released)["info"]["version"] == "1.0.0"
    verdict = gate.check(
        ROOT / "openapi" / "api.yaml",
        ROOT / "openapi" / "released",
        ROOT / "openapi" / "CHANGELOG.md",
        use_openapi_diff=False,
    )
    assert verdict.ok, verdict.report()
    # What 2.0.0 breaks for a 1.0.0 client; each is in openapi/CHANGELOG.md's 2.0.0 section.
    rules: dict[str, int] = {}
    for change in verdict.own:
        rules[change.rule] = rules.get(change.rule, 0) + 1
    assert rules == {
        "response-status-removed": 24,  # 406
        "response-header-removed": 10,  # Accept-Patch, Accept-Post, WWW-Authenticate
        "validation-narrowed": 4,  # JSON bodies: any JSON -> an object
        "response-widened": 3,  # user ids from 0
    }


def test_the_gate_follows_refs_to_every_use_of_a_component(spec: Spec) -> None:
    changes = breaking_changes(
        spec, mutated(spec, MUTATIONS["query maximum narrowed (limit 100 -> 50)"])
    )
    assert {change.location.split(" parameter")[0] for change in changes} == {
        "GET /articles",
        "GET /messages",
        "GET /users",
        "GET /tokens",
    }
    assert str(changes[0]).endswith("maximum 100 is now 50 [validation-narrowed]")


# openapi-diff takes 1-2 s of CPU per operation it compares (some 8 s for the whole spec), so
# it is shown only the mutated operation of both specs, and all the pairs go through one Node
# process; the gate itself (make lint) gives it the whole spec.
OPENAPI_DIFF = ROOT / "node_modules" / ".bin" / "openapi-diff"
NODE = shutil.which("node") or "node"
needs_openapi_diff = pytest.mark.skipif(
    not OPENAPI_DIFF.exists() or shutil.which("node") is None,
    reason="openapi-diff needs Node and node_modules (make node_modules/.installed)",
)
BATCH = """
const diff = require(process.argv[1]);
const pairs = JSON.parse(require("fs").readFileSync(0, "utf8"));
(async () => {
  const found = [];
  for (const [base, head] of pairs) {
    const spec = (content, location) => ({content, location, format: "openapi3"});
    const result = await diff.diffSpecs({
      sourceSpec: spec(base, "base.json"), destinationSpec: spec(head, "head.json"),
    });
    const differences = result.breakingDifferencesFound ? result.breakingDifferences : [];
    found.push(differences.map((difference) => difference.code));
  }
  console.log(JSON.stringify(found));
})();
"""


def only(spec: Spec, path: str, method: str) -> Spec:
    """spec with nothing in its paths but one operation (and its path's parameters)."""
    shown = dict(spec)
    item = spec["paths"].get(path, {})
    shown["paths"] = {path: {k: v for k, v in item.items() if k in (method, "parameters")}}
    return shown


def openapi_diff_codes(pairs: list[tuple[Spec, Spec]], processes: int = 2) -> list[list[str]]:
    """openapi-diff's breaking difference codes for each (base, head) pair, on both cores."""
    chunks = [pairs[start::processes] for start in range(processes)]
    running = [
        subprocess.Popen(
            [NODE, "-e", BATCH, str(ROOT / "node_modules" / "openapi-diff")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in chunks
    ]
    found: list[list[list[str]]] = []
    for process, chunk in zip(running, chunks, strict=True):
        out, _ = process.communicate(json.dumps([[json.dumps(b), json.dumps(h)] for b, h in chunk]))
        assert process.returncode == 0
        found.append(json.loads(out))
    return [found[index % processes][index // processes] for index in range(len(pairs))]


@needs_openapi_diff
def test_what_openapi_diff_alone_sees_is_what_the_table_says(spec: Spec) -> None:
    mutations = BREAKING + ADDITIVE
    pairs = [(only(spec, *m.operation), only(mutated(spec, m), *m.operation)) for m in mutations]
    seen = {m.name: codes for m, codes in zip(mutations, openapi_diff_codes(pairs), strict=True)}
    wrong = {m.name: seen[m.name] for m in mutations if bool(seen[m.name]) != m.openapi_diff_sees}
    assert wrong == {}


@needs_openapi_diff
def test_the_gate_reports_openapi_diffs_findings(spec: Spec, tmp_path: Path, capsys: Any) -> None:
    mutation = MUTATIONS["response status removed (404)"]  # both checks see it
    base, head = only(spec, *mutation.operation), only(mutated(spec, mutation), *mutation.operation)
    spec_path = layout(tmp_path, base, head)
    assert gate.main([str(spec_path)]) == 1
    report = capsys.readouterr().out
    assert "breaking changes (openapi-diff): 1\n" in report
    assert "response.status-code.remove at paths./articles/{articleId}.get.responses.404" in report
    assert "[response-status-removed]" in report


def test_without_openapi_diff_the_gate_says_it_was_skipped(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate, "OPENAPI_DIFF", tmp_path / "missing" / "openapi-diff")
    monkeypatch.setattr(gate, "ROOT", tmp_path)
    spec_path = layout(tmp_path, spec, mutated(spec, MUTATIONS["path removed"]))
    verdict = run_gate(spec_path, use_openapi_diff=True)
    assert "openapi-diff skipped: missing/openapi-diff is missing" in verdict.report()
    assert "contract.diff's rules still ran" in verdict.report()
    assert not verdict.ok
