"""The steps as Prefect flow runs: same signatures as ``goodwill.local`` (used by the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flows.pipeline import cycle_flow, draft_flow, ingest_flow, publish_flow, reconcile_flow
from goodwill.app import CycleResult
from goodwill.drafting import DraftResult
from goodwill.ingest import IngestResult
from goodwill.publishing import PublishResult

__all__ = ["cycle", "draft", "ingest", "publish", "reconcile"]


def ingest(config_dir: Path, on_fetched: Callable[[str], None] | None = None) -> IngestResult:
    # Progress lives in the Prefect UI for flow runs; ``on_fetched`` is for in-process runs.
    return ingest_flow(str(config_dir))


def draft(config_dir: Path) -> DraftResult:
    return draft_flow(str(config_dir))


def publish(config_dir: Path, channel: str | None = None) -> PublishResult:
    return publish_flow(str(config_dir), channel)


def reconcile(config_dir: Path, channel: str | None = None) -> PublishResult:
    return reconcile_flow(str(config_dir), channel)


def cycle(config_dir: Path, on_fetched: Callable[[str], None] | None = None) -> CycleResult:
    return cycle_flow(str(config_dir))
