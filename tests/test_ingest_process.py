"""Large runs parse in a worker process: same results as the worker thread, in order, with the
same per-feed failures, and a worker that dies costs no feed its items."""

from __future__ import annotations

import asyncio
import fcntl
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

import goodwill.ingest
from goodwill.config import Config, Source, load_config
from goodwill.events import RecordingSink
from goodwill.ingest import PROCESS_MIN_FEEDS, IngestResult, ingest
from goodwill.pipes import PIPE_BYTES, widen_pipes
from goodwill.store import Store
from tests.feedserver import FeedServer, Route

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
WORDS = [
    "lens",
    "bride",
    "camera",
    "light",
    "studio",
    "film",
    "flash",
    "print",
    "drone",
    "portrait",
    "wedding",
    "album",
]
FEEDS = PROCESS_MIN_FEEDS + 10


def _rss(feed: int) -> bytes:
    items = []
    for j in range(8):
        # Every third story is told by the next feed too, an hour later (a same-story duplicate).
        story = feed - 1 if j % 3 == 0 and feed % 2 == 1 else feed
        words = [WORDS[(story * 7 + j * 3 + k) % len(WORDS)] for k in range(5)]
        when = NOW - timedelta(hours=j + (story != feed))
        items.append(
            f"<item><title>{' '.join(words)} {story}-{j}</title>"
            f"<link>https://site{feed}.example/{j}</link>"
            f"<pubDate>{format_datetime(when)}</pubDate></item>"
        )
    return (
        f"<rss version='2.0'><channel><title>Site {feed}</title>{''.join(items)}</channel></rss>"
    ).encode()


@pytest.fixture
def config(config_dir: Path) -> Iterator[Config]:
    with FeedServer() as server:
        urls = []
        for i in range(FEEDS):
            if i == 7:
                route = Route(body=b"<html><body>not a feed</body></html>")
            elif i == 8:
                route = Route(status=500)
            elif i == 9:
                route = Route(body=b"")
            else:
                route = Route(body=_rss(i), headers={"Content-Type": "application/rss+xml"})
            urls.append(server.route(f"/feed/{i}.xml", route))
        base = load_config(config_dir)
        yield replace(base, sources=[Source(name=f"feed{i}", url=u) for i, u in enumerate(urls)])


def _run(config: Config, db: Path, **kwargs: Any) -> tuple[IngestResult, set[tuple[Any, ...]]]:
    store = Store.open(config.brand.name, url=f"sqlite:///{db}")
    try:
        result = ingest(config, store, NOW, RecordingSink(), **kwargs)
        items = store.items.latest(10_000)
        url_of = {i.id: i.url for i in items}
        stored = {
            (i.url, i.title, i.source, i.published_at, url_of.get(i.duplicate_of or -1))
            for i in items
        }
        return result, stored
    finally:
        store.close()


