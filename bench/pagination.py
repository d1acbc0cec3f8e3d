"""Benchmark: keyset pagination should cost the same at 10^6 rows as at 10^3.

Fills `articles` up to --rows with bulk inserts (skipped when already full), then times
`store.articles.page()` for the first, a middle and a deep page, interleaved, and prints the
query plan of the SQL page() runs, so an index scan (not a table scan) can be seen.

    python -m bench.pagination --database-url sqlite:///./build/bench/pagination.db
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from store import articles
from store.db import Database
from store.models import Article, User
from store.pagination import encode_cursor
from store.types import utcnow

DEFAULT_URL = "sqlite:///./build/bench/pagination.db"
REPORT_DIR = Path("build/bench")
ADMIN_USERNAME = "admin"  # the tutorial's admin (Settings.admin_username's default)
LIMIT = 20
WARMUP_ROUNDS = 20
CHUNK = 50_000
TARGET_RATIO = 1.2


@dataclass(frozen=True)
class Result:
    kind: str
    p50_ms: float
    p99_ms: float
    ratio: float


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pagination",
        description="Latency of keyset pagination: first vs middle vs deep page of articles.",
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default: {DEFAULT_URL}")
    parser.add_argument("--rows", type=int, default=1_000_000, help="articles (default: 10^6)")
    parser.add_argument("--rounds", type=int, default=200, help="timed rounds (default: 200)")
    args = parser.parse_args(argv)
    if args.rows < 2_000:
        parser.error("--rows must be at least 2000 (the deep page starts at rows - 1000)")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def _command_line(argv: Sequence[str]) -> str:
    """The command as run, with any password in a URL argument hidden."""
    shown = []
    for arg in argv:
        try:
            url = make_url(arg.split("=", 1)[-1]) if "://" in arg else None
        except (ArgumentError, ValueError):  # not a URL after all
            url = None
        if url is not None and url.password is not None:
            arg = arg.replace(url.render_as_string(hide_password=False), str(url))
        shown.append(arg)
    return shlex.join([Path(sys.executable).name, "-m", "bench.pagination", *shown])


def _ensure_author(db: Database) -> int:
    """The admin's id, inserting the admin (without a password) when missing."""
    with db.engine.begin() as connection:
        author_id = connection.scalar(select(User.id).where(User.username == ADMIN_USERNAME))
        if author_id is None:
            connection.execute(
                insert(User).values(
                    username=ADMIN_USERNAME, role="admin", password_hash=None, created_at=utcnow()
                )
            )
            author_id = connection.scalar(select(User.id).where(User.username == ADMIN_USERNAME))
    assert author_id is not None
    return int(author_id)


def _count(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Article)) or 0)


