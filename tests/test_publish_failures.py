"""Failure handling above the connectors: in-run retries with backoff, quotas before refusals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from goodwill import publishing
from goodwill.config import Config
from goodwill.errors import Transient
from goodwill.events import RecordingSink
from goodwill.models import PostState
from goodwill.publishing import Retry, publish_due
from goodwill.store import Store
from tests.fakes import FakeConnector, FakeNetwork
from tests.helpers_publishing import MONDAY_9, queue_posts, write_config


@pytest.fixture
def config(tmp_path: Path, brand: str) -> Config:
    return write_config(tmp_path / "config", brand)


def test_transient_failures_are_retried_with_bounded_jittered_backoff(
    config: Config, store: Store, _no_retry_waits: list[float]
) -> None:
    net = FakeNetwork().fail_next("a", Transient("refused"), Transient("refused"))
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    result = publish_due(
        config, store, MONDAY_9 + timedelta(minutes=5), RecordingSink(), net.factory
    )
    assert result.published == 1 and store.posts.get(post_id).state == PostState.PUBLISHED
    assert len(_no_retry_waits) == 2
    assert _no_retry_waits == [0.5, 1.0]  # half of 1 s, then half of 2 s (fixed jitter)


def test_backoff_doubles_up_to_the_cap() -> None:
    retry = Retry(tries=6, base=1.0, cap=8.0, jitter=lambda: 1.0)
    assert list(retry.delays()) == [1.0, 2.0, 4.0, 8.0, 8.0]
    half = Retry(tries=3, jitter=lambda: 0.5)
    assert list(half.delays()) == [0.5, 1.0]


def test_a_post_still_failing_after_the_tries_stays_queued(
    config: Config, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(publishing, "RETRY", Retry(tries=2, sleep=waits.append))
    net = FakeNetwork().fail_next("a", *[Transient("refused")] * 2)
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    publish_due(config, store, MONDAY_9 + timedelta(minutes=5), RecordingSink(), net.factory)
    post = store.posts.get(post_id)
    assert post.state == PostState.APPROVED and "will retry" in (post.reason or "")
    assert len(waits) == 1 and net.sent == []


class QuotaConnector(FakeConnector):
    quotas: ClassVar[tuple[tuple[int, timedelta], ...]] = ((2, timedelta(hours=12)),)


def test_a_network_quota_is_respected_before_the_network_refuses(
    config: Config, store: Store
) -> None:
    net = FakeNetwork()

    def factory(channel: Any, config: Config) -> FakeConnector:
        return QuotaConnector(net, channel.name)

    queue_posts(store, "a", "vvv", MONDAY_9 - timedelta(hours=1))
    lines: list[str] = []
    for hours in (0, 4, 9):  # the 09:00, 13:00 and 18:00 slots
        when = MONDAY_9 + timedelta(hours=hours, minutes=5)
        result = publish_due(config, store, when, RecordingSink(), factory, only_channel="a")
        lines += result.lines
    assert len(net.sent) == 2
    assert any("allows 2 posts per 12:00:00" in line for line in lines)
    assert [p.state for p in store.posts.find(channel="a", states=["approved"])] == [
        PostState.APPROVED
    ]