def test_worker_process_gives_what_the_worker_thread_gives(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_process, stored = _run(config, tmp_path / "process.db")
    monkeypatch.setattr(goodwill.ingest, "PROCESS_MIN_FEEDS", FEEDS + 1)
    by_thread, expected = _run(config, tmp_path / "thread.db")
    assert by_process == by_thread
    assert stored == expected
    assert by_process.fetched == FEEDS - 3 and by_process.failed == 3
    assert set(by_process.failures) == {"feed7", "feed8", "feed9"}
    assert by_process.duplicates > 20  # the duplicates really were linked
    assert any(dup is not None for *_, dup in stored)


def test_a_worker_that_dies_costs_no_feed_its_items(config: Config, tmp_path: Path) -> None:
    seen: list[str] = []

    def kill_the_worker(name: str) -> None:
        seen.append(name)
        if len(seen) == 20:
            children = multiprocessing.active_children()
            assert children  # the parse process is running
            for child in children:
                os.kill(child.pid or 0, signal.SIGKILL)

    killed, stored = _run(config, tmp_path / "killed.db", on_fetched=kill_the_worker)
    expected_result, expected = _run(config, tmp_path / "whole.db")
    assert len(seen) == FEEDS
    assert killed.failures == expected_result.failures
    assert killed.new_items == expected_result.new_items
    assert stored == expected


def test_storing_in_many_batches_keeps_every_story_once(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large run stores while it fetches, batch by batch in arrival order: the same items as
    storing everything at the end, and links that keep every story to one root. (These titles
    are built to be ambiguous, each near-identical to several others, so which root a title
    joins may depend on arrival order; that no story keeps two roots may not.)"""
    import goodwill.ingest_store
    from tests.helpers_links import check_links

    whole, expected = _run(config, tmp_path / "whole.db")
    monkeypatch.setattr(goodwill.ingest_store, "BATCH_ITEMS", 1)  # every feed its own batch
    batched, stored = _run(config, tmp_path / "batched.db")
    assert {row[:4] for row in stored} == {row[:4] for row in expected}
    assert batched.new_items == whole.new_items
    listed = min(whole.new_items, goodwill.ingest_store.NEW_LISTED)
    assert len(batched.new) == len(whole.new) == listed
    assert {url for _, _, url in batched.new} <= {row[0] for row in stored}
    for rows in (stored, expected):
        check_links(
            {url: (title, source, when, root) for url, title, source, when, root in rows},
            window=config.policy.dedupe_window,
        )
    assert whole.duplicates > 20 and batched.duplicates > 20


def test_downloads_wait_for_the_parsers(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for one body in the parse backlog, no more bodies wait for the parsers than
    downloads can run at once, and nothing is lost to the waiting."""
    expected_result, expected = _run(config, tmp_path / "free.db")
    most = 0
    add = goodwill.ingest._ParseBacklog.add

    def add_and_watch(self: Any, n: int) -> None:
        nonlocal most
        add(self, n)
        most = max(most, self.bytes)

    monkeypatch.setattr(goodwill.ingest._ParseBacklog, "add", add_and_watch)
    monkeypatch.setattr(goodwill.ingest, "PARSE_BACKLOG_BYTES", 1)
    tight = replace(config, policy=config.policy.model_copy(update={"concurrency": 4}))
    result, stored = _run(tight, tmp_path / "tight.db")
    biggest = max(len(_rss(i)) for i in range(FEEDS))
    assert 0 < most <= 4 * biggest
    assert stored == expected and result.new_items == expected_result.new_items


def test_waiting_downloads_wake_when_the_backlog_falls_under_the_limit() -> None:
    """Parsed feeds that leave the backlog still over the limit wake no waiting download (a
    hundred woken at every parsed feed, only to wait again, had cost the event loop a tenth of
    its time); the one that brings it under wakes them all, from another thread too."""
    backlog = goodwill.ingest._ParseBacklog(10)
    wake_ups = 0

    class Room(asyncio.Event):
        def set(self) -> None:
            nonlocal wake_ups
            wake_ups += 1
            super().set()

    async def scenario() -> None:
        backlog._loop, backlog._room = asyncio.get_running_loop(), Room()
        backlog.add(30)
        waiting = [asyncio.create_task(backlog.admit()) for _ in range(5)]
        await asyncio.sleep(0)  # each download checks the backlog and waits
        for _ in range(3):
            backlog.remove(5)  # 25, 20, 15: still over
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert wake_ups == 0
        assert not any(task.done() for task in waiting)
        worker = threading.Thread(target=backlog.remove, args=(5,))  # 10: room again
        worker.start()
        worker.join()
        await asyncio.wait_for(asyncio.gather(*waiting), timeout=30)
        assert wake_ups == 1

    asyncio.run(scenario())


def test_without_a_forkserver_the_workers_are_spawned(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forkserver needs a socket in a temporary folder; where it cannot start, workers are
    spawned instead and the run gives the same items."""
    expected_result, expected = _run(config, tmp_path / "forkserver.db")

    def no_socket() -> None:
        raise PermissionError("Permission denied: '/tmp/pymp-xxxx'")

    monkeypatch.setattr(goodwill.ingest.forkserver, "ensure_running", no_socket)
    assert goodwill.ingest._worker_context().get_start_method() == "spawn"
    result, stored = _run(config, tmp_path / "spawned.db")
    assert stored == expected and result.new_items == expected_result.new_items


def test_a_body_served_again_is_not_parsed_again(config: Config, tmp_path: Path) -> None:
    """These feeds send no ETag or Last-Modified, so every run gets a 200: the second run
    recognises each body by its digest and parses none of them."""
    first, stored = _run(config, tmp_path / "twice.db")
    again, stored_again = _run(config, tmp_path / "twice.db")
    assert first.fetched == FEEDS - 3 and first.new_items > 0
    assert again.not_modified == FEEDS - 3 and again.fetched == 0 and again.new_items == 0
    assert again.skipped == 3  # the three failing feeds wait out their backoff
    assert stored_again == stored


def test_a_changed_body_is_parsed(config_dir: Path, tmp_path: Path) -> None:
    """Served unchanged, a feed is skipped; one new item in it, and it is read again."""
    with FeedServer() as server:
        url = server.route("/feed.xml", Route(body=_rss(1)))
        base = load_config(config_dir)
        config = replace(base, sources=[Source(name="feed", url=url)])
        first, _ = _run(config, tmp_path / "changed.db")
        same, _ = _run(config, tmp_path / "changed.db")
        extra = (
            b"<item><title>A ninth story told today</title><link>https://x.example/9</link></item>"
        )
        server.route("/feed.xml", Route(body=_rss(1).replace(b"</channel>", extra + b"</channel>")))
        changed, stored = _run(config, tmp_path / "changed.db")
    assert first.fetched == 1 and same.not_modified == 1 and same.fetched == 0
    assert changed.fetched == 1 and changed.new_items == 1
    assert "https://x.example/9" in {url for url, *_ in stored}


def test_a_large_run_hands_the_gil_over_quickly_and_restores_the_interval(
    config: Config, tmp_path: Path
) -> None:
    """The store thread computes for long stretches: during a large run the threads that feed
    the parse workers get the GIL within GIL_SWITCH_INTERVAL, and the process's own interval
    is back when the run ends."""
    import sys

    seen: list[float] = []
    before = sys.getswitchinterval()
    _run(config, tmp_path / "s.db", on_fetched=lambda _: seen.append(sys.getswitchinterval()))
    assert seen and set(seen) == {goodwill.ingest.GIL_SWITCH_INTERVAL}
    assert sys.getswitchinterval() == before
    small = replace(config, sources=config.sources[: PROCESS_MIN_FEEDS - 1])
    seen.clear()
    _run(small, tmp_path / "small.db", on_fetched=lambda _: seen.append(sys.getswitchinterval()))
    assert set(seen) == {before}


def test_overlapping_large_runs_restore_the_interval_when_the_last_ends() -> None:
    """Two large runs in one process (threads of a worker): the first to end leaves the short
    interval to the other, and the last one restores the process's own."""
    import sys

    before = sys.getswitchinterval()
    first = goodwill.ingest._quick_gil_handoffs(True)
    second = goodwill.ingest._quick_gil_handoffs(True)
    first.__enter__()
    second.__enter__()
    assert sys.getswitchinterval() == goodwill.ingest.GIL_SWITCH_INTERVAL
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() == goodwill.ingest.GIL_SWITCH_INTERVAL
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == before


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="pipe sizes are Linux's")
def test_widened_worker_pipes_take_a_body_in_one_write() -> None:
    """An executor's call and result pipes, widened, hold PIPE_BYTES, not Linux's 64 KiB: a feed's
    body goes to a worker in one write instead of the two sides taking turns."""
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        widen_pipes(executor)
        ends = [
            end
            for queue in (executor._call_queue, executor._result_queue)  # type: ignore[attr-defined]
            for end in (queue._reader, queue._writer)
        ]
        sizes = {fcntl.fcntl(end.fileno(), fcntl.F_GETPIPE_SZ) for end in ends}
        assert sizes == {PIPE_BYTES}
        assert executor.submit(len, b"x" * (3 * PIPE_BYTES)).result() == 3 * PIPE_BYTES
    finally:
        executor.shutdown()


def test_widening_what_has_no_pipes_changes_nothing() -> None:
    """Another Python may keep its queues elsewhere: then nothing is widened, nothing fails."""
    widen_pipes(object())  # type: ignore[arg-type]
