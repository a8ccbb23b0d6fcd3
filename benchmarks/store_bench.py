"""Ingest into a big store: 1,000,000 items already stored, then 50,000 new ones.

    .venv/bin/python -m benchmarks.store_bench                   # --stored 1000000 --feeds 1000
    .venv/bin/python -m benchmarks.store_bench --database-url postgresql://postgres@127.0.0.1/bench

The store is pre-filled fast (one executemany straight through the driver, titles of the same
made-up vocabulary as the feeds, dates spread over the two years before the run), then
``goodwill.ingest.ingest`` runs against the benchmark feed server (``benchmarks/feedserver.py``,
in its own process) exactly as ``goodwill ingest --no-prefect`` does: fetch, parse, normalise,
look up known URLs among the million, dedupe against the window, store.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = (
    "brand",
    "source",
    "url",
    "title",
    "title_key",
    "author",
    "summary_html",
    "published_at",
    "fetched_at",
)


def prefill(store: object, n: int, now: datetime) -> float:
    from benchmarks.feedserver import _title
    from goodwill.dedupe import title_key
    from goodwill.store import Store
    from goodwill.store.schema import items

    assert isinstance(store, Store)
    rng = random.Random(7)
    t0 = time.perf_counter()
    batch = 20_000
    span = timedelta(days=730).total_seconds()
    sqlite = store.engine.dialect.name == "sqlite"
    with store.engine.begin() as conn:
        for start in range(0, n, batch):
            rows = []
            for k in range(start, min(start + batch, n)):
                title = _title(100_000 + k // 50, k % 50)
                when = (now - timedelta(seconds=span * (k / n) + 3600 * 24 * 4)).replace(
                    tzinfo=None if sqlite else UTC
                )
                rows.append(
                    {
                        "brand": "bench",
                        "source": f"old{k % 2000}",
                        "url": f"https://old{k % 2000}.example/{k}/{rng.getrandbits(32):x}",
                        "title": title,
                        "title_key": title_key(title),
                        "author": None,
                        "summary_html": "Stored earlier.",
                        "published_at": when,
                        "fetched_at": when,
                    }
                )
            if sqlite:  # straight through the driver: SQLAlchemy's per-value processing is the cost
                conn.exec_driver_sql(
                    "INSERT INTO items (brand, source, url, title, title_key, author, "
                    "summary_html, published_at, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        tuple(
                            r[c].strftime("%Y-%m-%d %H:%M:%S.%f")
                            if isinstance(r[c], datetime)
                            else r[c]
                            for c in COLUMNS
                        )
                        for r in rows
                    ],
                )
            else:
                conn.execute(insert(items), rows)
    return time.perf_counter() - t0


def _prefill_in_child(url: str, n: int, now: datetime) -> float:
    from goodwill.store import Store

    store = Store.open("bench", url=url)
    try:
        return prefill(store, n, now)
    finally:
        store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--profile", action="store_true", help="pyinstrument the ingest")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args(argv)

    from benchmarks.feedserver import FeedServerProcess
    from benchmarks.ingest_bench import _usage
    from goodwill.config import Source, load_config
    from goodwill.events import RecordingSink
    from goodwill.ingest import ingest
    from goodwill.store import Store

    now = datetime(2026, 11, 2, tzinfo=UTC)
    with (
        FeedServerProcess(args.feeds, args.items, args.latency) as server,
        tempfile.TemporaryDirectory(prefix="goodwill-store-bench-") as tmp,
    ):
        config_dir = Path(tmp) / "config"
        shutil.copytree(ROOT / "config", config_dir)
        config = load_config(config_dir)
        config = replace(
            config,
            sources=[Source(name=f"feed{i}", url=u) for i, u in enumerate(server.urls)],
            policy=config.policy.model_copy(update={"concurrency": args.concurrency}),
        )
        url = args.database_url or f"sqlite:///{Path(tmp) / 'goodwill.db'}"
        # Pre-filled in another process, so that this one's peak RSS is the ingest's own.
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            filled = pool.submit(_prefill_in_child, url, args.stored, now).result()
        store = Store.open("bench", url=url)
        print(f"pre-filled {store.items.count():,} items in {filled:.1f} s ({url.split(':')[0]})")
        cpu0, _ = _usage()
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        t0 = time.perf_counter()
        result = ingest(config, store, now, RecordingSink())
        wall = time.perf_counter() - t0
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True), file=sys.stderr)
        cpu1, rss = _usage()  # CPU of this process and its parse workers
        cpu = cpu1 - cpu0
        t1 = time.perf_counter()
        again = ingest(config, store, now, RecordingSink())
        wall2 = time.perf_counter() - t1
        print(
            f"ingest {result.new_items:,} new items into {args.stored:,}: {wall:.2f} s wall, "
            f"{cpu:.2f} s CPU, {result.duplicates:,} same-story links, {result.failed} failed; "
            f"peak RSS {rss:.0f} MB (main process)"
        )
        print(f"unchanged re-run: {wall2:.2f} s wall, {again.not_modified} not modified")
        print(f"stored now: {store.items.count():,}")
        store.close()


if __name__ == "__main__":
    sys.exit(main())
