"""Freshness and spam guards: stale news, the same link twice, daily caps, one story once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from goodwill.config import Config
from goodwill.drafting import draft
from goodwill.events import RecordingSink
from goodwill.guards import guard
from goodwill.ingest import ingest
from goodwill.models import Kind, Post, PostState
from goodwill.publishing import publish_due
from goodwill.store import Store
from tests.fakes import FakeNetwork
from tests.feedserver import FeedServer, Route
from tests.helpers_publishing import approved_tip
from tests.helpers_voice import CHANNELS_ALL, add_items, write_config

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TWO = (
    "channels:\n  - {name: a, network: outbox, slots: {daily: ['09:00', '13:00', '18:00']}}\n"
    "  - {name: b, network: outbox, slots: {daily: ['09:00']}}\n"
)


def test_guard_is_pure_and_says_why() -> None:
    post = Post(
        channel="a",
        category="curated",
        kind=Kind.VALUE,
        text="t",
        state=PostState.APPROVED,
        item_id=1,
        link="https://x.example/1",
    )
    kw = {"max_item_age": timedelta(days=3), "link_window": timedelta(days=7)}
    assert (
        guard(post, MONDAY_9, item_published=MONDAY_9 - timedelta(days=2), recent_links={}, **kw)
        is None
    )
    stale = guard(
        post, MONDAY_9, item_published=MONDAY_9 - timedelta(days=4), recent_links={}, **kw
    )
    assert (
        stale
        == "stale: the story is 4.0 days old at publish time (policy.yaml max_item_age 3.0 days)"
    )
    repeat = guard(
        post,
        MONDAY_9,
        item_published=None,
        recent_links={"https://x.example/1": MONDAY_9 - timedelta(days=6)},
        **kw,
    )
    assert repeat == (
        "this link went out on a on 2026-02-24; not again within 7.0 days (policy.yaml link_window)"
    )
    old = {"https://x.example/1": MONDAY_9 - timedelta(days=8)}
    assert guard(post, MONDAY_9, item_published=None, recent_links=old, **kw) is None
    assert guard(
        post, MONDAY_9, item_published=None, recent_links={}, season="season ended", **kw
    ) == ("season ended")


@pytest.fixture
def config(tmp_path: Path, brand: str) -> Config:
    return write_config(
        tmp_path / "config",
        brand,
        channels=TWO,
        policy=(
            "ratio: 2\ngrace: 30m\nmax_per_day: 2\nmax_item_age: 2d\nlink_window: 7d\n"
            "discover_credits: false\n"
        ),
    )


def test_stale_news_leaves_the_queue_at_publish_time(config: Config, store: Store) -> None:
    # Published a day before the draft: fresh when drafted, stale by Wednesday's slot.
    add_items(
        store, "Site", [("https://example.org/old", "Old news")], MONDAY_9 - timedelta(days=1)
    )
    draft(config, store, MONDAY_9 - timedelta(hours=1), RecordingSink())
    net = FakeNetwork()
    sink = RecordingSink()
    # Channel b's only slot is filled by nothing else: first look on Wednesday 09:05.
    publish_due(
        config, store, MONDAY_9 + timedelta(days=2, minutes=5), sink, net.factory, only_channel="b"
    )
    [post] = store.posts.find(channel="b")
    assert post.state == "rejected"
    assert post.reason is not None and post.reason.startswith("stale: the story is 3.0 days old")
    assert net.sent == []
    assert any(e[0] == "goodwill.post.dropped" for e in sink.events)


def test_the_same_link_never_goes_out_twice_within_the_window(config: Config, store: Store) -> None:
    link = "https://studio.example/guide"
    store.posts.add([approved_tip("b", "first", link)], MONDAY_9 - timedelta(hours=2))
    store.posts.add([approved_tip("b", "second", link)], MONDAY_9 - timedelta(hours=1))
    store.posts.add([approved_tip("a", "other channel", link)], MONDAY_9 - timedelta(hours=1))
    net = FakeNetwork()
    for d in range(2):
        publish_due(
            config, store, MONDAY_9 + timedelta(days=d, minutes=5), RecordingSink(), net.factory
        )
    assert net.texts("b") == ["first"]
    assert net.texts("a") == ["other channel"]  # the window is per channel
    second = next(p for p in store.posts.find(channel="b") if p.text == "second")
    assert second.state == "rejected" and "link_window" in (second.reason or "")
    # After the window the link may go out again.
    store.posts.add([approved_tip("b", "third", link)], MONDAY_9 + timedelta(days=8))
    publish_due(
        config, store, MONDAY_9 + timedelta(days=8, minutes=5), RecordingSink(), net.factory
    )
    assert net.texts("b") == ["first", "third"]


def test_at_most_max_per_day_posts_a_day_per_channel(config: Config, store: Store) -> None:
    add_items(
        store,
        "Site",
        [(f"https://example.org/{i}", f"Story number {i}") for i in range(6)],
        MONDAY_9,
    )
    draft(config, store, MONDAY_9, RecordingSink())
    net = FakeNetwork()
    for d in range(2):
        for hour in (0, 4, 9):  # 09:00, 13:00, 18:00: three slots, cap two
            publish_due(
                config,
                store,
                MONDAY_9 + timedelta(days=d, hours=hour, minutes=5),
                RecordingSink(),
                net.factory,
                only_channel="a",
            )
    days = [
        p.published_at.date()
        for p in store.posts.find(channel="a", states=("published",))
        if p.published_at
    ]
    assert days.count(MONDAY_9.date()) == 2
    assert days.count((MONDAY_9 + timedelta(days=1)).date()) == 2


RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title><link>https://{host}/</link>
<item><title>{title}</title><link>https://{host}/story</link><pubDate>{date}</pubDate></item>
<item><title>Something else from {name}</title><link>https://{host}/other</link><pubDate>{date}</pubDate></item>
</channel></rss>"""


