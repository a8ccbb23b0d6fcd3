"""Domain records passed between the core's steps: items, posts, receipts.

Plain frozen dataclasses: the store maps them to rows, connectors read them, nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "NETWORKS",
    "Item",
    "Kind",
    "OutgoingPost",
    "Post",
    "PostState",
    "Receipt",
]

NETWORKS = ("x", "facebook", "linkedin", "mastodon", "bluesky", "outbox")


class Kind(StrEnum):
    VALUE = "value"
    PROMOTION = "promotion"


class PostState(StrEnum):
    """``draft → approved → publishing → published``; or rejected, held, failed, unknown."""

    DRAFT = "draft"
    APPROVED = "approved"
    HELD = "held"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    REJECTED = "rejected"
    FAILED = "failed"
    UNKNOWN = "unknown"


#: States in which a post waits for a slot.
QUEUED_STATES = (PostState.APPROVED, PostState.HELD)


@dataclass(frozen=True, slots=True)
class Item:
    """One news entry from a source, keyed by its canonical URL."""

    url: str
    title: str
    source: str
    author: str | None = None
    summary: str = ""
    published_at: datetime | None = None
    id: int | None = None
    fetched_at: datetime | None = None
    duplicate_of: int | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """Text for one channel, with its category, link, credit and state."""

    channel: str
    category: str
    kind: Kind
    text: str
    state: PostState
    link: str | None = None
    credit: str | None = None
    item_id: int | None = None
    id: int | None = None
    network: str = ""
    origin: str = "draft"  # draft | own | config
    own_key: str | None = None
    pinned_at: datetime | None = None  # an own post due at a set time, not a slot
    scheduled_for: datetime | None = None
    slot_at: datetime | None = None
    published_at: datetime | None = None
    reason: str | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    override: str | None = None
    created_at: datetime | None = None
    attempt_id: str | None = None
    lease_until: datetime | None = None
    first_sent_at: datetime | None = None
    checked: str | None = None
    checked_at: datetime | None = None
    credit_source: str | None = None  # where the credit came from: "sources.yaml", "page: ..."
    comment: str | None = None  # the owner's own words, added in review
    opener: str | None = None  # the template opener used (rotation reads it back)


@dataclass(frozen=True, slots=True)
class OutgoingPost:
    """What a connector is asked to publish: final text, nothing left to decide."""

    post_id: int
    channel: str
    network: str
    category: str
    kind: Kind
    text: str
    link: str | None
    credit: str | None
    #: Stable per post (the same on every attempt): networks that honour idempotency keys get it.
    idempotency_key: str
    #: This attempt's id (the ledger's claim); differs on each attempt.
    attempt_id: str = ""
    #: A link card, for networks that show one (LinkedIn article, Bluesky external embed).
    card_title: str | None = None
    card_description: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the network answered: its id for the post and a URL to see it."""

    remote_id: str
    url: str | None = None
    published_at: datetime | None = None
