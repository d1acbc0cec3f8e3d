"""The README's console examples, replayed: every `$ command` of every ```console block, in
order, with the machine's curl and bash, against a fresh server started as `make run` starts
it (development profile, a new SQLite database, the development admin), and compared with the
output the README shows. What differs between two honest runs is masked in both, and only that:

- MASKS below: times (`created_at`, `expires_at`, ...; the seconds a 429 says to wait), the
  Bearer tokens `POST /tokens` issues,
  SHA-256 digests (the README's `x.bin` is 1024 random bytes), curl's version in `User-Agent`;
- the server's port: commands go to a free port instead of 8080, and its answers are read back
  with 8080 (the `Host` and URLs they contain);
- a token the README shows issued is the one later commands send: each command is run with the
  README's tokens replaced by the ones this server issued, in the same order;
- header fields the README says it leaves out (LEFT_OUT, and the RateLimit fields of answers
  whose README output shows none); test_the_readme_names_every_header_it_leaves_out keeps that
  list and the README's sentence the same.

`REDIS_URL=... make run` in a block starts a second server with that setting, which the rest of
that block talks to.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT_DIR, wait_until_answering

README = ROOT_DIR / "README.md"
README_URL = "127.0.0.1:8080"
LEFT_OUT = (
    "date",
    "server",
    "x-request-id",
    "x-content-type-options",
    "x-frame-options",
    "content-security-policy",
)
RATE_LIMIT = ("ratelimit-policy", "ratelimit")
MASKS = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"), "<time>"),
    (re.compile(r'"access_token": "[A-Za-z0-9_-]{20,}"'), '"access_token": "<token>"'),
    # Seconds until a failed-login window frees a failure: 60, or 59 a moment later.
    (re.compile(r"(retry-after: |;t=|try again in )\d+"), r"\1<seconds>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<sha256>"),
    (re.compile(r"curl/[0-9.]+"), "curl/<version>"),
]
TOKEN = re.compile(r'"access_token": "([A-Za-z0-9_-]{20,})"')
BASH = shutil.which("bash") or "bash"
MAKE_RUN = re.compile(r"^((?:[A-Z_]+=\S*\s+)+)make run\b")

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None, reason="the README's examples use curl"
)


@dataclass
class Example:
    line: int  # in README.md
    command: str
    output: str


def examples() -> list[list[Example]]:
    """The console blocks of the README, each a list of its examples."""
    blocks: list[list[Example]] = []
    lines = README.read_text(encoding="utf-8").splitlines()
    inside = False
    block: list[Example] = []
    for number, line in enumerate(lines, start=1):
        if line.strip() == "```console":
            inside, block = True, []
            blocks.append(block)
        elif inside and line.strip() == "```":
            inside = False
        elif inside and line.startswith("$ "):
            block.append(Example(number, line[2:], ""))
        elif inside and block:
            block[-1].output += line + "\n"
    return blocks


def masked(text: str) -> str:
    for pattern, mask in MASKS:
        text = pattern.sub(mask, text)
    return text


def comparable(actual: str, expected: str) -> str:
    """`actual` as the README would show it: CRLFs gone, the left-out header fields dropped."""
    actual = actual.replace("\r\n", "\n")
    head, sep, body = actual.partition("\n\n")
    if not re.match(r"HTTP/1\.1 \d{3}", head):
        return actual
    shown = {line.split(":", 1)[0].lower() for line in expected.splitlines() if ":" in line}
    dropped = set(LEFT_OUT) | {name for name in RATE_LIMIT if name not in shown}
    kept = [line for line in head.splitlines() if line.split(":", 1)[0].lower() not in dropped]
    return "\n".join(kept) + sep + body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def make_run(directory: Path, **env: str) -> Iterator[str]:
    """`python app.py` as `make run` starts it, on a free port and a new database."""
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    settings = {
        "PATH": os.environ["PATH"],
        "HOME": str(directory),
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{directory / 'app.db'}",
        "LOG_FILE": str(directory / "app.log"),
        **env,
    }
    log = (directory / "server.out").open("wb")
    server = subprocess.Popen(
        [sys.executable, str(ROOT_DIR / "app.py")],
        cwd=ROOT_DIR,
        env=settings,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"127.0.0.1:{port}"
    try:
        wait_until_answering(f"http://{base}/livez", server, directory / "server.out", "app.py")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_every_console_example_in_the_readme_is_real_output(tmp_path: Path) -> None:
    tokens: dict[str, str] = {}  # the README's token -> the one this server issued
    differences: list[str] = []
    replayed = 0
    with make_run(tmp_path / "server") as main_server:
        for number, block in enumerate(examples()):
            with contextlib.ExitStack() as stack:
                server = main_server
                for example in block:
                    if found := MAKE_RUN.match(example.command):
                        env = dict(pair.split("=", 1) for pair in found[1].split())
                        server = stack.enter_context(make_run(tmp_path / f"block-{number}", **env))
                        continue
                    command = example.command.replace(README_URL, server)
                    for readme_token, issued in tokens.items():
                        command = command.replace(readme_token, issued)
                    done = subprocess.run(
                        [BASH, "-c", command],
                        cwd=tmp_path,
                        capture_output=True,
                        timeout=60,
                        check=False,
                    )
                    actual = done.stdout.decode("utf-8", "replace").replace(server, README_URL)
                    expected = example.output.rstrip("\n")
                    actual = comparable(actual, expected).rstrip("\n")
                    tokens.update(zip(TOKEN.findall(expected), TOKEN.findall(actual), strict=False))
                    replayed += 1
                    if masked(actual) != masked(expected):
                        differences.append(
                            f"README.md:{example.line}: $ {example.command}\n"
                            f"--- the README shows\n{expected}\n--- the server answered\n{actual}\n"
                        )
    assert differences == [], "\n".join(differences)
    assert replayed >= 60  # the README has that many examples


def test_the_readme_names_every_header_it_leaves_out() -> None:
    text = " ".join(README.read_text(encoding="utf-8").split())
    sentence = text[text.index("Outputs below are real") :]
    sentence = sentence[: sentence.index("example).") + len("example).")]
    for name in (*LEFT_OUT, *RATE_LIMIT):
        assert f"`{name}" in sentence, name
