"""Tables of the store (SQLAlchemy Core), built by the migrations in ``goodwill/migrations``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UTCDateTime",
    "channel_state",
    "item_age",
    "items",
    "metadata",
    "pages",
    "post_log",
    "posts",
    "slot_misses",
    "sources",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on SQLite (no time zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware: datetime = (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )
        return aware


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("brand", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("url", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_fetched_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_status", String(20)),
    Column("last_error", Text),
    Column("failures", Integer, nullable=False, default=0),
    Column("next_fetch_at", UTCDateTime),
    Column("moved_to", Text),
    Column("body_hash", String(64)),
    UniqueConstraint("brand", "name"),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("brand", String(200), nullable=False),
    Column("source", String(200), nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("title_key", String(200), nullable=False),
    Column("author", Text),
    # The feed's summary HTML, made plain text when an item is read (goodwill.html.summary_html).
    Column("summary_html", Text, nullable=False, default=""),
    Column("published_at", UTCDateTime),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("duplicate_of", Integer, ForeignKey("items.id")),
    Column("drafted_at", UTCDateTime),
    UniqueConstraint("brand", "url"),
)
#: An item's age is its publication time, or its fetch time when the feed gave none: the dedupe
#: window, the drafting queue and the latest items all read items by it (migration 0007).
item_age = func.coalesce(items.c.published_at, items.c.fetched_at)
Index("ix_items_brand_age", items.c.brand, item_age)

posts = Table(
    "posts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("brand", String(200), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("network", String(20), nullable=False),
    Column("category", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("text", Text, nullable=False),
    Column("link", Text),
    Column("credit", Text),
    Column("item_id", Integer, ForeignKey("items.id")),
    Column("origin", String(20), nullable=False, default="draft"),
    Column("own_key", String(200)),
    Column("pinned_at", UTCDateTime),
    Column("scheduled_for", UTCDateTime),
    Column("slot_at", UTCDateTime),
    Column("published_at", UTCDateTime),
    Column("reason", Text),
    Column("remote_id", Text),
    Column("remote_url", Text),
    Column("override", Text),
    Column("attempt_id", String(64)),
    Column("lease_until", UTCDateTime),
    # The ledger: when a request for this post may first have left (the idempotency window
    # counts from here), and what reconciliation last checked on the network (for the owner).
    Column("first_sent_at", UTCDateTime),
    Column("checked", Text),
    Column("checked_at", UTCDateTime),
    # Where the credit came from (sources.yaml, the article page's twitter:creator, ...).
    Column("credit_source", Text),
    # The owner's own words for this post (review); they replace the template's opener.
    Column("comment", Text),
    # The opener the template used, so the next drafts on the channel pick another.
    Column("opener", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # One draft per item and channel; one own post per key and channel; one post per slot.
    UniqueConstraint("brand", "channel", "item_id"),
    UniqueConstraint("brand", "channel", "own_key"),
    UniqueConstraint("brand", "channel", "slot_at"),
    Index(None, "brand", "channel", "state"),
    Index(None, "brand", "state"),
)

post_log = Table(
    "post_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("post_id", Integer, ForeignKey("posts.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("from_state", String(20)),
    Column("to_state", String(20), nullable=False),
    Column("note", Text),
    Index(None, "post_id"),
)

slot_misses = Table(
    "slot_misses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("brand", String(200), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("slot_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("waiting", Integer, nullable=False, default=0),
    UniqueConstraint("brand", "channel", "slot_at"),
)

channel_state = Table(
    "channel_state",
    metadata,
    Column("brand", String(200), primary_key=True),
    Column("channel", String(200), primary_key=True),
    Column("paused_until", UTCDateTime),
    Column("paused_reason", Text),
    # Up to when missed slots have been recorded for this channel.
    Column("checked_at", UTCDateTime),
)

#: Article pages read once for attribution (author/publisher handles), cached per URL.
pages = Table(
    "pages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("brand", String(200), nullable=False),
    Column("url", Text, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # ok | error
    Column("credits", Text, nullable=False, default="{}"),  # JSON: what the page says
    Column("error", Text),
    UniqueConstraint("brand", "url"),
)
