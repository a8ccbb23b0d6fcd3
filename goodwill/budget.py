"""What posts cost on networks that bill per post (X, 2026), and the monthly budget check.

Prices come from ``policy.yaml`` ``prices`` (per network), overridden per channel by
``price_per_post`` / ``price_per_post_with_url``. A post "carries a URL" when it has a link or
its text contains one (X bills those at the higher price). ``budget_hold`` is pure: the publisher
calls it before claiming a post, and a post that would take the month over the budget is held.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from goodwill.text import find_urls

__all__ = ["budget_hold", "month_start", "post_cost", "spent_this_month"]


def post_cost(config: Any, channel: Any, text: str, link: str | None) -> float:
    """The estimated price of one post on ``channel`` in dollars (0.0 where posting is free)."""
    network = getattr(channel, "network", "")
    price = config.policy.prices.get(network)
    per_post = getattr(channel, "price_per_post", None)
    with_url = getattr(channel, "price_per_post_with_url", None)
    if per_post is None:
        per_post = price.per_post if price else 0.0
    if with_url is None:
        with_url = (price.per_post_with_url if price else None) or per_post
    carries_url = bool(link) or bool(find_urls(text))
    return float(with_url if carries_url else per_post)


def month_start(now: datetime) -> datetime:
    """The first instant of ``now``'s calendar month, UTC (X bills by calendar month)."""
    at = now.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def spent_this_month(costs: Iterable[tuple[float, datetime | None]], now: datetime) -> float:
    """The sum of ``(cost, sent_at)`` this month; a post with no time yet (in flight) counts."""
    start = month_start(now)
    return sum(cost for cost, at in costs if at is None or at >= start)


def budget_hold(cost: float, spent: float, budget: float | None) -> str | None:
    """Why a post costing ``cost`` must wait, given ``spent`` so far this month; None if it fits."""
    if budget is None or cost <= 0:
        return None
    if spent + cost > budget + 1e-9:
        return (
            f"monthly budget: ${spent:.3f} of ${budget:.2f} spent; this post costs ${cost:.3f}; "
            "it waits for next month (or raise monthly_budget in channels.yaml)"
        )
    return None
