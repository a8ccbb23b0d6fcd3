"""What a durable publish claim costs: SQLite WAL with synchronous=NORMAL vs FULL, and PostgreSQL.

WAL + NORMAL survives a process crash but may lose the last commits on power loss; a lost claim
after its request left means a second send, so claims commit with FULL (fsync). This measures the
real ``PostStore.claim`` (lock channel, read queue and history, gate, update, log) per post.

    python benchmarks/claim_durability.py [--n 200] [--postgres URL] [--dir DIR]

Use a folder on a real disk (not tmpfs: fsync is free there). Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from goodwill.models import Kind, Post, PostState
from goodwill.store import Store
from goodwill.store.db import transaction
from goodwill.store.posts import Choice

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def first(queue: list[Post], history: list[Any], today: int) -> Choice:
    return Choice(queue[0] if queue else None, [])


def claim_times(store: Store, n: int) -> list[float]:
    channel = f"bench-{uuid.uuid4().hex[:6]}"
    posts = [
        Post(
            channel=channel,
            network="outbox",
            category="tip",
            kind=Kind.VALUE,
            text=f"post {i}",
            state=PostState.APPROVED,
            origin="own",
            own_key=f"k{i}",
        )
        for i in range(n)
    ]
    store.posts.add(posts, NOW)
    times = []
    for i in range(n):
        start = time.perf_counter()
        post, _ = store.posts.claim(
            channel,
            first,
            slot_at=None,
            day_start=NOW,
            attempt_id=uuid.uuid4().hex,
            lease_until=NOW + timedelta(minutes=10),
            now=NOW + timedelta(seconds=i),
        )
        times.append(time.perf_counter() - start)
        assert post is not None
    return times


class NotDurable(Store):
    """The same store with claims committed at synchronous=NORMAL (what we do not ship)."""

    @contextmanager
    def begin(self, *, durable: bool = False) -> Iterator[Connection]:
        with transaction(self.engine) as conn:
            yield conn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--dir", default=None, help="folder for the SQLite file (a real disk)")
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(dir=args.dir or Path.cwd()) as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        for name, cls in (("sqlite NORMAL", NotDurable), ("sqlite FULL (shipped)", Store)):
            store = cls.open("bench", url=url)
            claim_times(store, 20)  # warm up
            results[name] = statistics.median(claim_times(store, args.n))
            store.close()
    try:
        import psycopg

        admin = psycopg.connect(args.postgres, autocommit=True, connect_timeout=3)
    except Exception as exc:  # no server here
        print(f"postgresql skipped: {type(exc).__name__}")
    else:
        name = f"goodwill_bench_{uuid.uuid4().hex[:8]}"  # a scratch database, dropped after
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            store = Store.open("bench", url=f"{args.postgres.rsplit('/', 1)[0]}/{name}")
            claim_times(store, 20)
            results["postgresql (synchronous_commit=on)"] = statistics.median(
                claim_times(store, args.n)
            )
            store.close()
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
    base = results["sqlite NORMAL"]
    print(f"median claim commit over {args.n} claims (shared 2-core machine: noisy)")
    for name, value in results.items():
        print(f"  {name:38} {value * 1000:7.2f} ms   x{value / base:.2f}")


if __name__ == "__main__":
    main()
