"""Automations: tell the owner when something needs a person, through a notification block.

``goodwill setup --notify BLOCK`` creates (or updates: it is idempotent) one automation per
event below, each sending through the Prefect notification block the owner chose — a Custom
Webhook, a Slack Webhook, an email block (SendgridEmail, or prefect-email's EmailServerCredentials
via Apprise), anything that is a ``NotificationBlock``. The events' resources carry the brand and
channel, so one automation per brand per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from prefect.automations import AutomationCore, EventTrigger, SendNotification
from prefect.blocks.core import Block
from prefect.blocks.notifications import CustomWebhookNotificationBlock

__all__ = ["ALERTS", "create_webhook_block", "ensure_automations", "notification_block_id"]


@dataclass(frozen=True)
class Alert:
    event: str
    title: str
    body: str


_WHERE = "{{ event.resource.get('goodwill.channel', event.resource.get('goodwill.brand')) }}"
_POST = "{{ event.resource.get('goodwill.post', '?') }}"

#: The events that need a person, and what the notification says (Jinja on the event).
ALERTS = (
    Alert(
        "goodwill.post.failed",
        "post failed",
        f"Post {_POST} on {_WHERE} failed: {{{{ event.payload.get('reason', '') }}}}. "
        "It will not be retried; `goodwill queue --state failed` lists it.",
    ),
    Alert(
        "goodwill.post.unknown",
        "post outcome unknown",
        f"Post {_POST} on {_WHERE} may or may not have gone out: "
        "{{ event.payload.get('reason', '') }}. Check the account; it is never blindly retried.",
    ),
    Alert(
        "goodwill.channel.paused",
        "channel paused",
        f"Channel {_WHERE} is paused until {{{{ event.payload.get('until', '?') }}}}: "
        "{{ event.payload.get('reason', '') }}. Posts wait; renew the token if it expired.",
    ),
    Alert(
        "goodwill.slot.missed",
        "slot missed",
        f"A posting slot on {_WHERE} was missed ({{{{ event.payload.get('slot', '?') }}}}, "
        "{{ event.payload.get('waiting', 0) }} posts waiting). Is the schedule running?",
    ),
    Alert(
        "goodwill.config.invalid",
        "config invalid",
        "The config of {{ event.resource.get('goodwill.brand') }} is invalid; runs fail until "
        "it is fixed: {{ event.payload.get('errors', []) | join('; ') }}",
    ),
)


def automation_name(brand: str, alert: Alert) -> str:
    return f"goodwill {brand}: {alert.title}"


def notification_block_id(slug: str) -> UUID:
    """The id of a saved notification block, from ``TYPE/NAME`` (e.g. ``slack-webhook/studio``)."""
    block: Any = Block.load(slug)
    block_id = block._block_document_id
    if block_id is None:
        raise ValueError(f"block {slug} has no id; save it first")
    return UUID(str(block_id))


def create_webhook_block(name: str, url: str) -> str:
    """Save a Custom Webhook block posting JSON ``{subject, body}`` to ``url``; its slug."""
    CustomWebhookNotificationBlock(  # type: ignore[call-arg]  # optional fields
        name=name,
        url=url,
        json_data={"subject": "{{subject}}", "body": "{{body}}", "name": "{{name}}"},
    ).save(name, overwrite=True)
    return f"custom-webhook/{name}"


def ensure_automations(brand: str, block_id: UUID) -> list[dict[str, Any]]:
    """Create or update the automations of ``brand``; returns ``[{name, id, created}]``."""
    from prefect.client.orchestration import get_client

    done: list[dict[str, Any]] = []
    with get_client(sync_client=True) as client:
        for alert in ALERTS:
            name = automation_name(brand, alert)
            wanted = AutomationCore(
                name=name,
                description=f"Notify when {alert.event} fires for {brand}",
                trigger=EventTrigger(
                    expect={alert.event},
                    match={"goodwill.brand": brand},
                    posture="Reactive",  # type: ignore[arg-type]
                    threshold=1,
                    within=timedelta(0),
                ),
                actions=[
                    SendNotification(
                        block_document_id=block_id,
                        subject=f"Goodwill {brand}: {alert.title}",
                        body=alert.body,
                    )
                ],
            )
            existing = client.read_automations_by_name(name)
            if existing:
                first, *extra = existing
                client.update_automation(first.id, wanted)
                for dup in extra:  # a race between two setups: keep one
                    client.delete_automation(dup.id)
                done.append({"name": name, "id": str(first.id), "created": False})
            else:
                new_id = client.create_automation(wanted)
                done.append({"name": name, "id": str(new_id), "created": True})
    return done
