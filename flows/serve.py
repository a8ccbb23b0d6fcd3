"""``goodwill serve``: every deployment served from one process, on its schedule and triggers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import serve as prefect_serve
from prefect.events import DeploymentEventTrigger
from prefect.schedules import Cron

from flows.pipeline import cycle_flow, draft_flow, ingest_flow, publish_flow
from flows.report import report_flow
from flows.review import review_flow
from goodwill.config import load_config

__all__ = ["INGEST_CRON", "PUBLISH_CRON", "REPORT_CRON", "deployments", "serve"]

INGEST_CRON = "*/30 * * * *"
PUBLISH_CRON = "*/5 * * * *"
REPORT_CRON = "0 7 * * *"


def deployments(config_dir: Path) -> list[Any]:
    """The four deployments, parameterised with the (absolute) config folder."""
    config = load_config(config_dir)
    tz = config.brand.timezone
    params = {"config_dir": str(config_dir.resolve())}
    brand = config.brand.name
    reviewed = [c.name for c in config.channels if c.review == "required"]
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
        review_flow.to_deployment(
            name="review",
            parameters=params,
            tags=["goodwill", brand],
            # One review per channel's batch of drafts; only channels with review: required.
            triggers=[
                DeploymentEventTrigger(
                    expect={"goodwill.drafts.created"},
                    match={"goodwill.brand": brand, "goodwill.channel": reviewed},
                    parameters={
                        "config_dir": params["config_dir"],
                        "channel": "{{ event.resource['goodwill.channel'] }}",
                    },
                )
            ]
            if reviewed
            else [],
            description="Approve, reject or edit drafts in a form (open the paused run, Resume).",
        ),
        report_flow.to_deployment(
            name="report",
            schedules=[Cron(REPORT_CRON, timezone=tz)],
            parameters=params,
            concurrency_limit=1,
            tags=["goodwill", brand],
            description="The week's queue, the ratio, failures, source health and the weekly "
            "report, as artifacts.",
        ),
        cycle_flow.to_deployment(
            name="cycle",
            parameters=params,
            concurrency_limit=1,
            tags=["goodwill", brand],
            description="One full cycle on demand (Run from the UI).",
        ),
    ]


def serve(config_dir: Path, on_ready: Any = None) -> None:
    """Serve every deployment until SIGINT/SIGTERM; the schedules stay active afterwards."""
    deps = deployments(config_dir)
    if on_ready is not None:
        on_ready(deps)
    # Schedules stay active when this process stops: a restart picks up where it left off.
    prefect_serve(*deps, pause_on_shutdown=False)