def _fill(db: Database, rows: int) -> tuple[int, float]:
    """Insert articles until the table holds `rows`; (rows inserted, seconds taken)."""
    start = time.perf_counter()
    missing = rows - _count(db)
    if missing <= 0:
        return 0, time.perf_counter() - start
    author_id = _ensure_author(db)
    done = 0
    while done < missing:
        size = min(CHUNK, missing - done)
        now = utcnow()
        batch: list[dict[str, Any]] = [
            {
                "title": f"Article {n}",
                "body": "A short body for the pagination benchmark.",
                "author_id": author_id,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(done + 1, done + size + 1)
        ]
        with db.engine.begin() as connection:
            connection.execute(insert(Article), batch)
        done += size
        print(f"  inserted {done:>9,} / {missing:,}", end="\r", flush=True)
    print()
    if not db.is_sqlite:
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE articles"))
    return missing, time.perf_counter() - start


def _page_sql(db: Database, cursor: str) -> tuple[str, Any]:
    """The SQL statement and parameters page() sends for this cursor."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "articles" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        articles.page(db, LIMIT, cursor)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert len(seen) == 1, f"page() ran {len(seen)} statements on articles"
    return seen[0]


def _plan(db: Database, cursor: str) -> tuple[str, Any, list[str]]:
    """The SQL page() runs and its plan: EXPLAIN QUERY PLAN (SQLite) or EXPLAIN (PostgreSQL)."""
    statement, parameters = _page_sql(db, cursor)
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + statement, parameters).all()
    column = 3 if db.is_sqlite else 0  # SQLite's rows: (id, parent, notused, detail)
    return " ".join(statement.split()), parameters, [str(row[column]) for row in rows]


def _percentile(samples: list[int], percent: float) -> float:
    """Nearest-rank percentile of nanosecond samples, in milliseconds."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1] / 1e6


def _measure(db: Database, rows: int, rounds: int) -> dict[str, list[int]]:
    """Nanoseconds per page() call, per kind, kinds interleaved within each round."""
    kinds: dict[str, str | None] = {
        "first": None,
        "deep": encode_cursor(rows - 1000),
        "middle": encode_cursor(rows // 2),
    }
    for kind, cursor in kinds.items():
        got = articles.page(db, LIMIT, cursor)
        if len(got.items) != LIMIT:
            print(f"warning: the {kind} page holds {len(got.items)} items, not {LIMIT}")
    timings: dict[str, list[int]] = {kind: [] for kind in kinds}
    clock: Callable[[], int] = time.perf_counter_ns
    for round_ in range(WARMUP_ROUNDS + rounds):
        for kind, cursor in kinds.items():
            start = clock()
            articles.page(db, LIMIT, cursor)
            elapsed = clock() - start
            if round_ >= WARMUP_ROUNDS:
                timings[kind].append(elapsed)
    return timings


def _table(backend: str, rows: int, results: list[Result]) -> str:
    lines = [
        "| database | rows | kind | p50 ms | p99 ms | ratio (p50 / first p50) |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {backend} | {rows:,} | {result.kind} | {result.p50_ms:.3f} | "
            f"{result.p99_ms:.3f} | {result.ratio:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    print("$ " + _command_line(sys.argv[1:] if argv is None else argv))
    db = Database(args.database_url)
    backend = db.url.get_backend_name()
    try:
        db.migrate()
        inserted, fill_seconds = _fill(db, args.rows)
        with db.engine.connect() as connection:
            low, high = connection.execute(select(func.min(Article.id), func.max(Article.id))).one()
        print(
            f"{backend}: {_count(db):,} articles (ids {low}..{high}); inserted {inserted:,} "
            f"in {fill_seconds:.1f} s"
        )

        sql, parameters, plan = _plan(db, encode_cursor(args.rows - 1000))
        print(f"\nquery plan of page()'s SQL (deep page):\n  {sql}\n  parameters: {parameters}")
        for line in plan:
            print(f"    {line}")

        start = time.perf_counter()
        timings = _measure(db, args.rows, args.rounds)
        measure_seconds = time.perf_counter() - start
        print(
            f"\nmeasured {args.rounds} rounds (+{WARMUP_ROUNDS} warm-up) x 3 kinds, "
            f"limit={LIMIT}, in {measure_seconds:.1f} s"
        )
    finally:
        db.dispose()

    first_p50 = _percentile(timings["first"], 50)
    results = [
        Result(kind, _percentile(ns, 50), _percentile(ns, 99), _percentile(ns, 50) / first_p50)
        for kind, ns in timings.items()
    ]
    worst = max(result.ratio for result in results)
    verdict = "within" if worst <= TARGET_RATIO else "NOT within"
    table = _table(backend, args.rows, results)
    summary = f"Target: every p50 within {TARGET_RATIO}x of the first page's; {verdict} it."
    print(f"\n{table}\n\n{summary}")

    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    report = REPORT_DIR / f"pagination-{backend}.md"
    report.write_text(f"{table}\n\n{summary}\n", encoding="utf-8")
    print(f"written to {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
