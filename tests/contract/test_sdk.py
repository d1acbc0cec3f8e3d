"""The Python clients stock generators make from the live spec, as a user runs them.

`make sdk` (sdk/build.py) generates four clients from a running server's /openapi.json, and no
file is edited afterwards. Here the two Python ones are imported whole, type-checked where the
issue asks for it (mypy --strict on openapi-python-client's calling script), and their calling
scripts in sdk/examples/ run against a live server through Prism's validating proxy, which must
find no request or response that breaks the contract; openapi-python-client's client also runs
its happy paths against a Prism mock made from the spec alone. tests/contract/test_sdk_typescript.py
does the same for the TypeScript clients.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PRISM, Prism, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "sdk" / "examples"
# What each calling script checks, one line each, in its order.
STEPS = {
    "python_client.py": [
        "hello, index",
        "echo, every method",
        "articles: create (Location, ETag), read as JSON and v2, list",
        "articles: replace with If-Match, 412 when stale, merge-patch, delete",
        "messages: JSON, binary and multipart, read back byte for byte, deleted",
        "users: GET /users/2 is {'2': 'steve'}, list, create and delete",
        "secrets with Basic and Bearer; tokens issued, listed, revoked",
        "health probes (and /healthz deprecated) and metrics",
    ],
    "python_generator.py": [
        "hello, index",
        "echo, every method",
        "articles: create (Location, ETag), read, list",
        "articles: replace with If-Match, 412 when stale, merge-patch, delete",
        "messages: JSON, read back, deleted",
        "users: GET /users/2 is {'2': 'steve'}, list, create and delete",
        "secrets with Basic and Bearer; tokens issued, listed, revoked",
        "health probes (and /healthz deprecated) and metrics",
    ],
}
PACKAGES = {"python_client.py": "python-client", "python_generator.py": "python-generator"}
# openapi-python-client 0.29.1's only warnings on this spec: it does not generate text/plain
# request bodies (openapi-python-client#542). Anything else it reports fails the test.
KNOWN_WARNINGS = ["POST /echo", "PUT /echo", "PATCH /echo", "POST /messages"]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is under test is the generated clients and the contract; the server's
    PostgreSQL side has tests of its own (and tests/contract/test_fuzz.py, test_contract.py run
    on both)."""
    return f"sqlite:///{tmp_path / 'data' / 'app.db'}"


