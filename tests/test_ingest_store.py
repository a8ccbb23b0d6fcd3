"""Storing a run's items batch by batch: the same items and the same story links however the
items are split into batches and in whatever order feeds arrive; no item lost to a failure."""

from __future__ import annotations

import itertools
import os
import random
import signal
import tempfile
import uuid
from concurrent import futures
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import goodwill.ingest
import goodwill.ingest_store
from goodwill.config import Config, Source, load_config
from goodwill.dedupe import title_key
from goodwill.ingest_store import ItemPipeline
from goodwill.store import NewItem, Store
from tests.helpers_links import check_links

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
SOURCES = [f"src{i:02d}" for i in range(12)]
# Ten stories of four words each, no word shared between stories: titles of one story match
# each other exactly (in another case), and nothing else.
STORIES = [" ".join(f"w{story}x{k}" for k in range(4)) for story in range(10)]


def _config() -> Config:
    config = load_config(ROOT / "config")
    sources = [Source(name=s, url=f"https://{s}.example/feed") for s in SOURCES]
    return replace(config, sources=sources)


@st.composite
def _runs(draw: st.DrawFn) -> tuple[list[NewItem], list[list[NewItem]]]:
    """Items of a run (each story told once per source at most), then the same items split
    into feeds-as-they-arrive in a random order and grouping."""
    items: list[NewItem] = []
    for story, words in enumerate(STORIES):
        tellers = draw(st.lists(st.sampled_from(SOURCES), unique=True, max_size=5))
        for source in tellers:
            minutes = draw(st.integers(0, 60 * 48))
            title = words.upper() if minutes % 2 else words
            items.append(
                NewItem(
                    url=f"https://{source}.example/{story}",
                    title=title,
                    title_key=title_key(title),
                    source=source,
                    author=None,
                    summary_html="",
                    published_at=NOW - timedelta(minutes=minutes),
                )
            )
    shuffled = draw(st.permutations(items))
    cuts = sorted(draw(st.lists(st.integers(0, len(items)), max_size=6)))
    bounds = [0, *cuts, len(items)]
    arrivals = [list(shuffled[a:b]) for a, b in itertools.pairwise(bounds) if b > a]
    return items, arrivals


