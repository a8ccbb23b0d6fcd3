"""``goodwill serve``: every deployment served from one process, on its schedule and triggers."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from prefect.events import DeploymentEventTrigger
from prefect.exceptions import TerminationSignal
from prefect.runner import Runner
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
    """Serve every deployment until SIGINT/SIGTERM; the schedules stay active afterwards.

    A SIGTERM while the deployments register and the runner starts is held until the runner
    has started, and then stops it as a later one does (Prefect's runner stops gracefully once
    started). Prefect's own handler, set when the runner begins to start, exits at once until
    it has started, from wherever the main thread is, and the serve test saw that exit lost:
    the command served on until a second SIGTERM.
    """
    deps = deployments(config_dir)
    if on_ready is not None:
        on_ready(deps)
    with _HeldSigterm() as held:
        # Schedules stay active when this process stops: a restart picks up where it left off.
        runner = Runner(pause_on_shutdown=False)
        for deployment in deps:
            runner.add_deployment(deployment)
        if held.requested:
            return  # asked to stop before anything was served
        with contextlib.suppress(KeyboardInterrupt, TerminationSignal):
            asyncio.run(_run(runner, held))


async def _run(runner: Runner, held: _HeldSigterm) -> None:
    """``runner.start()``, with SIGTERM held until it has started."""
    start = asyncio.ensure_future(runner.start())
    await asyncio.sleep(0)  # start() has run to its first await: it has set its handler
    prefect_handler = held.hold()
    # Prefect offers no event for "started": its flag is read ten times a second meanwhile.
    while not runner.started and not start.done():
        await asyncio.sleep(0.1)
    held.release(prefect_handler)
    if held.requested and runner.started:
        runner.handle_sigterm()  # the graceful stop a SIGTERM gets from now on
    await start


class _HeldSigterm:
    """While entered (in the main thread), a SIGTERM is recorded in ``requested``, not acted
    on; the handler before is restored on leaving."""

    def __init__(self) -> None:
        self.requested = False
        self._active = threading.current_thread() is threading.main_thread()
        self._previous: Any = None

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def hold(self) -> Any:
        """Record SIGTERMs from now on; returns the handler that was set."""
        return signal.signal(signal.SIGTERM, self._record) if self._active else None

    def release(self, handler: Any) -> None:
        """Hand SIGTERMs to ``handler`` from now on."""
        if self._active and handler is not None:
            signal.signal(signal.SIGTERM, handler)

    def __enter__(self) -> _HeldSigterm:
        self._previous = self.hold()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release(self._previous)
