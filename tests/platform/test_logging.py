"""One line per request in the log file, with a request id, and never a credential."""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from app import create_app
from settings import Settings
from tests.conftest import basic
from web.log_setup import (
    ACCESS_LOGGER,
    TEXT_FORMAT,
    Entry,
    JSONLines,
    RotatingFile,
    TextLines,
)

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO \[(?P<id>[0-9a-f]{32})\] articles_api\.access: "
    r"(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) (?P<ms>\d+\.\d)ms$"
)


def access_lines(settings: Settings) -> list[re.Match[str]]:
    text = Path(settings.log_file).read_text(encoding="utf-8")
    return [m for m in map(LINE.match, text.splitlines()) if m]


@contextmanager
def as_served() -> Iterator[None]:
    """Only the app's handler on the root logger, as when it is served (pytest adds its own): the
    access line then goes straight to it."""
    root = logging.getLogger()
    others = [h for h in root.handlers if not getattr(h, "articles_api", False)]
    for handler in others:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in others:
            root.addHandler(handler)


def requests_until_logged(client: TestClient, log: Path) -> list[str]:
    """Request /hello until its line reaches `log`, for 10 s at most (the handler looks at
    the file once a second); the ids of the requests made, the one logged last."""
    ids: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ids.append(client.get("/hello").headers["x-request-id"])
        if log.is_file() and ids[-1] in log.read_text(encoding="utf-8"):
            return ids
        time.sleep(0.02)
    raise AssertionError(f"no line reached {log} in 10 s")


def lines_of(request_id: str, text: str) -> list[str]:
    return [line for line in text.splitlines() if f"[{request_id}] articles_api.access" in line]


def test_each_request_writes_one_access_line(client: TestClient, settings: Settings) -> None:
    ok = client.get("/hello")
    missing = client.get("/users/99")
    lines = access_lines(settings)
    assert [(m["method"], m["path"], m["status"]) for m in lines] == [
        ("GET", "/hello", "200"),
        ("GET", "/users/99", "404"),
    ]
    assert [m["id"] for m in lines] == [ok.headers["x-request-id"], missing.headers["x-request-id"]]


def test_a_clients_request_id_is_kept(client: TestClient, settings: Settings) -> None:
    response = client.get("/hello", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert "[abc-123] articles_api.access: GET /hello 200" in Path(settings.log_file).read_text()


def test_a_malformed_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/hello", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_credentials_never_reach_the_log(client: TestClient, settings: Settings) -> None:
    token = client.post("/tokens", headers=basic("admin", "secret")).json()["access_token"]
    client.get("/secrets", headers={"Authorization": f"Bearer {token}"})
    client.get("/secrets", headers=basic("admin", "hunter2-wrong"))
    client.get(f"/secrets?access_token={token}")
    client.post("/echo", headers={"Cookie": "session=cookie-secret"}, content=b"x")
    client.post(
        "/articles",
        json={"title": "", "body": "password=body-secret"},
        headers=basic("admin", "secret"),
    )
    log = Path(settings.log_file).read_text(encoding="utf-8")
    for secret in (token, "hunter2-wrong", "cookie-secret", "body-secret", "YWRtaW46c2VjcmV0"):
        assert secret not in log


def test_json_lines_carry_the_request_fields(settings: Settings) -> None:
    with create_app(dataclasses.replace(settings, log_format="json")).test_client() as client:
        response = client.get("/hello", headers={"X-Request-ID": "json-1"})
    lines = [json.loads(line) for line in Path(settings.log_file).read_text().splitlines()]
    access = [line for line in lines if line["logger"] == "articles_api.access"]
    assert access == [
        {
            "time": access[0]["time"],
            "level": "INFO",
            "request_id": "json-1",
            "logger": "articles_api.access",
            "message": access[0]["message"],
            "method": "GET",
            "path": "/hello",
            "status": 200,
            "duration_ms": access[0]["duration_ms"],
        }
    ]
    assert response.headers["x-request-id"] == "json-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", access[0]["time"])


def test_the_log_file_rotates(settings: Settings) -> None:
    small = dataclasses.replace(settings, log_max_bytes=2000, log_backups=2)
    with create_app(small).test_client() as client:
        for _ in range(60):
            client.get("/hello")
    files = sorted(p.name for p in Path(settings.log_file).parent.glob("app.log*"))
    assert files == ["app.log", "app.log.1", "app.log.2"]
    assert all(p.stat().st_size <= 2200 for p in Path(settings.log_file).parent.glob("app.log*"))


def test_log_settings_come_from_the_environment() -> None:
    settings = Settings.from_env({"LOG_FORMAT": "JSON", "LOG_LEVEL": "warning"})
    assert (settings.log_format, settings.log_level) == ("json", "WARNING")
    assert Settings.from_env({"DEBUG": "1"}).log_level == "DEBUG"


