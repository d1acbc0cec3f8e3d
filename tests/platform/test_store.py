"""Storage: migrations, fixtures, restarts, and settings."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import event, func, insert, inspect, select, text
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

import app as app_module
from app import create_app
from auth.admin import AdminPassword
from settings import Settings, SettingsError
from store import messages
from store.db import HEAD_REVISION, Database, alembic_config
from store.models import Message, User
from tests.conftest import basic
from web.patches import one_hop

MESSAGE_ROW = {
    "media_type": "text/plain",
    "content": b"x",
    "size": 1,
    "sha256": "0" * 64,
    "filename": None,
    "created_at": datetime(2026, 1, 1, tzinfo=UTC),
}


def test_first_start_creates_the_tutorials_users(client: TestClient, settings: Settings) -> None:
    db = Database(settings.database_url)
    with db.read() as session:
        rows = session.execute(select(User.id, User.username, User.role, User.password_hash)).all()
    db.dispose()
    assert sorted((r.id, r.username, r.role) for r in rows) == [
        (0, "admin", "admin"),
        (1, "john", "user"),
        (2, "steve", "user"),
        (3, "bill", "user"),
    ]
    admin_hash = next(r.password_hash for r in rows if r.username == "admin")
    assert admin_hash.startswith("$argon2id$")
    assert "secret" not in admin_hash


def test_a_second_start_keeps_the_data(settings: Settings, admin: dict[str, str]) -> None:
    with create_app(settings).test_client() as client:
        client.post("/articles", json={"title": "Kept", "body": "B"}, headers=admin)
    with create_app(settings).test_client() as client:
        assert client.get("/articles").text == "List of /articles\n1\tKept\n"
        assert client.get("/users/0").json() == {"0": "admin"}
        assert (
            client.post("/articles", json={"title": "Next", "body": "B"}, headers=admin).json()[
                "id"
            ]
            == 2
        )


def test_a_changed_admin_password_takes_effect_on_restart(settings: Settings) -> None:
    with create_app(settings).test_client():
        pass
    changed = dataclasses.replace(settings, admin_password="a-new-long-password")
    with create_app(changed).test_client() as client:
        assert (
            client.get("/secrets", headers=basic("admin", "a-new-long-password")).status_code == 200
        )
        assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 401


def test_the_admin_password_is_checked_after_start_up_and_logins_wait_for_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with create_app(settings).test_client():
        pass  # the admin's hash is of "secret"
    held = threading.Event()
    check = AdminPassword._make_current  # noqa: SLF001 (held, to see logins wait for it)

    def held_check(self: AdminPassword) -> None:
        assert held.wait(10)
        check(self)

    monkeypatch.setattr(AdminPassword, "_make_current", held_check)
    changed = dataclasses.replace(settings, admin_password="a-new-long-password")
    with create_app(changed).test_client() as client:
        # Started and serving while the check is held.
        assert client.get("/hello").status_code == 200
        threading.Timer(0.3, held.set).start()
        # The old password, tried before the check is done: it waits for the check, then fails.
        assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 401
        assert held.is_set()
        assert (
            client.get("/secrets", headers=basic("admin", "a-new-long-password")).status_code == 200
        )


def test_a_failed_admin_password_check_is_tried_again_by_the_next_login(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with create_app(settings).test_client():
        pass
    check = AdminPassword._make_current  # noqa: SLF001 (made to fail once)
    failed = threading.Event()

    def failing_once(self: AdminPassword) -> None:
        if not failed.is_set():
            failed.set()
            raise OperationalError("UPDATE users SET password_hash=?", ("$argon2id$",), Exception())
        check(self)

    monkeypatch.setattr(AdminPassword, "_make_current", failing_once)
    changed = dataclasses.replace(settings, admin_password="a-new-long-password")
    with create_app(changed).test_client() as client:
        assert failed.wait(10)  # the start-up check failed
        assert client.get("/secrets", headers=basic("admin", "secret")).status_code == 401
        assert (
            client.get("/secrets", headers=basic("admin", "a-new-long-password")).status_code == 200
        )
    logged = {r.getMessage() for r in caplog.records if r.name == "auth.admin"}
    assert logged == {
        "checking the admin's password hash failed (OperationalError); the next login tries again",
        "the admin's stored password hash was replaced to match the settings",
    }
    assert not any("argon2" in r.getMessage() for r in caplog.records)


def test_a_non_ascii_password_works(settings: Settings) -> None:
    with create_app(
        dataclasses.replace(settings, admin_password="sécret✓")
    ).test_client() as client:
        assert client.get("/secrets", headers=basic("admin", "sécret✓")).status_code == 200


def test_migrations_upgrade_and_downgrade(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    tables = set(inspect(db.engine).get_table_names())
    assert {"users", "articles", "messages", "tokens", "alembic_version"} <= tables
    assert "version" in {column["name"] for column in inspect(db.engine).get_columns("articles")}
    db.migrate()
    command.downgrade(alembic_config(database_url), "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.dispose()


def test_importing_the_app_touches_nothing(tmp_path: pytest.TempPathFactory) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/never/app.db", log_file=f"{tmp_path}/never.log"
    )
    create_app(settings)
    assert not (tmp_path / "never").exists()  # type: ignore[operator]
    assert not (tmp_path / "never.log").exists()  # type: ignore[operator]


def test_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql+psycopg://x/y",
            "PORT": "9000",
            "DEBUG": "1",
            "LOG_FILE": "x.log",
        }
    )
    assert settings.database_url == "postgresql+psycopg://x/y"
    assert settings.port == 9000
    assert settings.debug is True
    assert settings.log_level == "DEBUG"
    assert settings.log_file == "x.log"
    defaults = Settings.from_env({})
    assert defaults.database_url == "sqlite:///./data/app.db"
    assert defaults.port == 8080
    assert defaults.debug is False
    assert defaults.log_file == "app.log"
    with pytest.raises(SettingsError, match="PORT"):
        Settings.from_env({"PORT": "eighty"})


def test_request_threads_follow_the_database_unless_set() -> None:
    assert Settings.from_env({}).request_threads == 2  # SQLite: one writer at a time
    assert Settings.from_env({"DATABASE_URL": "postgresql+psycopg://x/y"}).request_threads == 4
    assert Settings.from_env({"THREADS": "7"}).request_threads == 7
    for wrong in ("0", "-1", "some"):
        with pytest.raises(SettingsError, match="THREADS"):
            Settings.from_env({"THREADS": wrong})


def test_upgrading_a_populated_database_loses_nothing(database_url: str) -> None:
    db = Database(database_url)
    db.migrate("0003")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, username, role, created_at) VALUES (1, 'u', 'user', :now)"
            ),
            {"now": "2026-01-01 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO articles (id, title, body, author_id, created_at, updated_at, version)"
                " VALUES (1, 't', 'b', 1, :now, :now, 3)"
            ),
            {"now": "2026-01-01 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO tokens (id, user_id, token_hash, scopes, created_at, expires_at)"
                " VALUES (1, 1, 'h', '', :now, :now)"
            ),
            {"now": "2026-01-01 00:00:00"},
        )
    db.migrate()
    with db.engine.connect() as connection:
        counts = [
            connection.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608 (fixed names)
            for table in ("users", "articles", "tokens")
        ]
    db.dispose()
    assert counts == [1, 1, 1]


def test_deleted_ids_are_never_reused(client: TestClient, admin: dict[str, str]) -> None:
    for title in ("one", "two"):
        client.post("/articles", json={"title": title, "body": "B"}, headers=admin)
    assert client.delete("/articles/2", headers={**admin, "If-Match": '"1"'}).status_code == 204
    again = client.post("/articles", json={"title": "three", "body": "B"}, headers=admin)
    assert again.json()["id"] == 3
    assert client.get("/articles/2").status_code == 404
    assert (
        client.put(
            "/articles/2", json={"title": "x", "body": "y"}, headers={**admin, "If-Match": '"1"'}
        ).status_code
        == 404
    )


def test_head_revision_is_alembics_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_a_database_at_head_starts_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    db = Database(url)
    assert db.revision() is None
    db.migrate()
    assert db.revision() == HEAD_REVISION
    db.dispose()
    again = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from store.db import Database; Database(sys.argv[1]).migrate(); "
            "print('alembic' in sys.modules)",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert again.stdout.strip() == "False"


def test_a_database_behind_head_is_migrated(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    command.downgrade(alembic_config(database_url), "0003")
    assert db.revision() == "0003"
    db.migrate()
    assert db.revision() == HEAD_REVISION
    db.dispose()


def test_sqlite_writers_in_other_processes_wait_for_this_ones_turn(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    db = Database(url)
    db.migrate()
    writer = (
        "import sys, time; from sqlalchemy import text; from store.db import Database\n"
        "with Database(sys.argv[1]).write() as session:\n"
        "    session.execute(text('SELECT 1'))\n"
        "print(time.time())\n"
    )
    with db._write_turn:  # noqa: SLF001 (this process's turn, no SQLite transaction open)
        other = subprocess.Popen(
            [sys.executable, "-c", writer, url],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        time.sleep(1)
        assert other.poll() is None  # still waiting
        released = time.time()
    out, _ = other.communicate(timeout=30)
    assert other.returncode == 0
    assert float(out) >= released
    db.dispose()


def test_core_writes_commit_as_one_transaction_in_their_turn(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    count = select(func.count()).select_from(Message)
    with pytest.raises(RuntimeError), db.write_statements() as connection:
        connection.execute(insert(Message), MESSAGE_ROW)
        raise RuntimeError("fails after the insert")
    with db.read() as session:
        assert session.scalar(count) == 0  # rolled back, not half-written

    done = threading.Event()

    def write() -> None:
        messages.create(db, media_type="text/plain", content=b"x")
        done.set()

    writer = threading.Thread(target=write)
    with db._write_turn:  # noqa: SLF001 (another writer's turn; PostgreSQL has none)
        writer.start()
        if db.is_sqlite:
            assert not done.wait(0.5)
    writer.join(timeout=30)
    assert done.is_set()
    with db.read() as session:
        assert session.scalar(count) == 1
    db.dispose()


def test_threads_up_to_the_pool_size_reuse_their_connections(database_url: str) -> None:
    threads = 7  # more than SQLAlchemy's default pool of 5
    db = Database(database_url, pool_size=threads)
    db.migrate()
    db.dispose()  # what migrating opened is closed: count from none
    opened = []
    event.listen(db.engine, "connect", lambda *_: opened.append(1))
    together = threading.Barrier(threads)

    def read() -> None:
        for _ in range(3):
            with db.read() as session:
                session.execute(text("SELECT 1"))
                together.wait(timeout=10)  # all of them hold a connection at once
            together.wait(timeout=10)  # and all have given it back before the next round

    readers = [threading.Thread(target=read) for _ in range(threads)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=30)
    assert len(opened) == threads  # not more with every round
    db.dispose()


def test_the_app_keeps_a_connection_for_each_request_thread(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = []

    def database(url: str, *, pool_size: int = 5, timeout: float | None = None) -> Database:
        sizes.append(pool_size)
        return Database(url, pool_size=pool_size, timeout=timeout)

    monkeypatch.setattr(app_module, "Database", database)
    app = app_module.create_app(dataclasses.replace(settings, threads=3))
    adapter = one_hop.adapter(app)
    assert isinstance(adapter, one_hop.OneHopWSGI)
    assert sizes == [3]
    assert adapter.threads == 3
