"""The owner's own posts: seasons that end with a reason, evergreen recycling, the ratio kept."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from goodwill.config import Config
from goodwill.drafting import draft
from goodwill.events import RecordingSink
from goodwill.models import Kind, Post
from goodwill.publishing import publish_due
from goodwill.ratio import violations
from goodwill.store import Store
from tests.fakes import FakeNetwork
from tests.helpers_voice import add_items, write_config

# Monday 2 March 2026, 09:00 in London is 09:00 UTC.
MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ONE_CHANNEL = "channels:\n  - {name: a, network: outbox, slots: {daily: ['09:00']}}\n"


def make(tmp_path: Path, brand: str, posts: str, **kw: str) -> Config:
    return write_config(
        tmp_path / "config", brand, channels=kw.pop("channels", ONE_CHANNEL), posts=posts, **kw
    )


@pytest.fixture
def open_store(database_url: str) -> Iterator[object]:
    stores: list[Store] = []

    def opener(config: Config) -> Store:
        stores.append(Store.open(config.brand.name, url=database_url))
        return stores[-1]

    yield opener
    for s in stores:
        s.close()


def day(config: Config, store: Store, net: FakeNetwork, when: datetime) -> RecordingSink:
    """One day: draft at the slot's time, publish five minutes later."""
    sink = RecordingSink()
    draft(config, store, when, sink)
    publish_due(config, store, when + timedelta(minutes=5), sink, net.factory)
    return sink


def by_key(store: Store, key: str) -> list[Post]:
    return [p for p in store.posts.find() if (p.own_key or "").split("~")[0] == key]


def test_promotions_stay_within_their_season_and_leave_with_a_reason(
    tmp_path: Path, brand: str, open_store: object
) -> None:
    config = make(
        tmp_path,
        brand,
        """posts:
  - {key: winter, category: promotion, text: "Winter sessions!", start: 2026-03-01, end: 2026-03-04}
  - {key: summer, category: promotion, text: "Summer sessions!", start: 2026-06-01}
  - {key: tip, category: tip, text: "A tip."}
""",
        policy="ratio: 4\ngrace: 30m\ndiscover_credits: false\n",
    )
    store = open_store(config)  # type: ignore[operator]
    net = FakeNetwork()
    for d in range(3):  # Mon..Wed: the ratio holds the promotion (only one tip to share)
        day(config, store, net, MONDAY_9 + timedelta(days=d))
    assert [p.state for p in by_key(store, "winter")] == ["held"]
    assert by_key(store, "summer") == []  # not in season yet: never queued
    # Thursday: the season ended on Wednesday night; the publisher drops it before the slot.
    sink = RecordingSink()
    publish_due(config, store, MONDAY_9 + timedelta(days=3, minutes=5), sink, net.factory)
    [winter] = by_key(store, "winter")
    assert winter.state == "rejected"
    assert winter.reason == "season ended on 2026-03-04 (posts.yaml winter: end)"
    assert [e for e in sink.events if e[0] == "goodwill.post.dropped"]
    assert "promotion" not in net.kinds("a")
    # The next draft does not bring it back.
    draft(config, store, MONDAY_9 + timedelta(days=5), RecordingSink())
    assert [p.state for p in by_key(store, "winter")] == ["rejected"]


def test_an_expired_post_also_leaves_at_the_draft_step(
    tmp_path: Path, brand: str, open_store: object
) -> None:
    config = make(
        tmp_path,
        brand,
        'posts:\n  - {key: w, category: promotion, text: "W", end: 2026-03-02}\n',
        policy="ratio: 4\ndiscover_credits: false\n",
    )
    store = open_store(config)  # type: ignore[operator]
    draft(config, store, MONDAY_9, RecordingSink())
    result = draft(config, store, MONDAY_9 + timedelta(days=1), RecordingSink())
    assert result.retired == 1
    [w] = by_key(store, "w")
    assert (w.state, w.reason) == ("rejected", "season ended on 2026-03-02 (posts.yaml w: end)")


EVERGREEN = """evergreen: {min_gap: 3d, max_queued: 1}
posts:
  - {key: cats, category: personal, text: "Meet Pixel and Bokeh.", evergreen: true}
  - {key: tip, category: tip, text: "Golden hour tip.", evergreen: true, weight: 2}
  - {key: once, category: tip, text: "Not evergreen."}
"""


