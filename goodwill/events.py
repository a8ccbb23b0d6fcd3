"""Events each step emits. The core talks to an ``EventSink``; the flows plug in Prefect's."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["EVENTS", "EventSink", "LoggingSink", "RecordingSink", "resource"]

EVENTS = (
    "goodwill.items.ingested",
    "goodwill.drafts.created",
    "goodwill.post.approved",
    "goodwill.post.published",
    "goodwill.post.held",
    "goodwill.post.failed",
    "goodwill.post.unknown",
    "goodwill.slot.missed",
    "goodwill.channel.paused",
    "goodwill.config.invalid",
)

logger = logging.getLogger("goodwill")


class EventSink(Protocol):
    def emit(self, event: str, resource: dict[str, str], payload: dict[str, Any]) -> None:
        """Publish one event; must not raise (events are best effort, the store is the truth)."""
        ...


def resource(brand: str, channel: str | None = None, post: int | None = None) -> dict[str, str]:
    """A Prefect resource naming the brand, and the channel and post when there is one."""
    rid = f"goodwill.brand.{brand}"
    out = {"goodwill.brand": brand}
    if channel:
        rid += f".channel.{channel}"
        out["goodwill.channel"] = channel
    if post is not None:
        rid += f".post.{post}"
        out["goodwill.post"] = str(post)
    out["prefect.resource.id"] = rid
    out["prefect.resource.name"] = channel or brand
    return out


class LoggingSink:
    """Events as debug log lines: what ``--no-prefect`` runs use."""

    def emit(self, event: str, resource: dict[str, str], payload: dict[str, Any]) -> None:
        logger.debug("event %s %s %s", event, resource["prefect.resource.id"], payload)


@dataclass
class RecordingSink:
    """Keeps every event (tests, and the CLI's summary of a run)."""

    events: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def emit(self, event: str, resource: dict[str, str], payload: dict[str, Any]) -> None:
        self.events.append((event, resource, payload))

    def names(self) -> list[str]:
        return [e[0] for e in self.events]
