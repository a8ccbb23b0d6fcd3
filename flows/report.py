"""The report flow: what the owner sees on the UI's Artifacts page, each under a stable key so
every run adds a version to its history."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.pipeline import _config
from goodwill import app, report
from goodwill.config import Config
from goodwill.text import slug

__all__ = ["publish_report_artifacts", "report_flow"]


def _key(config: Config, *parts: str) -> str:
    # Artifact keys: lowercase letters, digits and dashes only.
    return "-".join([slug(config.brand.name), *(slug(p) for p in parts)])


def publish_report_artifacts(config: Config) -> dict[str, str]:
    """Create every report artifact; returns {what: key}."""
    now = app.now_utc()
    store = app.open_store(config)
    keys: dict[str, str] = {}
    try:
        for channel, rows in report.week_queue_rows(config, store, now).items():
            key = keys[f"queue {channel}"] = _key(config, "week", channel)
            create_table_artifact(
                key=key,
                table=rows or [{"queue": "nothing planned this week"}],
                description=f"{channel}: the coming week's posts ({len(rows)})",
            )
        ratio: list[dict[str, Any]] = report.ratio_rows(config, store, now, days=30)
        keys["ratio"] = _key(config, "ratio")
        create_table_artifact(
            key=keys["ratio"],
            table=ratio,
            description="Value vs promotion per channel, last 30 days; held promotions and why",
        )
        problems = report.problems_rows(config, store)
        keys["problems"] = _key(config, "problems")
        create_table_artifact(
            key=keys["problems"],
            table=problems or [{"problems": "none: nothing failed, nothing unknown"}],
            description=f"{len(problems)} failed or unknown post(s)",
        )
        keys["sources"] = _key(config, "sources")
        sources = report.source_rows(config, store)
        failing = sum(1 for s in sources if s["health"] == "failing")
        create_table_artifact(
            key=keys["sources"],
            table=sources,
            description=f"Source health: {failing} of {len(sources)} failing",
        )
        keys["weekly"] = _key(config, "weekly-report")
        create_markdown_artifact(
            key=keys["weekly"],
            markdown=report.weekly_markdown(config, store, now),
            description="Weekly report",
        )
    finally:
        store.close()
    return keys


@flow(name="goodwill-report")
def report_flow(config_dir: str = "config") -> dict[str, str]:
    """The week's queue per channel, the ratio, failures, source health and the weekly report."""
    return publish_report_artifacts(_config(config_dir))