def test_stderr_gets_the_lines_the_file_gets(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    with create_app(settings).test_client() as client:
        client.get("/hello?name=both", headers={"X-Request-ID": "both-1"})
    err = capfd.readouterr().err.splitlines()
    written = Path(settings.log_file).read_text(encoding="utf-8").splitlines()
    access = [line for line in written if "[both-1] articles_api.access" in line]
    assert len(access) == 1
    assert access[0] in err


def test_a_log_file_that_is_not_a_regular_file_is_never_rotated(tmp_path: Path) -> None:
    record = logging.makeLogRecord({"msg": "x" * 500})
    device = RotatingFile("/dev/null", maxBytes=100, backupCount=1)
    regular = RotatingFile(tmp_path / "app.log", maxBytes=100, backupCount=1)
    try:
        assert device.shouldRollover(record) is False  # bpo-45401: /dev/null is never renamed
        assert regular.shouldRollover(record) is True
    finally:
        device.close()
        regular.close()


def test_records_still_carry_what_other_formats_use(settings: Settings) -> None:
    """gunicorn formats `[%(process)d]`: records made after our set-up must have a process."""
    with create_app(settings).test_client() as client:
        assert client.get("/hello").status_code == 200
        record = logging.getLogger("gunicorn.error").makeRecord(
            "gunicorn.error", logging.INFO, __file__, 1, "Booting worker", (), None
        )
    line = logging.Formatter("[%(process)d] [%(thread)d] [%(processName)s] %(message)s").format(
        record
    )
    assert line.startswith(f"[{os.getpid()}] ")


def test_the_access_line_bypasses_logging_when_only_our_handler_would_get_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    through_logging: list[tuple[object, ...]] = []
    access = logging.getLogger(ACCESS_LOGGER)
    original = access.info

    def info(*args: object, **kwargs: object) -> None:
        through_logging.append(args)
        original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(access, "info", info)
    with create_app(settings).test_client() as client:
        with as_served():
            direct = client.get("/hello?name=x")
        assert through_logging == []
        # Another handler on the way (here pytest's): the record goes through logging again.
        relayed = client.get("/users/99")
        assert len(through_logging) == 1
    lines = access_lines(settings)
    assert [(m["id"], m["method"], m["path"], m["status"]) for m in lines] == [
        (direct.headers["x-request-id"], "GET", "/hello", "200"),
        (relayed.headers["x-request-id"], "GET", "/users/99", "404"),
    ]
    err = capfd.readouterr().err
    assert all(m.group(0) in err for m in lines)


def test_a_level_above_info_drops_the_access_line_either_way(settings: Settings) -> None:
    quiet = dataclasses.replace(settings, log_level_name="WARNING")
    with create_app(quiet).test_client() as client:
        assert client.get("/hello").status_code == 200
    assert access_lines(settings) == []


def test_a_direct_line_is_the_line_logging_writes() -> None:
    created = 1796155115.0957
    http = {"method": "GET", "path": "/hello", "status": 200, "duration_ms": 0.3}
    args = ("GET", "/hello", 200, 0.25)
    record = logging.makeLogRecord(
        {
            "name": ACCESS_LOGGER,
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "%s %s %s %.1fms",
            "args": args,
            "created": created,
            "msecs": int((created - int(created)) * 1000) + 0.0,
            "request_id": "abc",
            "http": http,
        }
    )
    message = "GET /hello 200 0.2ms"
    assert message == record.getMessage()
    entry = Entry(created, "INFO", "abc", ACCESS_LOGGER, message, http)
    text = TextLines().line(entry)
    assert text == logging.Formatter(TEXT_FORMAT).format(record)
    assert text.endswith(",095 INFO [abc] articles_api.access: GET /hello 200 0.2ms")
    assert TextLines().format(record) == text
    as_json = json.loads(JSONLines().line(entry))
    assert as_json == {
        "time": as_json["time"],
        "level": "INFO",
        "request_id": "abc",
        "logger": ACCESS_LOGGER,
        "message": message,
        **http,
    }
    assert as_json["time"].endswith(".095")
    assert json.loads(JSONLines().format(record)) == as_json


def test_rotation_counts_what_other_processes_append(tmp_path: Path) -> None:
    """gunicorn's workers share the file: what another one wrote is seen within a 64th of
    maxBytes, and a line that would overfill the file rotates it first."""
    path = tmp_path / "app.log"
    handler = RotatingFile(path, maxBytes=64_000, backupCount=1, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    line = "x" * 99  # 100 bytes a record, with its newline
    try:
        for _ in range(100):
            handler.emit(logging.makeLogRecord({"msg": line}))
        with path.open("a", encoding="utf-8") as other_worker:
            other_worker.write("y" * 49_999 + "\n")
        for _ in range(100):
            handler.emit(logging.makeLogRecord({"msg": line}))
        rotated, current = (tmp_path / "app.log.1").stat().st_size, path.stat().st_size
        assert 64_000 - 100 <= rotated < 64_000  # rotated before the line that would fill it
        assert rotated + current == 200 * 100 + 50_000  # nothing lost
    finally:
        handler.close()


def test_the_size_counted_is_the_size_in_bytes(tmp_path: Path) -> None:
    handler = RotatingFile(tmp_path / "app.log", maxBytes=1000, backupCount=1, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        assert handler.shouldRollover(logging.makeLogRecord({"msg": "é" * 450})) is False
        assert handler.shouldRollover(logging.makeLogRecord({"msg": "é" * 500})) is True
    finally:
        handler.close()


def test_json_lines_stay_json_with_a_traceback_or_a_stack() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.makeLogRecord(
            {
                "msg": "failed",
                "exc_info": sys.exc_info(),
                "request_id": "abc",
                "name": "articles_api.problems",
                "levelname": "ERROR",
            }
        )
    stacked = logging.makeLogRecord({"msg": "here", "stack_info": "Stack (most recent call last)"})
    lines = [json.loads(JSONLines().format(record)) for record in (failed, stacked)]
    assert lines[0]["message"] == "failed"
    assert "ValueError: boom" in lines[0]["exception"]
    assert lines[1]["message"] == "here"
    text = TextLines().format(failed).splitlines()
    assert text[0].endswith(" ERROR [abc] articles_api.problems: failed")
    assert text[-1] == "ValueError: boom"


def test_a_full_log_disk_loses_no_line_and_prints_no_traceback(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    Path(settings.log_file).symlink_to("/dev/full")  # every write fails: ENOSPC
    with as_served(), create_app(settings).test_client() as client:
        ids = [client.get("/hello").headers["x-request-id"] for _ in range(50)]
    err = capfd.readouterr().err
    assert all(len(lines_of(request_id, err)) == 1 for request_id in ids)
    warnings = [line for line in err.splitlines() if "cannot write LOG_FILE" in line]
    assert warnings == [
        f"articles-api: cannot write LOG_FILE {settings.log_file} (No space left on device); "
        "log lines go to stderr only until it can"
    ]
    assert "Traceback" not in err
    assert "Logging error" not in err


def test_lines_reach_the_log_file_again_once_it_can_be_written(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    log = Path(settings.log_file)
    log.symlink_to("/dev/full")
    with as_served(), create_app(settings).test_client() as client:
        lost = client.get("/hello").headers["x-request-id"]
        log.unlink()
        log.symlink_to(log.with_name("room.log"))  # the disk has room again
        ids = requests_until_logged(client, log)
        after = client.get("/hello").headers["x-request-id"]
    text = log.read_text(encoding="utf-8")
    assert len(lines_of(ids[-1], text)) == 1
    assert len(lines_of(after, text)) == 1
    assert lines_of(lost, text) == []  # not written late from a buffer
    err = capfd.readouterr().err
    assert all(len(lines_of(request_id, err)) == 1 for request_id in [lost, *ids, after])
    assert err.count("cannot write LOG_FILE") == 1
    assert f"articles-api: writing LOG_FILE {settings.log_file} again" in err.splitlines()


def test_a_removed_log_file_is_made_again(settings: Settings) -> None:
    log = Path(settings.log_file)
    with as_served(), create_app(settings).test_client() as client:
        client.get("/hello")
        log.unlink()  # `rm app.log`: the disk space is freed once the file is closed
        ids = requests_until_logged(client, log)
        after = client.get("/hello").headers["x-request-id"]
    text = log.read_text(encoding="utf-8")
    assert len(lines_of(ids[-1], text)) == 1
    assert len(lines_of(after, text)) == 1


def test_a_log_file_rotated_by_another_tool_is_opened_again_at_its_path(
    settings: Settings,
) -> None:
    log = Path(settings.log_file)
    rotated = log.with_name("app.log.1")
    with as_served(), create_app(settings).test_client() as client:
        before = client.get("/hello").headers["x-request-id"]
        log.rename(rotated)  # as logrotate does (its `create` mode)
        ids = requests_until_logged(client, log)
    old, new = rotated.read_text(encoding="utf-8"), log.read_text(encoding="utf-8")
    assert len(lines_of(before, old)) == 1
    # Lines written before the move was noticed are in the old file, the others in the new one.
    assert all(len(lines_of(request_id, old + new)) == 1 for request_id in [before, *ids])
    assert len(lines_of(ids[-1], new)) == 1


class FullStream(io.StringIO):
    """stderr on a full disk."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_failing_stderr_costs_the_log_file_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    handler = RotatingFile(tmp_path / "app.log", encoding="utf-8", echo=FullStream())
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        for number in range(3):
            handler.emit(logging.makeLogRecord({"msg": f"line {number}"}))
    finally:
        handler.close()
    assert (tmp_path / "app.log").read_text(encoding="utf-8") == "line 0\nline 1\nline 2\n"
    assert capfd.readouterr().err == ""