def _store_run(
    arrivals: list[list[NewItem]], batch_items: int, link_context: BaseContext | None = None
) -> dict[str, str | None]:
    """Run the pipeline into a fresh SQLite file; return url -> url of its story's root."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"b{uuid.uuid4().hex[:6]}", url=f"sqlite:///{tmp}/s.db")
        try:
            pipeline = ItemPipeline(
                _config(), store, NOW, batch_items=batch_items, link_context=link_context
            )
            for feed in arrivals:
                pipeline.put(feed)
            stored = pipeline.finish()
            items = store.items.latest(10_000)
        finally:
            store.close()
    assert stored == len(items)
    # Counted as the links came back, whatever the batches: the duplicates stored.
    assert pipeline.duplicates == sum(i.duplicate_of is not None for i in items)
    url_of = {i.id: i.url for i in items}
    return {i.url: url_of[i.duplicate_of] if i.duplicate_of else None for i in items}


@settings(max_examples=60, deadline=None)
@given(_runs(), st.integers(1, 40))
def test_links_do_not_depend_on_batches_or_arrival_order(
    run: tuple[list[NewItem], list[list[NewItem]]], batch_items: int
) -> None:
    items, arrivals = run
    got = _store_run(arrivals, batch_items)
    # Expected: every story's earliest telling (ties: the source first by name) is the root,
    # and every other telling points straight at it.
    expected: dict[str, str | None] = {}
    for words in STORIES:
        told = sorted(
            (i for i in items if i.title_key == title_key(words)),
            key=lambda i: (i.published_at, i.source),
        )
        for k, item in enumerate(told):
            expected[item.url] = told[0].url if k else None
    assert got == expected


def _fixed_run(seed: int) -> list[list[NewItem]]:
    """Every story told by three to six sources at random times, arriving shuffled in feeds of
    up to four items."""
    rng = random.Random(seed)
    items = []
    for story, words in enumerate(STORIES):
        for source in rng.sample(SOURCES, rng.randint(3, 6)):
            minutes = rng.randint(0, 60 * 48)
            items.append(
                NewItem(
                    f"https://{source}.example/{story}",
                    words.upper() if minutes % 2 else words,
                    title_key(words),
                    source,
                    None,
                    "",
                    NOW - timedelta(minutes=minutes),
                )
            )
    rng.shuffle(items)
    return [items[k : k + rng.randint(1, 4)] for k in range(0, len(items), 4)]


def test_linking_in_a_process_gives_the_links_linking_on_the_thread_gives() -> None:
    """A large run links in a process of its own, batch after batch: the same links."""
    context = goodwill.ingest._worker_context()
    for seed in range(3):
        arrivals = _fixed_run(seed)
        here = _store_run(arrivals, batch_items=5)
        assert sum(root is not None for root in here.values()) > 10  # stories really linked
        assert _store_run(arrivals, batch_items=5, link_context=context) == here


@pytest.mark.parametrize("killed_after", [1, 4])
def test_a_link_process_that_dies_is_taken_over(
    killed_after: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link process killed after some batches went to it and their links were written:
    the batches are linked again on the store thread, from the first, and the run's links are
    the same as if it had lived."""
    arrivals = _fixed_run(11)
    expected = _store_run(arrivals, batch_items=5)
    submit = goodwill.ingest_store._Links.submit
    sent = 0

    def submit_then_kill(self: Any, known: Any, new: Any) -> None:
        nonlocal sent
        submit(self, known, new)
        sent += 1
        if sent == killed_after and self._pool is not None:
            futures.wait(self._waiting)  # their links come back (and are written) first
            for process in list(self._pool._processes.values()):
                os.kill(process.pid, signal.SIGKILL)
                process.join()

    take_over = goodwill.ingest_store._Links._take_over
    taken_over = 0

    def count_take_over(self: Any) -> None:
        nonlocal taken_over
        taken_over += 1
        assert self._handed_out == killed_after
        take_over(self)

    monkeypatch.setattr(goodwill.ingest_store._Links, "submit", submit_then_kill)
    monkeypatch.setattr(goodwill.ingest_store._Links, "_take_over", count_take_over)
    got = _store_run(arrivals, batch_items=5, link_context=goodwill.ingest._worker_context())
    assert sent > killed_after and taken_over == 1  # batches went on after the kill
    assert got == expected


AMBIGUOUS_WORDS = ["lens", "bride", "camera", "light", "studio", "film", "flash", "print"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(AMBIGUOUS_WORDS), min_size=3, max_size=6, unique=True),
            st.sampled_from(SOURCES[:4]),
            st.integers(0, 60 * 24 * 5),
        ),
        max_size=40,
    ),
    st.randoms(use_true_random=False),
    st.integers(1, 15),
)
def test_ambiguous_titles_still_keep_every_story_once(
    told: list[tuple[list[str], str, int]], rng: random.Random, batch_items: int
) -> None:
    """Titles near-identical to several others, in any arrival order and batch size: the links
    obey ``check_links``."""
    items = [
        NewItem(
            url=f"https://{source}.example/{k}",
            title=" ".join(words),
            title_key=title_key(" ".join(words)),
            source=source,
            author=None,
            summary_html="",
            published_at=NOW - timedelta(minutes=minutes),
        )
        for k, (words, source, minutes) in enumerate(told)
    ]
    rng.shuffle(items)
    arrivals = [items[k : k + 3] for k in range(0, len(items), 3)]
    roots = _store_run(arrivals, batch_items)
    assert set(roots) == {i.url for i in items}  # every telling stored, none lost
    by_url = {i.url: i for i in items}
    told_as = {u: (i.title, i.source, i.published_at or NOW) for u, i in by_url.items()}
    check_links({u: (*told_as[u], r) for u, r in roots.items()}, _config().policy.dedupe_window)


def test_sqlite_rowids_past_the_top_take_the_exact_path(tmp_path: Path) -> None:
    """After rowid 2**63-1 SQLite picks new ids at random: the fast insert path notices and
    takes the general one, and every item still gets its own id."""
    store = Store.open("wrap", url=f"sqlite:///{tmp_path / 's.db'}")
    try:
        top = NewItem("https://a.example/top", "Top", "top", "src00", None, "", NOW)
        store.items.add([top], NOW)
        with store.begin() as conn:
            conn.exec_driver_sql("UPDATE items SET id = 9223372036854775807")
        rng = random.Random(1)
        new = [
            NewItem(f"https://a.example/{k}", f"T {k}", f"t {k}", "src00", None, "", NOW)
            for k in rng.sample(range(1000), 50)
        ]
        ids = store.items.add([*new, top], NOW)
        assert set(ids) == {n.url for n in new}
        assert len(set(ids.values())) == 50
        for item in store.items.latest(100):
            assert ids.get(item.url, item.id) == item.id
    finally:
        store.close()


