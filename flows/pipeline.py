"""The flows: ingest, draft, publish, and a cycle running the three.

Each flow reads the config afresh, so an edit takes effect at the next run; an invalid edit
fails that run fast (and emits ``goodwill.config.invalid``) while the schedule keeps going.
Tasks are coarse (one per step, never one per feed): a task run costs ~16 ms here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.events import PrefectSink
from goodwill import app
from goodwill.app import CycleResult
from goodwill.config import Config
from goodwill.drafting import DraftResult
from goodwill.ingest import IngestResult
from goodwill.publishing import PublishResult
from goodwill.text import slug

__all__ = ["cycle_flow", "draft_flow", "ingest_flow", "publish_flow", "reconcile_flow"]


def _config(config_dir: str) -> Config:
    return app.load(Path(config_dir), PrefectSink())


# The store, not Prefect's cache, decides what is new: never cache these tasks.
@task(name="ingest-sources", cache_policy=NO_CACHE)
def ingest_task(config: Config) -> IngestResult:
    return app.ingest_step(config, PrefectSink())


@task(name="draft-posts", cache_policy=NO_CACHE)
def draft_task(config: Config) -> DraftResult:
    return app.draft_step(config, PrefectSink())


# No retries: a publish that failed after sending must be reconciled, never blindly repeated.
@task(name="publish-due", cache_policy=NO_CACHE)
def publish_task(config: Config, channel: str | None = None) -> PublishResult:
    return app.publish_step(config, PrefectSink(), channel=channel)


@task(name="reconcile", cache_policy=NO_CACHE)
def reconcile_task(config: Config, channel: str | None = None) -> PublishResult:
    return app.reconcile_step(config, PrefectSink(), channel=channel)


def _items_artifact(config: Config, result: IngestResult) -> None:
    if not result.new:
        return
    create_table_artifact(
        key=f"{slug(config.brand.name)}-new-items",
        table=[{"source": s, "title": t, "url": u} for s, t, u in result.new[:200]],
        description=f"{result.new_items} new items from {result.sources} sources "
        f"({result.failed} failed)",
    )


# --- source health (issue #5): failing and dead sources after each ingest -------------------


def _sources_artifact(config: Config) -> None:
    from goodwill.ingest import source_health

    store = app.open_store(config)
    try:
        rows = source_health(config, store, app.now_utc())
    finally:
        store.close()
    unhealthy = [r for r in rows if r["health"] in ("failing", "dead")]
    create_table_artifact(
        key=f"{slug(config.brand.name)}-source-health",
        table=[
            {
                "source": r["name"],
                "health": r["health"],
                "failures": r["failures"],
                "reason": r["reason"] or "",
                "last_success": r["last_success_at"].isoformat() if r["last_success_at"] else "",
                "next_fetch": r["next_fetch_at"].isoformat() if r["next_fetch_at"] else "",
            }
            for r in unhealthy
        ]
        or [{"sources": "all healthy"}],
        description=f"{sum(r['health'] == 'dead' for r in unhealthy)} dead, "
        f"{sum(r['health'] == 'failing' for r in unhealthy)} failing of {len(rows)} sources",
    )


def _queue_artifact(config: Config) -> None:
    store = app.open_store(config)
    try:
        posts = store.posts.find(states=("draft", "approved", "held"), limit=200)
    finally:
        store.close()
    rows = [
        {
            "id": p.id,
            "channel": p.channel,
            "category": p.category,
            "state": str(p.state),
            "scheduled_for": p.scheduled_for.astimezone(config.brand.tz).strftime("%a %d %b %H:%M")
            if p.scheduled_for
            else "",
            "text": p.text[:140],
            "reason": p.reason or "",
        }
        for p in posts
    ]
    create_table_artifact(
        key=f"{slug(config.brand.name)}-queue",
        table=rows or [{"queue": "empty"}],
        description=f"{len(rows)} posts waiting",
    )


def _unknown_artifact(config: Config) -> None:
    """Every post whose outcome is unknown, with what reconciliation checked: the owner decides."""
    store = app.open_store(config)
    try:
        posts = store.posts.find(states=("unknown",), limit=200)
    finally:
        store.close()
    rows = [
        {
            "id": p.id,
            "channel": p.channel,
            "network": p.network,
            "first_sent_at": p.first_sent_at.isoformat(timespec="seconds")
            if p.first_sent_at
            else "",
            "checked": p.checked or "not checked yet: the next publish run looks",
            "reason": p.reason or "",
            "text": p.text[:140],
        }
        for p in posts
    ]
    create_table_artifact(
        key=f"{slug(config.brand.name)}-unknown",
        table=rows or [{"unknown": "none: every post's outcome is known"}],
        description=f"{len(rows)} posts whose outcome is unknown "
        "(goodwill approve ID re-sends, goodwill reject ID leaves it)",
    )


@flow(name="goodwill-ingest", timeout_seconds=timedelta(minutes=15).total_seconds())
def ingest_flow(config_dir: str = "config") -> IngestResult:
    """Fetch every source and store new items."""
    config = _config(config_dir)
    result = ingest_task(config)
    _items_artifact(config, result)
    _sources_artifact(config)
    return result


@flow(name="goodwill-draft")
def draft_flow(config_dir: str = "config") -> DraftResult:
    """Draft posts from new items and queue the owner's posts."""
    config = _config(config_dir)
    result = draft_task(config)
    _queue_artifact(config)
    return result


@flow(name="goodwill-publish")
def publish_flow(config_dir: str = "config", channel: str | None = None) -> PublishResult:
    """Publish every post that is due."""
    config = _config(config_dir)
    result = publish_task(config, channel)
    _queue_artifact(config)
    _unknown_artifact(config)
    return result


@flow(name="goodwill-reconcile")
def reconcile_flow(config_dir: str = "config", channel: str | None = None) -> PublishResult:
    """Settle posts whose outcome is unknown (also done at the start of every publish)."""
    config = _config(config_dir)
    result = reconcile_task(config, channel)
    _unknown_artifact(config)
    return result


@flow(name="goodwill-cycle")
def cycle_flow(config_dir: str = "config") -> CycleResult:
    """One full cycle: ingest, draft, publish what is due."""
    config = _config(config_dir)
    ingested = ingest_task(config)
    _items_artifact(config, ingested)
    _sources_artifact(config)
    drafted = draft_task(config)
    published = publish_task(config)
    _queue_artifact(config)
    _unknown_artifact(config)
    return CycleResult(ingested, drafted, published, {"ratio": config.policy.ratio})
