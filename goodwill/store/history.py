"""What drafting and the guards need to know about a channel's past: openers, links, own posts.

Kept apart from ``store/posts.py`` (the publishing state machine): read-mostly queries, plus
``retire`` which takes a waiting post out of the queue with a reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from goodwill.models import QUEUED_STATES, PostState
from goodwill.store.schema import posts

if TYPE_CHECKING:
    from goodwill.store import Store

__all__ = ["last_published", "own_copies", "recent_links", "recent_openers", "retire"]

_GONE = (str(PostState.REJECTED), str(PostState.FAILED))
_OUT = ("publishing", "published", "unknown")


def recent_openers(store: Store, channel: str, limit: int) -> list[str | None]:
    """Openers of the channel's latest posts (drafted or sent, not rejected), newest first."""
    if limit <= 0:
        return []
    order = func.coalesce(posts.c.published_at, posts.c.scheduled_for, posts.c.created_at)
    with store.begin() as conn:
        return list(
            conn.scalars(
                select(posts.c.opener)
                .where(
                    posts.c.brand == store.brand,
                    posts.c.channel == channel,
                    posts.c.state.not_in(_GONE),
                    posts.c.origin == "draft",
                )
                .order_by(order.desc(), posts.c.id.desc())
                .limit(limit)
            )
        )


def recent_links(store: Store, channel: str, since: datetime) -> dict[str, datetime]:
    """Links that went out on the channel since ``since``: {link: when}."""
    when = func.coalesce(posts.c.published_at, posts.c.updated_at)
    with store.begin() as conn:
        rows = conn.execute(
            select(posts.c.link, when).where(
                posts.c.brand == store.brand,
                posts.c.channel == channel,
                posts.c.state.in_(_OUT),
                posts.c.link.is_not(None),
                when >= since,
            )
        )
        out: dict[str, datetime] = {}
        for link, at in rows:
            out[link] = max(at, out.get(link, at))
        return out


def own_copies(store: Store, channel: str, key: str) -> list[tuple[str, str, datetime | None]]:
    """Every copy of an own post on the channel: (own_key, state, published_at)."""
    with store.begin() as conn:
        rows = conn.execute(
            select(posts.c.own_key, posts.c.state, posts.c.published_at).where(
                posts.c.brand == store.brand,
                posts.c.channel == channel,
                (posts.c.own_key == key) | posts.c.own_key.like(f"{key}~%"),
            )
        )
        return [(k, s, p) for k, s, p in rows]


def last_published(store: Store, channel: str) -> str | None:
    """The own key (base, without the ~copy suffix) of the channel's latest post, if own."""
    when = func.coalesce(posts.c.published_at, posts.c.updated_at)
    with store.begin() as conn:
        key = conn.scalar(
            select(posts.c.own_key)
            .where(
                posts.c.brand == store.brand,
                posts.c.channel == channel,
                posts.c.state.in_(_OUT),
            )
            .order_by(when.desc(), posts.c.id.desc())
            .limit(1)
        )
    return key.split("~")[0] if key else None


def retire(store: Store, drops: Iterable[tuple[int, str]], now: datetime) -> list[int]:
    """Take waiting posts out of the queue as ``rejected`` with the reason; ids actually moved."""
    from goodwill.store.posts import move

    queued = [str(s) for s in (*QUEUED_STATES, PostState.DRAFT)]
    moved: list[int] = []
    with store.begin() as conn:
        for post_id, reason in drops:
            state = conn.scalar(select(posts.c.state).where(posts.c.id == post_id))
            if state is not None and move(
                conn,
                post_id,
                posts.c.state.in_(queued),
                state,
                PostState.REJECTED,
                now,
                reason,
                reason,
                {"scheduled_for": None},
            ):
                moved.append(post_id)
    return moved


def revise(store: Store, post_id: int, now: datetime, **values: object) -> bool:
    """Change a waiting post's text, comment or credit (review); False if it already left."""
    from goodwill.store.posts import annotate

    queued = [str(s) for s in (*QUEUED_STATES, PostState.DRAFT)]
    with store.begin() as conn:
        state = conn.scalar(
            select(posts.c.state).where(posts.c.brand == store.brand, posts.c.id == post_id)
        )
        note = "revised in review: " + ", ".join(sorted(values))
        return state in queued and annotate(conn, post_id, state, now, note, dict(values))