def test_a_store_failure_is_raised_and_nothing_is_marked_fetched(
    config_dir: Path, tmp_path: Path
) -> None:
    """If the items cannot be stored, the run fails and the sources keep their old validators,
    so the next run fetches the feeds again instead of hearing "304 Not Modified"."""
    from goodwill.demo import _point_sources_at
    from goodwill.events import RecordingSink
    from goodwill.feeds.sampleserver import serve_samples
    from goodwill.ingest import ingest

    with serve_samples(NOW) as base:
        _point_sources_at(config_dir, base)
        config = load_config(config_dir)
        store = Store.open(config.brand.name, url=f"sqlite:///{tmp_path / 's.db'}")
        try:
            with store.begin() as conn:  # a real failure inside SQLite, as a full disk gives
                conn.exec_driver_sql(
                    "CREATE TRIGGER no_room BEFORE INSERT ON items "
                    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
                )
            with pytest.raises(Exception, match="disk is full"):
                ingest(config, store, NOW, RecordingSink())
            assert store.sources.all() == {}
            with store.begin() as conn:
                conn.exec_driver_sql("DROP TRIGGER no_room")
            result = ingest(config, store, NOW, RecordingSink())
            assert result.fetched == len(config.sources) and result.new_items > 30
        finally:
            store.close()


def test_a_drafted_story_keeps_its_root_whatever_comes_earlier(tmp_path: Path) -> None:
    """A new title told earlier than two stored stories it matches, one of them drafted: it
    joins the drafted one. (Made the root, it would be drafted again: posted twice.)"""
    words = [f"word{k}" for k in range(11)]
    a_title, b_title, c_title = " ".join(words[:9]), " ".join(words[2:]), " ".join(words)

    def item(url: str, title: str, source: str, hour: int) -> NewItem:
        when = NOW.replace(hour=hour)
        return NewItem(url, title, title_key(title), source, None, "", when)

    store = Store.open("drafted", url=f"sqlite:///{tmp_path / 's.db'}")
    try:
        first = ItemPipeline(_config(), store, NOW)
        first.put([item("https://src01.example/a", a_title, "src01", 10)])
        first.put([item("https://src02.example/b", b_title, "src02", 9)])
        first.finish()
        by_url = {i.url: i for i in store.items.latest(10)}
        a, b = by_url["https://src01.example/a"], by_url["https://src02.example/b"]
        assert a.duplicate_of is None and b.duplicate_of is None  # A and B do not match
        store.items.mark_drafted([a.id], NOW)

        second = ItemPipeline(_config(), store, NOW)
        second.put([item("https://src03.example/c", c_title, "src03", 8)])
        second.finish()
        by_url = {i.url: i for i in store.items.latest(10)}
    finally:
        store.close()
    assert by_url["https://src03.example/c"].duplicate_of == a.id
    assert by_url["https://src01.example/a"].duplicate_of is None
    assert by_url["https://src02.example/b"].duplicate_of is None


def test_a_stored_summary_is_read_as_plain_text(database_url: str) -> None:
    """Items keep the feed's summary HTML; whoever reads an item gets its text: no tag, no
    script, no link."""
    store = Store.open(f"summary {uuid.uuid4().hex[:6]}", url=database_url)
    html = "<p>Hi <script>alert(1)</script><a href='javascript:x'>there</a> &amp; more</p>"
    url = "https://a.example/1"
    item = NewItem(url, "T", "t", "s", None, html, NOW)
    try:
        ids = store.items.add([item], NOW)
        stored = store.items.get(ids[url])
        assert stored is not None and stored.summary == "Hi there & more"
        undrafted = store.items.undrafted(NOW - timedelta(days=1))
        assert [i.summary for i in undrafted] == [stored.summary]
    finally:
        store.close()
