"""Publishing through slots and the ratio gate, on SQLite and PostgreSQL, with a fake network."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goodwill.config import Config
from goodwill.errors import (
    AuthFailed,
    ConfigError,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)
from goodwill.events import RecordingSink
from goodwill.models import Kind, PostState
from goodwill.publishing import project_queue, publish_due
from goodwill.ratio import Published, violations
from goodwill.store import Store
from tests.fakes import FakeNetwork
from tests.helpers_publishing import MONDAY_9, queue_posts, write_config


@pytest.fixture
def config(tmp_path: Path, brand: str) -> Config:
    return write_config(tmp_path / "config", brand)


def run_slots(
    config: Config,
    store: Store,
    net: FakeNetwork,
    start: datetime,
    days: int,
    sink: RecordingSink | None = None,
) -> None:
    sink = sink or RecordingSink()
    for day in range(days):
        for hour in (9, 13, 18):
            publish_due(
                config,
                store,
                start + timedelta(days=day, hours=hour - 9, minutes=5),
                sink,
                net.factory,
            )


def test_value_post_fills_the_current_slot_once(config: Config, store: Store) -> None:
    net = FakeNetwork()
    queue_posts(store, "a", "vv", MONDAY_9 - timedelta(hours=1))
    result = publish_due(
        config, store, MONDAY_9 + timedelta(minutes=5), RecordingSink(), net.factory
    )
    assert result.published == 1
    again = publish_due(
        config, store, MONDAY_9 + timedelta(minutes=10), RecordingSink(), net.factory
    )
    assert again.published == 0  # the slot is filled: no burst
    [published] = store.posts.find(states=("published",))
    assert (
        published.slot_at == MONDAY_9
        and published.remote_id
        and published.remote_id.startswith("fake-")
    )


def test_promotion_waits_for_enough_value_posts(config: Config, store: Store) -> None:
    net = FakeNetwork()
    sink = RecordingSink()
    queue_posts(store, "a", "Pvvvv", MONDAY_9 - timedelta(hours=1))
    publish_due(config, store, MONDAY_9 + timedelta(minutes=5), sink, net.factory)
    [held] = store.posts.find(states=("held",))
    assert held.kind == Kind.PROMOTION
    assert held.reason and "needs 1 more value post first" in held.reason  # one went out since
    assert "goodwill.post.held" in sink.names()
    run_slots(config, store, net, MONDAY_9, 2)
    assert net.kinds("a") == ["value", "value", "promotion", "value", "value"]
    assert violations([Published(Kind(k)) for k in net.kinds("a")], 2) == []


def test_missed_slots_are_recorded_never_burst(config: Config, store: Store) -> None:
    net = FakeNetwork()
    sink = RecordingSink()
    queue_posts(store, "a", "vvv", MONDAY_9 - timedelta(hours=2))
    # Goodwill was down all day: the 09:00 and 13:00 slots passed their grace period.
    result = publish_due(config, store, MONDAY_9 + timedelta(hours=8), sink, net.factory)
    assert result.published == 0 and net.sent == []
    assert result.missed == 2
    missed = store.posts.missed("a")
    assert sorted(m["slot_at"] for m in missed) == [MONDAY_9, MONDAY_9 + timedelta(hours=4)]
    assert sink.names().count("goodwill.slot.missed") == 2
    publish_due(config, store, MONDAY_9 + timedelta(hours=8, minutes=1), sink, net.factory)
    assert len(store.posts.missed("a")) == 2  # recorded once


def test_pinned_post_goes_out_at_its_time_without_a_slot(config: Config, store: Store) -> None:
    net = FakeNetwork()
    at = MONDAY_9 + timedelta(hours=2)
    queue_posts(store, "a", "v", MONDAY_9, pinned_at=at)
    assert (
        publish_due(
            config, store, at - timedelta(minutes=1), RecordingSink(), net.factory
        ).published
        == 0
    )
    assert (
        publish_due(
            config, store, at + timedelta(minutes=1), RecordingSink(), net.factory
        ).published
        == 1
    )
    [post] = store.posts.find(states=("published",))
    assert post.slot_at is None


def test_a_pinned_post_whose_time_passed_unseen_takes_the_next_free_slot(
    config: Config, store: Store
) -> None:
    """Pinned for 10:00, first seen at 11:05 (past the 30-minute grace, Goodwill was not
    running): unpinned with the reason, and out at the 13:00 slot, not at once."""
    net = FakeNetwork()
    at = MONDAY_9 + timedelta(hours=1)
    [post_id] = queue_posts(store, "a", "v", MONDAY_9, pinned_at=at)
    publish_due(config, store, at + timedelta(hours=1, minutes=5), RecordingSink(), net.factory)
    waiting = store.posts.get(post_id)
    assert net.sent == [] and waiting.pinned_at is None
    assert waiting.reason is not None and "its time passed" in waiting.reason
    assert any("its time passed" in (e["note"] or "") for e in store.posts.log(post_id))
    publish_due(
        config, store, MONDAY_9 + timedelta(hours=4, minutes=5), RecordingSink(), net.factory
    )
    assert net.post_ids() == [post_id]
    assert store.posts.get(post_id).slot_at == MONDAY_9 + timedelta(hours=4)
    # A post that left the queue is not unpinned: nothing changes, nothing is logged.
    gone = store.posts.get(post_id)
    logged = len(store.posts.log(post_id))
    assert store.posts.unpin(gone, "late", MONDAY_9 + timedelta(hours=5)) is False
    assert len(store.posts.log(post_id)) == logged


def test_promotion_by_hand_needs_an_override_which_is_recorded(
    config: Config, store: Store
) -> None:
    net = FakeNetwork()
    now = MONDAY_9 + timedelta(hours=2)
    [plain] = queue_posts(store, "a", "P", MONDAY_9, pinned_at=now)
    publish_due(config, store, now, RecordingSink(), net.factory)
    assert store.posts.get(plain).state == PostState.HELD
    [forced] = queue_posts(store, "b", "P", MONDAY_9, pinned_at=now, override="launch day")
    publish_due(config, store, now, RecordingSink(), net.factory)
    post = store.posts.get(forced)
    assert post.state == PostState.PUBLISHED and post.override == "launch day"
    assert any("override" in (entry["note"] or "") for entry in store.posts.log(forced))


@pytest.mark.parametrize(
    ("error", "state", "reason_part"),
    [
        (Transient("connection refused"), PostState.APPROVED, "will retry"),
        (Rejected("Status is a duplicate."), PostState.FAILED, "Status is a duplicate."),
        (UnknownOutcome("read timeout"), PostState.UNKNOWN, "read timeout"),
        (AuthFailed("token expired"), PostState.APPROVED, "token expired"),
        (
            RateLimited("429", reset_at=MONDAY_9 + timedelta(hours=1)),
            PostState.APPROVED,
            "rate limited",
        ),
    ],
)
def test_network_failures_leave_every_post_accounted_for(
    config: Config, store: Store, error: Exception, state: PostState, reason_part: str
) -> None:
    tries = 3 if isinstance(error, Transient) else 1  # transient errors are retried in-run
    net = FakeNetwork().fail_next("a", *[error] * tries)
    sink = RecordingSink()
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    publish_due(config, store, MONDAY_9 + timedelta(minutes=5), sink, net.factory)
    post = store.posts.get(post_id)
    assert post.state == state
    assert post.reason and reason_part in post.reason
    if isinstance(error, AuthFailed | RateLimited):
        assert "goodwill.channel.paused" in sink.names()
        assert store.posts.channel_status("a")["paused_until"] > MONDAY_9
        # Paused: the next run does not touch the channel.
        publish_due(config, store, MONDAY_9 + timedelta(minutes=6), sink, net.factory)
        assert net.sent == []


def test_transient_failure_is_retried_in_the_same_slot(config: Config, store: Store) -> None:
    net = FakeNetwork().fail_next("a", *[Transient("connection refused")] * 3)
    queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    publish_due(config, store, MONDAY_9 + timedelta(minutes=5), RecordingSink(), net.factory)
    assert net.sent == []
    publish_due(config, store, MONDAY_9 + timedelta(minutes=10), RecordingSink(), net.factory)
    assert len(net.sent) == 1


def test_one_broken_channel_does_not_stop_the_others(config: Config, store: Store) -> None:
    net = FakeNetwork().break_channel("a", ConfigError("credential env:X is not set: export X=..."))
    queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    queue_posts(store, "b", "v", MONDAY_9 - timedelta(hours=1))
    result = publish_due(
        config, store, MONDAY_9 + timedelta(minutes=5), RecordingSink(), net.factory
    )
    assert result.published == 1 and net.texts() == ["b post 0 (v)"]
    assert any("export X" in line for line in result.lines)
    assert store.posts.find(channel="a")[0].state == PostState.APPROVED


def test_daily_cap(tmp_path: Path, brand: str, database_url: str) -> None:
    config = write_config(tmp_path / "c", brand, max_per_day=2)
    store = Store.open(config.brand.name, url=database_url)
    net = FakeNetwork()
    queue_posts(store, "a", "vvvv", MONDAY_9 - timedelta(hours=1))
    run_slots(config, store, net, MONDAY_9, 1)
    assert len(net.texts("a")) == 2
    store.close()


def test_projection_shows_when_each_post_goes_and_why_a_promotion_waits(
    config: Config, store: Store
) -> None:
    queue_posts(store, "a", "Pvv", MONDAY_9 - timedelta(hours=1))
    project_queue(config, store, config.channel("a"), MONDAY_9 - timedelta(minutes=30))
    promo = next(p for p in store.posts.find(channel="a") if p.kind == Kind.PROMOTION)
    values = [p for p in store.posts.find(channel="a") if p.kind == Kind.VALUE]
    assert [v.scheduled_for for v in values] == [MONDAY_9, MONDAY_9 + timedelta(hours=4)]
    assert promo.scheduled_for == MONDAY_9 + timedelta(hours=9)
    assert promo.reason and "needs 2 more value posts" in promo.reason


def test_two_publishers_at_once_fill_a_slot_once(
    config: Config, store: Store, database_url: str
) -> None:
    net = FakeNetwork()
    queue_posts(store, "a", "vvvv", MONDAY_9 - timedelta(hours=1))
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        own = Store.open(config.brand.name, url=database_url)
        try:
            barrier.wait()
            publish_due(
                config,
                own,
                MONDAY_9 + timedelta(minutes=5),
                RecordingSink(),
                net.factory,
                only_channel="a",
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(net.texts("a")) == 1


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(st.sampled_from("vvP"), min_size=1, max_size=14),
    overrides=st.sets(st.integers(min_value=0, max_value=13), max_size=3),
    ratio=st.integers(min_value=0, max_value=4),
    runs=st.lists(st.integers(min_value=0, max_value=3 * 24 * 60), min_size=1, max_size=30),
)
def test_ratio_rule_holds_for_any_queue_and_any_run_times(
    tmp_path_factory: pytest.TempPathFactory,
    kinds: list[str],
    overrides: set[int],
    ratio: int,
    runs: list[int],
) -> None:
    """Property: whatever is queued and whenever publish runs, every channel keeps the rule,
    except at promotions overridden by hand; nothing is published twice; each slot once."""
    root = tmp_path_factory.mktemp("prop")
    config = write_config(root / "config", "Prop Studio", ratio=ratio)
    store = Store.open(config.brand.name, url=f"sqlite:///{root / 'g.db'}")
    net = FakeNetwork()
    start = MONDAY_9 - timedelta(hours=1)
    for i, k in enumerate(kinds):
        forced = k == "P" and i in overrides
        queue_posts(
            store,
            "a",
            k,
            start + timedelta(seconds=i),
            pinned_at=start + timedelta(hours=i) if forced else None,
            override="by hand" if forced else None,
        )
    for minute in sorted(runs):
        publish_due(
            config, store, MONDAY_9 + timedelta(minutes=minute), RecordingSink(), net.factory
        )
    published = store.posts.find(states=("published",), channel="a")
    published.sort(key=lambda p: (p.published_at, p.id))
    history = [Published(p.kind, p.override is not None) for p in published]
    assert violations(history, ratio) == []
    ids = [p.post_id for p in net.sent]
    assert len(ids) == len(set(ids))
    slots = [p.slot_at for p in published if p.slot_at]
    assert len(slots) == len(set(slots))
    # Nothing is lost: every post is published or still queued (held ones with a reason).
    for post in store.posts.find(channel="a"):
        assert post.state in (PostState.PUBLISHED, PostState.APPROVED, PostState.HELD)
        if post.state == PostState.HELD:
            assert post.reason
    store.close()


def test_a_duplicate_naming_the_existing_post_is_recorded_as_published(
    config: Config, store: Store
) -> None:
    """LinkedIn's DUPLICATE_POST names the post it already has: that post went out, once."""
    from goodwill.errors import Duplicate

    net = FakeNetwork().fail_next("a", Duplicate("DUPLICATE_POST", existing_id="urn:li:share:7"))
    net.fail_next("b", Duplicate("Status is a duplicate."))
    [known] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    [unnamed] = queue_posts(store, "b", "v", MONDAY_9 - timedelta(hours=1))
    result = publish_due(
        config, store, MONDAY_9 + timedelta(minutes=5), RecordingSink(), net.factory
    )
    assert store.posts.get(known).state == PostState.PUBLISHED
    assert store.posts.get(known).remote_id == "urn:li:share:7"
    assert store.posts.get(unnamed).state == PostState.FAILED
    assert result.published == 1 and result.failed == 1
