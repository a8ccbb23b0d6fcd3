"""The core's events, emitted to Prefect's event bus."""

from __future__ import annotations

import logging
from typing import Any

from prefect.events import emit_event

logger = logging.getLogger("goodwill.flows")


class PrefectSink:
    """An ``EventSink`` that emits Prefect events; never lets a failure to emit break a step."""

    def emit(self, event: str, resource: dict[str, str], payload: dict[str, Any]) -> None:
        try:
            emit_event(event=event, resource=resource, payload=payload)
        except Exception:  # events are best effort: the store is the truth
            logger.warning("could not emit %s", event, exc_info=True)
