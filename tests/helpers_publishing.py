"""What several publishing tests share: a config with two outbox channels, approved posts
queued in order, and the Monday the slots are counted from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from goodwill.config import Config, load_config
from goodwill.models import Kind, Post, PostState
from goodwill.store import Store

# Monday 2 March 2026, 09:00 in London is 09:00 UTC (winter time).
MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def write_config(
    root: Path, brand: str, *, ratio: int = 2, channels: str | None = None, max_per_day: int = 10
) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "brand.yaml").write_text(f"name: {brand}\ntimezone: Europe/London\n")
    (root / "sources.yaml").write_text("sources: []\n")
    (root / "channels.yaml").write_text(
        channels
        or (
            "channels:\n"
            "  - name: a\n    network: outbox\n    slots: {daily: ['09:00', '13:00', '18:00']}\n"
            "  - name: b\n    network: outbox\n    slots: {daily: ['09:00', '13:00', '18:00']}\n"
        )
    )
    (root / "policy.yaml").write_text(f"ratio: {ratio}\ngrace: 30m\nmax_per_day: {max_per_day}\n")
    return load_config(root)


def queue_posts(store: Store, channel: str, kinds: str, at: datetime, **extra: object) -> list[int]:
    """Queue one approved post per letter: v = value, P = promotion."""
    posts = [
        Post(
            channel=channel,
            network="outbox",
            category="promotion" if k == "P" else "tip",
            kind=Kind.PROMOTION if k == "P" else Kind.VALUE,
            text=f"{channel} post {i} ({k})",
            state=PostState.APPROVED,
            origin="own",
            **extra,
        )  # type: ignore[arg-type]
        for i, k in enumerate(kinds)
    ]
    ids: list[int] = []
    for post in posts:  # one at a time: creation order is queue order
        ids += store.posts.add([post], at)
        at += timedelta(microseconds=1)
    return ids


def approved_tip(
    channel: str, text: str, link: str | None = None, *, network: str = "outbox", **extra: Any
) -> Post:
    """An approved own tip (a value post), ready for its channel's next slot."""
    return Post(
        channel=channel,
        network=network,
        category="tip",
        kind=Kind.VALUE,
        text=text,
        link=link,
        state=PostState.APPROVED,
        origin="own",
        **extra,
    )