def test_the_same_story_from_several_sources_is_shared_once_on_every_channel(
    tmp_path: Path, brand: str, database_url: str
) -> None:
    with FeedServer() as server:
        early = server.route(
            "/a.xml",
            Route(
                body=RSS.format(
                    name="Early",
                    host="early.example",
                    title="Canon announces the EOS R1 mark II camera",
                    date="Mon, 02 Mar 2026 06:00:00 GMT",
                ).encode(),
                headers={"Content-Type": "application/rss+xml"},
            ),
        )
        late = server.route(
            "/b.xml",
            Route(
                body=RSS.format(
                    name="Late",
                    host="late.example",
                    title="Canon Announces the EOS R1 Mark II Camera!",
                    date="Mon, 02 Mar 2026 07:30:00 GMT",
                ).encode(),
                headers={"Content-Type": "application/rss+xml"},
            ),
        )
        config = write_config(
            tmp_path / "config",
            brand,
            sources=(
                f"sources:\n  - {{name: Early, url: '{early}'}}\n"
                f"  - {{name: Late, url: '{late}'}}\n"
            ),
            channels=CHANNELS_ALL,
        )
        store = Store.open(config.brand.name, url=database_url)
        try:
            ingest(config, store, MONDAY_9, RecordingSink())
            draft(config, store, MONDAY_9, RecordingSink())
            for channel in ("cx", "cm", "cb", "cf"):
                posts = store.posts.find(channel=channel)
                story = [p for p in posts if "EOS R1" in p.text]
                assert len(story) == 1, [p.text for p in posts]
                assert story[0].link == "https://early.example/story"  # the earliest source
                assert len(posts) == 3
        finally:
            store.close()


def test_news_is_drafted_only_if_a_slot_can_carry_it_before_it_goes_stale(
    tmp_path: Path, brand: str, database_url: str
) -> None:
    config = write_config(
        tmp_path / "config",
        brand,
        channels=(
            "channels:\n  - {name: busy, network: outbox, slots: {daily: ['09:00', '18:00']}}\n"
            "  - {name: rare, network: outbox, slots: {fri: ['09:00']}}\n"
        ),
        policy="ratio: 2\nmax_item_age: 2d\nmax_queued: 10\ndiscover_credits: false\n",
        posts='posts:\n  - {key: p, category: promotion, text: "Book us", channels: [busy]}\n',
    )
    store = Store.open(config.brand.name, url=database_url)
    try:
        add_items(
            store,
            "Site",
            [(f"https://example.org/{i}", f"Story {i} here") for i in range(8)],
            MONDAY_9,
        )
        draft(config, store, MONDAY_9, RecordingSink())
        # Monday 09:00 to Wednesday 09:00: four slots on "busy"; the held promotion waits behind
        # news and does not take one of them. "rare" posts on Fridays only: nothing is drafted.
        busy = store.posts.find(channel="busy")
        assert sorted(p.category for p in busy) == ["curated"] * 4 + ["promotion"]
        assert store.posts.find(channel="rare") == []
        # The items not drafted anywhere stay undrafted, for a later run with room.
        assert len(store.items.undrafted(MONDAY_9 - timedelta(days=2))) == 4
    finally:
        store.close()


def test_an_items_age_runs_from_publication_or_else_from_fetching(store: Store) -> None:
    """What the stale guard reads for a whole queue in one query: the publication time, or the
    fetch time for an item its feed left undated."""
    from goodwill.store import NewItem

    fetched = MONDAY_9 - timedelta(hours=5)
    dated = NewItem(
        "https://a.example/1", "One", "one", "Site", None, "", MONDAY_9 - timedelta(days=2)
    )
    undated = NewItem("https://a.example/2", "Two", "two", "Site", None, "", None)
    ids = store.items.add([dated, undated], fetched)
    times = store.items.published_times([*ids.values(), 10**9])  # an unknown id: left out
    assert times == {
        ids[dated.url]: MONDAY_9 - timedelta(days=2),
        ids[undated.url]: fetched,
    }
