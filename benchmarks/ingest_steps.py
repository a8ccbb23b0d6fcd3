"""Where ingest's CPU goes, step by step, without the network: what the README's breakdown quotes.

    .venv/bin/python -m benchmarks.ingest_steps              # 300 generated feeds, scaled to 1,000

Parses generated feeds (``benchmarks/feedserver.py``, the realistic shape) through each step a
parse worker runs, then stores the items of 1,000 feeds through ``ItemPipeline`` (insert and
same-story linking) into a fresh SQLite file, and the same-story index alone; and what making
every summary text would cost (done when an item is read, not in a run). Each figure is the
median of three rounds, in seconds per 1,000 feeds x 50 items, on one core.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 2, tzinfo=UTC)


def _per_thousand(n_feeds: int, run: Callable[[], Any], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000 / n_feeds


def _drop(results: Iterable[object]) -> None:
    """Run an iterator to its end, keeping nothing."""
    deque(results, maxlen=0)


def _corpus_sizes() -> list[float]:
    """Bytes per item of each feed in ``../shared/corpora/realworld-feeds`` (empty if absent)."""
    import fastfeedparser

    folder = ROOT.parent / "shared" / "corpora" / "realworld-feeds"
    sizes = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix in (".txt", ".MIT", ".py"):
            continue
        body = path.read_bytes()
        try:
            entries = fastfeedparser.parse(body).entries
        except Exception:  # not a feed (a licence, a note): not counted
            continue
        if entries:
            sizes.append(len(body) / len(entries))
    return sizes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=300, help="feeds parsed per round")
    args = parser.parse_args(argv)

    from benchmarks.feedserver import feed_body
    from goodwill.config import load_config
    from goodwill.feeds import parse as feed_parse
    from goodwill.html import summary_html, summary_text
    from goodwill.ingest_parse import normalise, parse_and_normalise
    from goodwill.ingest_store import ItemPipeline
    from goodwill.store import NewItem, Store

    # Feeds 0..n-1 cycle through every shape the generator has (1-3 paragraphs, content or not).
    bodies = [feed_body(i, 50, "") for i in range(args.feeds)]
    url = "https://feeds.example/feed.xml"
    raw = [feed_parse._run_fastfeedparser(b)[0] for b in bodies]
    feeds = [feed_parse.parse_feed(b, url=url, now=NOW) for b in bodies]
    entries = [e for r in raw if r is not None for e in r["entries"]]
    summaries = [summary_html(feed_parse._fast_summary(e)) for e in entries]
    rows = [parse_and_normalise(b, url, None, "src", url, NOW) for b in bodies]

    n = args.feeds
    per_item = [len(b) / 50 for b in bodies]
    print(
        f"generated feeds: median {statistics.median(per_item):,.0f}, "
        f"mean {statistics.mean(per_item):,.0f} bytes per item"
    )
    corpus = _corpus_sizes()
    if corpus:
        print(
            f"realworld corpus: median {statistics.median(corpus):,.0f}, "
            f"mean {statistics.mean(corpus):,.0f} bytes per item over {len(corpus)} feeds"
        )
    # Each result is dropped as soon as it is made, as in a worker: results kept in a list
    # would have the cyclic collector walk them all again and again (it doubled the time
    # fastfeedparser seemed to take).
    steps = {
        "fastfeedparser": lambda: _drop(map(feed_parse._run_fastfeedparser, bodies)),
        "well-formedness check, if recovered": lambda: _drop(
            map(feed_parse._is_well_formed, bodies)
        ),
        "entries to items": lambda: (
            _drop(feed_parse._from_fastfeedparser(r, url, NOW) for r in raw),
            _drop(normalise(f.entries, "src", url, NOW) for f in feeds),
        ),
        "result pickled (worker side)": lambda: _drop(map(pickle.dumps, rows)),
        "whole worker step": lambda: _drop(
            parse_and_normalise(b, url, None, f"s{i}", url, NOW) for i, b in enumerate(bodies)
        ),
    }
    print(f"{n} generated feeds x 50 items; seconds per 1,000 feeds, median of 3, one core")
    for name, run in steps.items():
        print(f"  worker   {name:<34}{_per_thousand(n, run):>7.2f}")

    # Not in a run any more: summaries are kept as HTML and made text when an item is read.
    label = "every summary made text"
    every = _per_thousand(n, lambda: _drop(summary_text(s) for s in summaries))
    print(f"  read     {label:<34}{every:>7.2f}")

    # The store thread: 1,000 feeds' items through ItemPipeline into a fresh SQLite file.
    config = load_config(ROOT / "config")

    def items_of(i: int) -> list[NewItem]:
        parsed = parse_and_normalise(feed_body(i, 50, ""), url, None, f"s{i}", url, NOW)
        assert not isinstance(parsed, str) and parsed[1] is not None
        return [NewItem(*row) for row in parsed[1]]

    items = [items_of(i) for i in range(1000)]
    times = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open("steps", url=f"sqlite:///{tmp}/steps.db")
            pipeline = ItemPipeline(config, store, NOW)
            t0 = time.perf_counter()
            for feed in items:
                pipeline.put(feed)
            stored = pipeline.finish()
            times.append(time.perf_counter() - t0)
            store.close()
    label = f"insert and link {stored:,} items"
    print(f"  store    {label:<34}{statistics.median(times):>7.2f}")

    # The same-story index alone (what linking costs without the database): every title
    # matched, then added, oldest first, words ranked by the first 5,000 as ItemPipeline does.
    from collections import Counter

    from goodwill.dedupe import StoryIndex, title_tokens

    titles = sorted((i.published_at or NOW, i.source, i.title_key) for feed in items for i in feed)
    ranks = Counter(w for _, _, key in titles[:5000] for w in title_tokens(key))

    def index_all() -> None:
        index = StoryIndex(config.policy.dedupe_window, ranks)
        for n, (when, source, key) in enumerate(titles):
            index.match_and_add(n, source, when.timestamp(), key)

    label = f"same-story index, {len(titles):,} titles"
    print(f"  store    {label:<34}{_per_thousand(1000, index_all):>7.2f}")


if __name__ == "__main__":
    main()
