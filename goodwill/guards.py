"""Freshness and spam guards checked at publish time: what must leave the queue, and why.

``guard`` is pure; ``sweep`` applies it to a channel's queue (publishing calls it once per channel
before claiming a slot). A dropped post becomes ``rejected`` with the reason, never silently lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from goodwill.models import Post

if TYPE_CHECKING:
    from goodwill.config import Config
    from goodwill.store import Store

__all__ = ["guard", "sweep"]


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} hours"


def guard(
    post: Post,
    now: datetime,
    *,
    item_published: datetime | None,
    max_item_age: timedelta,
    recent_links: dict[str, datetime],
    link_window: timedelta,
    season: str | None = None,
) -> str | None:
    """Why ``post`` must not go out now (a reason to show the owner), or None."""
    if season:
        return season
    if post.item_id is not None and item_published is not None:
        age = now - item_published
        if age > max_item_age:
            return (
                f"stale: the story is {_age(age)} old at publish time "
                f"(policy.yaml max_item_age {_age(max_item_age)})"
            )
    if post.link and post.link in recent_links and post.override is None:
        when = recent_links[post.link]
        if now - when < link_window:
            return (
                f"this link went out on {post.channel} on {when:%Y-%m-%d}; "
                f"not again within {_age(link_window)} (policy.yaml link_window)"
            )
    return None


def sweep(config: Config, store: Store, channel: Any, now: datetime) -> list[tuple[Post, str]]:
    """Drop the channel's waiting posts that ``guard`` refuses; return them with the reasons."""
    from goodwill.drafting import expired_own_posts
    from goodwill.store import history

    queued = store.posts.queued(channel.name)
    if not queued:
        return []
    seasons = dict(expired_own_posts(config, store, now, queued))
    links = history.recent_links(store, channel.name, now - config.policy.link_window)
    published = store.items.published_times(p.item_id for p in queued if p.item_id)
    drops: list[tuple[Post, str]] = []
    for post in queued:
        reason = guard(
            post,
            now,
            item_published=published.get(post.item_id) if post.item_id else None,
            max_item_age=config.policy.max_item_age,
            recent_links=links,
            link_window=config.policy.link_window,
            season=seasons.get(post.id or 0),
        )
        if reason:
            drops.append((post, reason))
    moved = set(history.retire(store, [(p.id or 0, r) for p, r in drops], now))
    return [(p, r) for p, r in drops if p.id in moved]