def test_evergreen_posts_come_back_after_the_gap_best_first_never_twice_in_a_row(
    tmp_path: Path, brand: str, open_store: object
) -> None:
    config = make(tmp_path, brand, EVERGREEN)
    store = open_store(config)  # type: ignore[operator]
    net = FakeNetwork()
    for d in range(20):
        day(config, store, net, MONDAY_9 + timedelta(days=d))
    sent = [(s.text, i) for i, s in enumerate(net.sent)]
    keys = [t for t, _ in sent]
    assert keys[:3] == ["Meet Pixel and Bokeh.", "Golden hour tip.", "Not evergreen."]
    assert keys.count("Not evergreen.") == 1
    assert keys.count("Golden hour tip.") >= 4 and keys.count("Meet Pixel and Bokeh.") >= 3
    for a, b in itertools.pairwise(keys):
        assert a != b  # never the same post twice in a row
    published = [p for p in store.posts.find(states=("published",)) if p.published_at]
    for key in ("cats", "tip"):
        times = sorted(p.published_at for p in published if (p.own_key or "").startswith(key))  # type: ignore[misc]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert gaps and min(gaps) >= timedelta(days=3)
    # At most max_queued recycled copies wait at any time.
    waiting = [p for p in store.posts.find(states=("approved", "held")) if "~" in (p.own_key or "")]
    assert len(waiting) <= 1


def test_the_best_evergreen_post_is_recycled_first(
    tmp_path: Path, brand: str, open_store: object
) -> None:
    config = make(tmp_path, brand, EVERGREEN)
    store = open_store(config)  # type: ignore[operator]
    net = FakeNetwork()
    for d in range(3):  # cats, tip, once go out
        day(config, store, net, MONDAY_9 + timedelta(days=d))
    # Ten days later both are due again; only one may wait: the tip (weight 2) wins.
    draft(config, store, MONDAY_9 + timedelta(days=13), RecordingSink())
    waiting = store.posts.find(states=("approved",))
    assert [p.own_key for p in waiting] == ["tip~2"]


def test_an_evergreen_post_is_not_recycled_right_after_itself(
    tmp_path: Path, brand: str, open_store: object
) -> None:
    config = make(
        tmp_path,
        brand,
        "evergreen: {min_gap: 0d}\nposts:\n"
        '  - {key: t, category: tip, text: "T", evergreen: true}\n',
    )
    store = open_store(config)  # type: ignore[operator]
    net = FakeNetwork()
    day(config, store, net, MONDAY_9)
    draft(config, store, MONDAY_9 + timedelta(days=1), RecordingSink())
    assert [p.own_key for p in store.posts.find()] == ["t"]  # it went out last: not again yet
    add_items(store, "Site", [("https://example.org/n", "Some news")], MONDAY_9 + timedelta(days=1))
    day(config, store, net, MONDAY_9 + timedelta(days=1))  # the news goes out
    draft(config, store, MONDAY_9 + timedelta(days=2), RecordingSink())
    assert "t~2" in [p.own_key for p in store.posts.find()]


def test_promotions_appear_only_where_the_ratio_allows(
    tmp_path: Path, brand: str, open_store: object
) -> None:
    config = make(
        tmp_path,
        brand,
        """evergreen: {min_gap: 2d, max_queued: 2}
posts:
  - {key: book, category: promotion, text: "Book us.", link: "https://studio.example/book",
     evergreen: true}
  - {key: sale, category: promotion, text: "Prints sale.", evergreen: true}
  - {key: tip, category: tip, text: "Tip.", evergreen: true}
""",
        channels=(
            "channels:\n"
            "  - {name: a, network: outbox, slots: {daily: ['09:00', '13:00', '18:00']}}\n"
            "  - {name: b, network: outbox, slots: {daily: ['10:00']}}\n"
        ),
        policy="ratio: 3\ngrace: 30m\nmax_per_day: 10\nlink_window: 1d\ndiscover_credits: false\n",
    )
    store = open_store(config)  # type: ignore[operator]
    net = FakeNetwork()
    for d in range(14):
        start = MONDAY_9 + timedelta(days=d)
        add_items(
            store,
            "Site",
            [(f"https://example.org/{d}-{i}", f"News {d} {i}") for i in range(2)],
            start,
        )
        draft(config, store, start, RecordingSink())
        for hour in (0, 1, 4, 9):
            publish_due(
                config,
                store,
                start + timedelta(hours=hour, minutes=5),
                RecordingSink(),
                net.factory,
            )
    for channel in ("a", "b"):
        kinds = net.kinds(channel)
        assert "promotion" in kinds
        assert violations([Kind(k) for k in kinds], 3) == [], kinds
