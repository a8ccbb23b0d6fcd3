"""The steps run in-process (``--no-prefect``): same signatures as ``flows.steps``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from goodwill import app
from goodwill.drafting import DraftResult
from goodwill.events import LoggingSink
from goodwill.ingest import IngestResult
from goodwill.publishing import PublishResult

__all__ = ["cycle", "draft", "ingest", "publish", "reconcile"]


def ingest(config_dir: Path, on_fetched: Callable[[str], None] | None = None) -> IngestResult:
    sink = LoggingSink()
    return app.ingest_step(app.load(config_dir, sink), sink, on_fetched=on_fetched)


def draft(config_dir: Path) -> DraftResult:
    sink = LoggingSink()
    return app.draft_step(app.load(config_dir, sink), sink)


def publish(config_dir: Path, channel: str | None = None) -> PublishResult:
    sink = LoggingSink()
    return app.publish_step(app.load(config_dir, sink), sink, channel=channel)


def reconcile(config_dir: Path, channel: str | None = None) -> PublishResult:
    sink = LoggingSink()
    return app.reconcile_step(app.load(config_dir, sink), sink, channel=channel)


def cycle(config_dir: Path, on_fetched: Callable[[str], None] | None = None) -> app.CycleResult:
    sink = LoggingSink()
    return app.cycle_step(app.load(config_dir, sink), sink, on_fetched=on_fetched)
