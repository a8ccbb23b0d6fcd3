"""The steps of a cycle, each opening what it needs: what the CLI (``--no-prefect``) and the
Prefect flows both call, so the two paths run the very same code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from goodwill.config import Config, load_config
from goodwill.drafting import DraftResult, draft
from goodwill.events import EventSink, resource
from goodwill.ingest import IngestResult, ingest
from goodwill.publishing import ConnectorFactory, PublishResult, project_queue, publish_due
from goodwill.store import Store

__all__ = [
    "CycleResult",
    "cycle_step",
    "draft_step",
    "ingest_step",
    "open_store",
    "publish_step",
    "reconcile_step",
]


def now_utc() -> datetime:
    return datetime.now(UTC)


def open_store(config: Config) -> Store:
    return Store.open(config.brand.name, config.dir)


def default_connectors() -> ConnectorFactory:
    from connectors import connector_for

    return connector_for


def load(config_dir: str | Path, sink: EventSink | None = None) -> Config:
    """Load the config; an invalid one emits ``goodwill.config.invalid`` before raising."""
    from goodwill.errors import ConfigError

    try:
        return load_config(config_dir)
    except ConfigError as exc:
        if sink is not None:
            sink.emit(
                "goodwill.config.invalid",
                resource(_brand_name(Path(config_dir))),
                {"errors": exc.errors[:20], "config_dir": str(config_dir)},
            )
        raise


def _brand_name(config_dir: Path) -> str:
    """The brand's name from brand.yaml even when the config is invalid (events name it)."""
    import yaml

    try:
        data = yaml.safe_load((config_dir / "brand.yaml").read_text(encoding="utf-8"))
        name = (data.get("brand") or data).get("name") if isinstance(data, dict) else None
    except (OSError, yaml.YAMLError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else (config_dir.name or "config")


def ingest_step(
    config: Config,
    sink: EventSink,
    *,
    now: datetime | None = None,
    on_fetched: Callable[[str], None] | None = None,
) -> IngestResult:
    store = open_store(config)
    try:
        return ingest(config, store, now or now_utc(), sink, on_fetched)
    finally:
        store.close()


def draft_step(config: Config, sink: EventSink, *, now: datetime | None = None) -> DraftResult:
    store = open_store(config)
    try:
        when = now or now_utc()
        result = draft(config, store, when, sink)
        for channel in config.channels:
            project_queue(config, store, channel, when)
        return result
    finally:
        store.close()


def publish_step(
    config: Config,
    sink: EventSink,
    *,
    now: datetime | None = None,
    connectors: ConnectorFactory | None = None,
    channel: str | None = None,
) -> PublishResult:
    return _per_channel(publish_due, config, sink, now, connectors, channel)


def reconcile_step(
    config: Config,
    sink: EventSink,
    *,
    now: datetime | None = None,
    connectors: ConnectorFactory | None = None,
    channel: str | None = None,
) -> PublishResult:
    """Settle posts in doubt (crashed or unanswered publishes) without publishing new ones."""
    from goodwill.reconcile import reconcile

    return _per_channel(reconcile, config, sink, now, connectors, channel)


def _per_channel(
    step: Callable[..., PublishResult],
    config: Config,
    sink: EventSink,
    now: datetime | None,
    connectors: ConnectorFactory | None,
    channel: str | None,
) -> PublishResult:
    """Run a publish-like step over every channel (or one: NotFound names the channels)."""
    if channel:
        config.channel(channel)
    store = open_store(config)
    try:
        return step(
            config,
            store,
            now or now_utc(),
            sink,
            connectors or default_connectors(),
            only_channel=channel,
        )
    finally:
        store.close()


@dataclass
class CycleResult:
    ingest: IngestResult
    draft: DraftResult
    publish: PublishResult
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "ratio": self.extra.get("ratio"),
            "ingested": self.ingest.new_items,
            "drafted": self.draft.drafted,
            "published": self.publish.published,
            "held": self.publish.held,
            "failed": self.publish.failed,
        }


def cycle_step(
    config: Config,
    sink: EventSink,
    *,
    now: datetime | None = None,
    connectors: ConnectorFactory | None = None,
    on_fetched: Callable[[str], None] | None = None,
) -> CycleResult:
    """Ingest, draft, then publish what is due: one full cycle."""
    when = now or now_utc()
    ingested = ingest_step(config, sink, now=when, on_fetched=on_fetched)
    drafted = draft_step(config, sink, now=when)
    published = publish_step(config, sink, now=when, connectors=connectors)
    return CycleResult(ingested, drafted, published, {"ratio": config.policy.ratio})