def run_example(script: str, sdk: Path, base_url: str) -> subprocess.CompletedProcess[str]:
    """A calling script, run as a user runs it: the generated package on its path."""
    env = {
        **os.environ,
        "PYTHONPATH": str(sdk / PACKAGES[script]),
        "ARTICLES_API_URL": base_url,
        "ADMIN_PASSWORD": "secret",  # tests/conftest.py's settings keep the development admin
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_openapi_python_client_generates_every_operation(sdk_built: Path) -> None:
    log = (sdk_built / "python-client.log").read_text(encoding="utf-8")
    warned = [line.split(" within ")[0].removeprefix("WARNING parsing ") for line in
              log.splitlines() if line.startswith("WARNING parsing")]  # fmt: skip
    assert sorted(warned) == sorted(KNOWN_WARNINGS), log
    assert log.count("Unsupported content type text/plain") == len(KNOWN_WARNINGS), log
    assert "Error(s) encountered" not in log


def test_every_module_of_both_python_clients_imports(sdk_built: Path) -> None:
    """openapi-python-client's #1451 once broke two modules at import (NameError: Unset)."""
    script = (
        "import importlib, pkgutil, sys\n"
        "package = importlib.import_module(sys.argv[1])\n"
        "names = [m.name for m in pkgutil.walk_packages(package.__path__, sys.argv[1] + '.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    for directory, package in [
        ("python-client", "articles_api_client"),
        ("python-generator", "articles_api_openapi"),
    ]:
        done = subprocess.run(
            [sys.executable, "-c", script, package],
            env={**os.environ, "PYTHONPATH": str(sdk_built / directory)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert int(done.stdout) >= 30, done.stdout  # its api and model modules


def test_the_generated_clients_mark_the_deprecated_operation(sdk_built: Path) -> None:
    """GET /healthz is deprecated (for GET /livez): three of the four generators mark it;
    openapi-python-client reads `deprecated` but gives its templates nothing
    (openapi-generators/openapi-python-client#1412): its get_healthz says so only in the
    docstring it copies from the description. That line fails once a release marks it, and the
    README then needs updating."""
    operations = (
        sdk_built / "python-generator" / "articles_api_openapi" / "api" / "operations_api.py"
    )
    generator = operations.read_text(encoding="utf-8")
    assert generator.count('warnings.warn("GET /healthz is deprecated.", DeprecationWarning)') == 3
    assert "/livez is deprecated" not in generator
    fetch = (sdk_built / "typescript-fetch" / "apis" / "OperationsApi.ts").read_text(
        encoding="utf-8"
    )
    assert re.search(r"\* @deprecated\s*\*/\s*async getHealthz\(", fetch), fetch
    assert not re.search(r"\* @deprecated\s*\*/\s*async getLivez\(", fetch)
    schema = (sdk_built / "openapi-typescript" / "schema.d.ts").read_text(encoding="utf-8")
    for operation, deprecated in [("get_healthz", True), ("get_livez", False)]:
        found = re.search(
            rf'/\*\*((?:(?!\*/).)*)\*/\s*get: operations\["{operation}"\]', schema, re.S
        )
        assert found is not None and ("@deprecated" in found[1]) is deprecated, operation
    client = sdk_built / "python-client" / "articles_api_client" / "api" / "operations"
    healthz = (client / "get_healthz.py").read_text(encoding="utf-8")
    assert "Deprecated since 2.0.0 (2026-12-02)" in healthz
    assert "warn" not in healthz and "@deprecated" not in healthz


def test_the_openapi_generator_python_client_installs(sdk_built: Path, tmp_path: Path) -> None:
    """pip installs it (without its dependencies, which the dev extras hold) and it imports."""
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(sdk_built / "python-generator")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    imported = subprocess.run(
        [sys.executable, "-c", "import articles_api_openapi; print(articles_api_openapi.__file__)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(str(target))


def test_the_python_client_script_passes_mypy_strict(sdk_built: Path) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         str(EXAMPLES / "python_client.py")],
        env={**os.environ, "MYPYPATH": str(sdk_built / "python-client")},
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("script", sorted(STEPS))
def test_a_calling_script_works_through_the_validating_proxy(
    sdk_built: Path, through_prism: Prism, script: str
) -> None:
    done = run_example(script, sdk_built, through_prism.base_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [f"ok {step}" for step in STEPS[script]] + ["done"]
    assert through_prism.violations() == []


@pytest.fixture
def prism_mock(tmp_path: Path) -> Iterator[str]:
    """`prism mock` of openapi/api.yaml (`make mock`) on a free port; its base URL."""
    if not PRISM.exists():
        pytest.skip("Prism is not installed: make lint installs the Node tools")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "prism-mock.log"
    argv = [str(PRISM), "mock", "--host", "127.0.0.1", "--port", str(port),
            str(ROOT / "openapi" / "api.yaml")]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/livez", process, log, "Prism's mock")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


MOCKED = """
import base64, io, sys
from articles_api_client import AuthenticatedClient, Client
from articles_api_client.api.articles import get_article, list_articles, post_article, put_article
from articles_api_client.api.auth import get_secret, post_token
from articles_api_client.api.messages import get_message, post_message
from articles_api_client.api.tutorial import get_hello
from articles_api_client.api.users import get_user
from articles_api_client.api.operations import get_readyz
from articles_api_client.models import *
from articles_api_client.types import File

url, json = sys.argv[1], {"Accept": "application/json"}
anonymous = Client(base_url=url, headers=json)
pair = base64.b64encode(b"admin:secret").decode()
admin = AuthenticatedClient(base_url=url, token=pair, prefix="Basic", headers=json)
hello = get_hello.sync(client=anonymous)
assert isinstance(hello, Hello) and hello.number == 3, hello
article = get_article.sync(1, client=anonymous)
assert isinstance(article, Article) and article.title == "Hello", article
assert isinstance(list_articles.sync(client=anonymous), ArticlePage)
created = post_article.sync_detailed(client=admin, body=ArticleInput(title="T", body="B"))
assert created.status_code == 201 and isinstance(created.parsed, Article), created
assert (created.headers["location"], created.headers["etag"]) == ("/articles/1", '"1"')
replaced = put_article.sync_detailed(
    1, client=admin, body=ArticleInput(title="T", body="B"), if_match=created.headers["etag"]
)
assert isinstance(replaced.parsed, Article), replaced
assert get_user.sync(2, client=anonymous).to_dict() == {"2": "steve"}
# Prism's mock answers 406 where the server would send its default (text for JSON).
text = {"Accept": "text/plain"}
as_text = AuthenticatedClient(base_url=url, token=pair, prefix="Basic", headers=text)
assert get_secret.sync(client=as_text) == "Shhh this is top secret spy stuff!"
assert isinstance(post_token.sync(client=admin), IssuedToken)
stored = post_message.sync(client=anonymous, body=JsonObject.from_dict({"greeting": "Hello"}))
assert isinstance(stored, Message), stored
assert isinstance(get_message.sync(1, client=anonymous), File)
assert isinstance(get_readyz.sync(client=anonymous), Health)
print("ok")
"""


def test_the_python_client_runs_its_happy_paths_against_the_mock(
    sdk_built: Path, prism_mock: str
) -> None:
    """What a client author can do before the server exists: `make mock` answers from the
    spec's examples, typed as the client expects, headers (ETag, Location) included."""
    done = subprocess.run(
        [sys.executable, "-c", MOCKED, prism_mock],
        env={**os.environ, "PYTHONPATH": str(sdk_built / "python-client")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stdout + done.stderr


def test_prism_proxy_still_mangles_bytes_over_127(live_server: str, tmp_path: Path) -> None:
    """Prism's proxy forwards a request body re-encoded as UTF-8 text (stoplightio/prism#2349,
    #1321), so the calling scripts above send binary messages of bytes 0-127 only. The server
    itself keeps all 256 byte values (tests/api/test_messages.py). This fails once Prism forwards
    bytes unchanged: then the scripts may send every byte value again."""
    from tests.conftest import prism_proxy

    payload = bytes(range(256))
    with prism_proxy(live_server, tmp_path) as prism:
        stored = httpx.post(
            f"{prism.base_url}/messages",
            content=payload,
            headers={"Content-Type": "application/octet-stream", "Accept": "application/json"},
        )
    assert stored.status_code == 201, stored.text
    kept = httpx.get(f"{live_server}/messages/{stored.json()['id']}").content
    # Each byte over 127 arrives as U+FFFD, the UTF-8 decoder's replacement character.
    assert kept == bytes(range(128)) + "\ufffd".encode() * 128
