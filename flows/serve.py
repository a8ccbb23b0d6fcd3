"""``goodwill serve``: every deployment served from one process, on its schedule and triggers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import serve as prefect_serve
from prefect.events import DeploymentEventTrigger
from prefect.schedules import Cron

from flows.pipeline import cycle_flow, draft_flow, ingest_flow, publish_flow
from goodwill.config import load_config

__all__ = ["INGEST_CRON", "PUBLISH_CRON", "deployments", "serve"]

INGEST_CRON = "*/30 * * * *"
PUBLISH_CRON = "*/5 * * * *"


def deployments(config_dir: Path) -> list[Any]:
    """The four deployments, parameterised with the (absolute) config folder."""
    config = load_config(config_dir)
    tz = config.brand.timezone
    params = {"config_dir": str(config_dir.resolve())}
    brand = config.brand.name
    return [
        ingest_flow.to_deployment(
            name="ingest",
            schedules=[Cron(INGEST_CRON, timezone=tz)],
            parameters=params,
            concurrency_limit=1,
            tags=["goodwill", brand],
            description="Fetch every source; new items emit goodwill.items.ingested.",
        ),
        draft_flow.to_deployment(
            name="draft",
            parameters=params,
            concurrency_limit=1,
            tags=["goodwill", brand],
            triggers=[
                DeploymentEventTrigger(
                    expect={"goodwill.items.ingested"}, match={"goodwill.brand": brand}
                )
            ],
            description="Draft posts when new items arrive.",
        ),
        publish_flow.to_deployment(
            name="publish",
            schedules=[Cron(PUBLISH_CRON, timezone=tz)],
            parameters=params,
            concurrency_limit=1,
            tags=["goodwill", brand],
            description="Publish whatever is due in its slot, through the ratio gate.",
        ),
        cycle_flow.to_deployment(
            name="cycle",
            parameters=params,
            concurrency_limit=1,
            tags=["goodwill", brand],
            description="One full cycle on demand (Run from the UI).",
        ),
    ]


def serve(config_dir: Path) -> None:
    # Schedules stay active when this process stops: a restart picks up where it left off.
    prefect_serve(*deployments(config_dir), pause_on_shutdown=False)
