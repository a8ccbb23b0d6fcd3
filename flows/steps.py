"""The steps as Prefect flow runs: same signatures as ``goodwill.local`` (used by the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flows.events import PrefectSink
from flows.pipeline import cycle_flow, draft_flow, ingest_flow, publish_flow, reconcile_flow
from goodwill import app
from goodwill.app import CycleResult
from goodwill.drafting import DraftResult
from goodwill.ingest import IngestResult
from goodwill.publishing import PublishResult

__all__ = ["cycle", "draft", "ingest", "publish", "reconcile"]


def _check(config_dir: Path) -> None:
    """An invalid config stops here, before a flow run: one readable error on the terminal (and
    the ``goodwill.config.invalid`` event); scheduled runs report it in the UI instead."""
    app.load(config_dir, PrefectSink())


def ingest(config_dir: Path, on_fetched: Callable[[str], None] | None = None) -> IngestResult:
    # Progress lives in the Prefect UI for flow runs; ``on_fetched`` is for in-process runs.
    _check(config_dir)
    return ingest_flow(str(config_dir))


def draft(config_dir: Path) -> DraftResult:
    _check(config_dir)
    return draft_flow(str(config_dir))


def publish(config_dir: Path, channel: str | None = None) -> PublishResult:
    _check(config_dir)
    return publish_flow(str(config_dir), channel)


def reconcile(config_dir: Path, channel: str | None = None) -> PublishResult:
    _check(config_dir)
    return reconcile_flow(str(config_dir), channel)


def cycle(config_dir: Path, on_fetched: Callable[[str], None] | None = None) -> CycleResult:
    _check(config_dir)
    return cycle_flow(str(config_dir))
