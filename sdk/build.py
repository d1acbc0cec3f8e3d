"""`make sdk`: four clients generated from a live server's /openapi.json by stock generators.

    build/sdk/openapi.json            the spec, as a server of this code serves it
    build/sdk/python-client/          openapi-python-client 0.29.1 (`articles_api_client`)
    build/sdk/python-generator/       openapi-generator 7.26.0 `python` (`articles_api_openapi`)
    build/sdk/typescript-fetch/       openapi-generator 7.26.0 `typescript-fetch`
    build/sdk/openapi-typescript/     openapi-typescript 7.13 (`schema.d.ts`, for openapi-fetch)

No generated file is edited afterwards. One generator option beyond naming: typescript-fetch's
`skipFormModel=false`, because with the default it imports a multipart model it does not
generate and does not compile (OpenAPITools/openapi-generator#24727); the spec cannot avoid it
without dropping the `file` part from the multipart body's schema. The versions are pinned in
pyproject.toml (dev extras) and package.json. sdk/examples/ has a calling script for each.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "sdk"
SPEC = OUT / "openapi.json"
BIN = Path(sys.executable).parent
NODE_BIN = ROOT / "node_modules" / ".bin"

CLIENTS: dict[str, list[str]] = {
    "python-client": [
        sys.executable, "-m", "openapi_python_client", "generate", f"--path={SPEC}",
        f"--output-path={OUT / 'python-client'}", "--meta=setup", "--config=sdk/config.yaml",
    ],
    "python-generator": [
        str(BIN / "openapi-generator-cli"), "generate", "-i", str(SPEC), "-g", "python",
        "-o", str(OUT / "python-generator"), "--package-name", "articles_api_openapi",
        "--additional-properties=projectName=articles-api-openapi",
    ],
    "typescript-fetch": [
        str(BIN / "openapi-generator-cli"), "generate", "-i", str(SPEC), "-g", "typescript-fetch",
        "-o", str(OUT / "typescript-fetch"),
        # openapi-generator#24727: see the module's docstring.
        "--global-property", "skipFormModel=false",
    ],
    "openapi-typescript": [
        str(NODE_BIN / "openapi-typescript"), str(SPEC),
        "-o", str(OUT / "openapi-typescript" / "schema.d.ts"),
    ],
}  # fmt: skip


def fetch_spec(base_url: str) -> Path:
    """Save the live spec to build/sdk/openapi.json."""
    response = httpx.get(f"{base_url}/openapi.json", timeout=30)
    response.raise_for_status()
    OUT.mkdir(parents=True, exist_ok=True)
    SPEC.write_bytes(response.content)
    return SPEC


def generate(name: str) -> subprocess.CompletedProcess[str]:
    """Generate one client from build/sdk/openapi.json, afresh; its log in build/sdk/<name>.log."""
    shutil.rmtree(OUT / name, ignore_errors=True)
    if name == "openapi-typescript":  # writes one file; the others make their directory
        (OUT / name).mkdir(parents=True)
    # openapi-python-client's default post hooks run ruff, which lives beside this interpreter.
    env = {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home())}
    result = subprocess.run(  # noqa: S603 (our own argv)
        CLIENTS[name], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    (OUT / f"{name}.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    return result


@contextmanager
def scratch_server() -> Iterator[str]:
    """This code served on a free port with a throwaway database; its base URL."""
    import uvicorn

    from app import create_app
    from settings import Settings

    with tempfile.TemporaryDirectory() as scratch, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        settings = Settings(
            database_url=f"sqlite:///{scratch}/app.db",
            log_file=f"{scratch}/app.log",
            log_level_name="WARNING",
            password_hash_time_cost=1,
            password_hash_memory_kib=1024,
        )
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the scratch server did not start")
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def main() -> int:
    """Generate every client; the exit code is the first generator's that failed, or 0."""
    with scratch_server() as base_url:
        fetch_spec(base_url)
    failed = 0
    for name, argv in CLIENTS.items():
        print("$", " ".join(argv), flush=True)
        result = generate(name)
        print(f"{name}: exit {result.returncode}, log in {OUT / f'{name}.log'}", flush=True)
        failed = failed or result.returncode
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
