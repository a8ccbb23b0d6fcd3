"""Reconciliation: settle posts whose outcome is not known, per network, never by a blind re-send.

A post needs it when its publisher died or hung mid-call (state ``publishing``, lease expired) or
when the network's answer was lost (``unknown``: read timeout, 5xx, unexpected error). For each:

1. take it over (a conditional, durable claim: only one publisher reconciles a post);
2. ``connector.find_published(post)``: found → ``published`` with the network's id;
3. not found → the network decides:

   - still inside its idempotency window (``idempotency_window`` on the connector class, counted
     from the first request that may have left): re-send with the same idempotency key — the
     network drops it if the first one did land;
   - the lookup is authoritative (``lookup_is_authoritative``: e.g. Bluesky reads the stored
     record key): not there means not sent, so re-send;
   - else ``unknown`` for the owner, with what was checked (``goodwill queue --state unknown``;
     ``goodwill approve ID`` sends it again, ``goodwill reject ID`` leaves it).

Every check and decision is written to the post (``checked``) and its log; nothing is silent.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from goodwill.config import Config
from goodwill.connector import Connector
from goodwill.errors import ConfigError, ConnectorError
from goodwill.events import EventSink, resource
from goodwill.models import Post, PostState
from goodwill.publishing import (
    LEASE,
    ConnectorFactory,
    PublishResult,
    _send,
    build_outgoing,
)
from goodwill.store import Store

__all__ = [
    "RECHECK",
    "idempotency_window",
    "lookup_is_authoritative",
    "reconcile",
    "reconcile_channel",
]

logger = logging.getLogger("goodwill.reconcile")

#: A post left ``unknown`` for the owner is looked for again at most this often (a late-indexed
#: post still turns up; the network is not asked on every run).
RECHECK = timedelta(hours=1)


def idempotency_window(connector: Connector) -> timedelta | None:
    """How long the network drops a repeat of a request with the same idempotency key."""
    window: timedelta | None = getattr(connector, "idempotency_window", None)
    return window


def lookup_is_authoritative(connector: Connector) -> bool:
    """Whether ``find_published`` returning ``None`` proves the post is not on the network."""
    return bool(getattr(connector, "lookup_is_authoritative", False))


def reconcile(
    config: Config,
    store: Store,
    now: datetime,
    sink: EventSink,
    connector_for: ConnectorFactory,
    *,
    only_channel: str | None = None,
) -> PublishResult:
    """Reconcile every channel (or one) without publishing anything new (`goodwill reconcile`)."""
    result = PublishResult()
    for channel in config.channels_to_run(only_channel):
        paused_until = store.posts.channel_status(channel.name).get("paused_until")
        if paused_until and paused_until > now:
            result.lines.append(f"{channel.name}: paused; reconciled after {paused_until:%H:%M}")
            continue
        try:
            reconcile_channel(config, store, channel, now, sink, connector_for, result)
        except ConfigError as exc:
            result.lines.append(f"{channel.name}: not reconciled: {exc.message}")
            result.deferred += 1
    return result


def reconcile_channel(
    config: Config,
    store: Store,
    channel: Any,
    now: datetime,
    sink: EventSink,
    connector_for: ConnectorFactory,
    result: PublishResult,
) -> Connector | None:
    """Settle the channel's posts in doubt; returns the connector if one was built."""
    doubtful = store.posts.to_reconcile(channel.name, now, now - RECHECK)
    if not doubtful:
        return None
    connector = connector_for(channel, config)
    for post in doubtful:
        _reconcile_post(config, store, channel, now, sink, connector, result, post)
    return connector


def _reconcile_post(
    config: Config,
    store: Store,
    channel: Any,
    now: datetime,
    sink: EventSink,
    connector: Connector,
    result: PublishResult,
    post: Post,
) -> None:
    was = (
        "its publisher stopped mid-call (lease expired)"
        if post.state == PostState.PUBLISHING
        else "its outcome was unknown"
    )
    taken = store.posts.take_over(
        post,
        attempt_id=uuid.uuid4().hex,
        lease_until=now + LEASE,
        now=now,
        note=f"reconciling: {was}",
    )
    if taken is None:
        return  # another publisher is on it
    assert taken.id is not None
    network = channel.network
    res = resource(config.brand.name, channel.name, taken.id)
    stamp = f"{now:%Y-%m-%d %H:%M} UTC"
    try:
        found = connector.find_published(
            build_outgoing(config, store, channel, taken, taken.attempt_id or "")
        )
    except Exception as exc:
        why = exc.message if isinstance(exc, ConnectorError) else type(exc).__name__
        if not isinstance(exc, ConnectorError):
            logger.exception("find_published on %s raised unexpectedly", network)
        checked = f"{stamp}: could not look on {network}: {why}; looking again next run"
        store.posts.finish(
            taken,
            PostState.UNKNOWN,
            now,
            reason=f"outcome unknown ({was}); {network} could not be checked yet",
            checked=checked,
            checked_at=None,
        )
        result.unknown += 1
        result.lines.append(f"{channel.name}: post {taken.id}: {checked}")
        return
    if found is not None:
        checked = f"{stamp}: found on {network} as {found.remote_id}"
        store.posts.finish(
            taken,
            PostState.PUBLISHED,
            now,
            remote_id=found.remote_id,
            remote_url=found.url,
            published_at=found.published_at or post.first_sent_at or now,
            checked=checked,
            checked_at=now,
        )
        result.published += 1
        result.lines.append(f"{channel.name}: post {taken.id} reconciled: {checked}")
        sink.emit(  # the same payload as a post published directly, and how it was settled
            "goodwill.post.published",
            res,
            {
                "remote_id": found.remote_id,
                "url": found.url,
                "category": taken.category,
                "kind": str(taken.kind),
                "reconciled": True,
            },
        )
        return

    window = idempotency_window(connector)
    first = post.first_sent_at
    if window is not None and first is not None and now - first < window:
        decision = (
            f"{stamp}: not found on {network}; re-sent with the same idempotency key "
            f"({network} drops repeats for {_human(window)}, first sent {now - first} ago)"
        )
    elif lookup_is_authoritative(connector):
        decision = (
            f"{stamp}: not found on {network}, whose lookup is authoritative; "
            "so it never went out: re-sent"
        )
    else:
        past = "its idempotency window passed" if window else "it has no idempotency key"
        checked = f"{stamp}: not found among {network}'s recent posts; {past}"
        reason = (
            f"outcome unknown: {checked}. It may still be out: look on {network}, then "
            f"`goodwill approve {taken.id}` to send it again or `goodwill reject {taken.id}`"
        )
        store.posts.finish(
            taken, PostState.UNKNOWN, now, reason=reason, checked=checked, checked_at=now
        )
        result.unknown += 1
        result.lines.append(f"{channel.name}: post {taken.id} unknown: {checked}")
        sink.emit("goodwill.post.unknown", res, {"reason": reason, "checked": checked})
        return
    # The decision is recorded before the request leaves (the log of the claim holds it too).
    # If the note does not take, another publisher took the post over meanwhile: leave it.
    if not store.posts.note(taken, decision, now):
        result.lines.append(f"{channel.name}: post {taken.id} taken over by another run")
        return
    result.lines.append(f"{channel.name}: post {taken.id}: {decision}")
    _send(
        config, store, channel, now, sink, connector, result, taken, retry_state=PostState.UNKNOWN
    )


def _human(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 and minutes >= 60 else f"{minutes} min"
