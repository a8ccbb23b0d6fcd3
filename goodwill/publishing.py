"""Publishing: fill each channel's due slot with the next post the ratio gate allows.

Per channel and run: record missed slots (never burst-post them), publish pinned posts that are
due, then fill the current slot. Every claim is atomic with its gate decision (see
``PostStore.claim``); the network call happens outside the transaction; the outcome is recorded
by the attempt that claimed the post. One channel failing never stops the others.
"""

from __future__ import annotations

import logging
import random
import time as _time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from goodwill.budget import budget_hold, month_start, post_cost, spent_this_month
from goodwill.config import Config
from goodwill.connector import Connector
from goodwill.errors import (
    AuthFailed,
    ConfigError,
    ConnectorError,
    Duplicate,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)
from goodwill.events import EventSink, resource
from goodwill.models import Kind, OutgoingPost, Post, PostState, Receipt
from goodwill.ratio import Published, RatioGate
from goodwill.ratio import plan as plan_slots
from goodwill.slots import current_slot, missed_slots, slot_times
from goodwill.store import Store
from goodwill.store.posts import Choice

__all__ = ["PublishResult", "Retry", "build_outgoing", "project_queue", "publish_due"]

logger = logging.getLogger("goodwill.publish")

#: How long a claim may stay ``publishing`` before reconciliation looks at it.
LEASE = timedelta(minutes=10)
#: After an answer is lost (timeout, 5xx), how long the network may still store the request:
#: reconciliation looks only after this, so it never misses a post still being processed.
SETTLE = timedelta(minutes=2)
#: How far ahead the queue projection looks for slots.
HORIZON = timedelta(weeks=8)
#: How far back missed slots are looked for the first time a channel is checked.
FIRST_LOOKBACK = timedelta(days=1)

ConnectorFactory = Callable[[Any, Config], Connector]


@dataclass(frozen=True)
class Retry:
    """Transient failures are retried within the run: ``tries`` in all, exponential backoff with
    full jitter, never more than ``cap`` seconds a wait. Tests swap ``sleep`` (no real waits)."""

    tries: int = 3
    base: float = 1.0
    cap: float = 8.0
    sleep: Callable[[float], None] = _time.sleep
    jitter: Callable[[], float] = random.random

    def delays(self) -> Iterator[float]:
        for attempt in range(self.tries - 1):
            yield self.jitter() * min(self.cap, self.base * 2**attempt)


_TICK = timedelta(microseconds=1)
#: The retry policy ``publish_due`` uses (module-level so tests and callers can replace it).
RETRY = Retry()


def build_outgoing(
    config: Config, store: Store, channel: Any, post: Post, attempt: str = ""
) -> OutgoingPost:
    """What the connector gets for ``post`` (also what previews show)."""
    assert post.id is not None
    item = store.items.get(post.item_id) if post.item_id else None
    return OutgoingPost(
        attempt_id=attempt,
        card_title=item.title if item else None,
        card_description=item.summary[:300] if item else None,
        post_id=post.id,
        channel=channel.name,
        network=channel.network,
        category=post.category,
        kind=post.kind,
        text=post.text,
        link=post.link,
        credit=post.credit,
        idempotency_key=f"goodwill-{config.brand.name}-{post.id}",
    )


def _publish_retrying(connector: Connector, post: OutgoingPost) -> Receipt:
    """``connector.publish`` with the transient failures retried (nothing was accepted)."""
    delays = RETRY.delays()
    while True:
        try:
            return connector.publish(post)
        except Transient as exc:
            delay = next(delays, None)
            if delay is None:
                raise
            logger.info("post %s: %s; retrying in %.1fs", post.post_id, exc.message, delay)
            RETRY.sleep(delay)


def _quota_reached(store: Store, channel: Any, connector: Connector, now: datetime) -> str | None:
    """Stop before the network refuses: a connector's ``quotas`` are (posts, window) pairs."""
    for most, window in getattr(connector, "quotas", ()):
        if store.posts.published_between(channel.name, now - window, now + _TICK) >= most:
            return f"{channel.network} allows {most} posts per {window}; waiting"
    return None


@dataclass
class PublishResult:
    published: int = 0
    held: int = 0
    failed: int = 0
    unknown: int = 0
    deferred: int = 0  # transient errors and rate limits: still queued
    missed: int = 0
    paused: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # human summary, one line per event

    def as_json(self) -> dict[str, int]:
        return {
            "published": self.published,
            "held": self.held,
            "failed": self.failed,
            "unknown": self.unknown,
        }


def publish_due(
    config: Config,
    store: Store,
    now: datetime,
    sink: EventSink,
    connector_for: ConnectorFactory,
    *,
    only_channel: str | None = None,
) -> PublishResult:
    """Publish every post that is due now, on every channel (or one)."""
    result = PublishResult()
    for channel in config.channels_to_run(only_channel):
        try:
            _publish_channel(config, store, channel, now, sink, connector_for, result)
        except ConfigError as exc:
            # A missing credential pauses nothing in the store: say it and go on.
            result.lines.append(f"{channel.name}: not published: {exc.message}")
            result.deferred += 1
        project_queue(config, store, channel, now)
    return result


def _publish_channel(
    config: Config,
    store: Store,
    channel: Any,
    now: datetime,
    sink: EventSink,
    connector_for: ConnectorFactory,
    result: PublishResult,
) -> None:
    status = store.posts.channel_status(channel.name)
    paused_until = status.get("paused_until")
    if paused_until and paused_until > now:
        why = status.get("paused_reason")
        result.lines.append(
            f"{channel.name}: paused until {paused_until:%Y-%m-%d %H:%M} UTC: {why}"
        )
        return
    from goodwill.reconcile import reconcile_channel  # builds on this module

    # First settle what earlier runs left in doubt (crashes, timeouts): never send blind.
    connector = reconcile_channel(config, store, channel, now, sink, connector_for, result)

    tz = config.channel_tz(channel)
    slots = channel.weekly_slots
    grace = config.policy.grace
    _record_missed(config, store, channel, now, sink, result, status.get("checked_at"))
    _guard_queue(config, store, channel, now, sink, result)

    gate = RatioGate(config.policy.ratio)
    day_start = datetime.combine(now.astimezone(tz).date(), time(0), tz)
    cap = channel.max_per_day or config.policy.max_per_day

    # Pinned posts first (own posts with --at), then the current slot.
    for pinned in [
        p for p in store.posts.queued(channel.name) if p.pinned_at and p.pinned_at <= now
    ]:
        assert pinned.pinned_at is not None
        if pinned.pinned_at + grace < now and pinned.override is None:
            store.posts.unpin(
                pinned,
                "its time passed while Goodwill was not running; moved to the next free slot",
                now,
            )
            continue
        connector = connector or connector_for(channel, config)
        _claim_and_send(
            config,
            store,
            channel,
            now,
            sink,
            connector,
            result,
            _chooser(
                gate,
                only=pinned.id,
                cap=None,
                over_budget=budget_check(config, store, channel, now),
            ),
            slot_at=None,
            day_start=day_start,
        )

    slot = current_slot(slots, tz, now, grace)
    if slot is not None:
        connector = connector or connector_for(channel, config)
        _claim_and_send(
            config,
            store,
            channel,
            now,
            sink,
            connector,
            result,
            _chooser(
                gate,
                only=None,
                cap=cap,
                over_budget=budget_check(config, store, channel, now),
            ),
            slot_at=slot,
            day_start=day_start,
        )


def _guard_queue(
    config: Config,
    store: Store,
    channel: Any,
    now: datetime,
    sink: EventSink,
    result: PublishResult,
) -> None:
    """Freshness and spam guards (``goodwill.guards``): stale or repeated posts leave the queue."""
    from goodwill.guards import sweep

    for post, reason in sweep(config, store, channel, now):
        result.lines.append(f"{channel.name}: dropped post {post.id}: {reason}")
        sink.emit(
            "goodwill.post.dropped",
            resource(config.brand.name, channel.name, post.id),
            {"reason": reason, "category": post.category},
        )


def _chooser(
    gate: RatioGate,
    *,
    only: int | None,
    cap: int | None,
    over_budget: Callable[[Post], str | None] | None = None,
) -> Callable[[list[Post], list[tuple[Kind, bool]], int], Choice]:
    """The pure decision for one slot: the first queued post the gate allows."""

    def choose(queue: list[Post], history: list[tuple[Kind, bool]], today: int) -> Choice:
        if cap is not None and today >= cap:
            return Choice(None, [])
        published = [Published(kind, override) for kind, override in history]
        held: list[tuple[Post, str]] = []
        for post in queue:
            if only is not None and post.id != only:
                continue
            if only is None and post.pinned_at is not None:
                continue  # pinned posts wait for their own time
            if over_budget is not None and (why := over_budget(post)):
                held.append((post, why))
                continue
            decision = gate.check(published, post.kind, override=post.override is not None)
            if decision.allowed:
                return Choice(post, held)
            held.append((post, decision.reason or "held by the ratio rule"))
        return Choice(None, held)

    return choose


# --------------------------------------------------------------------------- billing (X)


def budget_check(
    config: Config, store: Store, channel: Any, now: datetime
) -> Callable[[Post], str | None] | None:
    """For a channel with ``monthly_budget``: a pure per-post check (why it must wait, or None)
    against what the channel has spent this calendar month. Made for each choice, when a post
    is due: a post sent earlier in the same run counts for the next, and a run with nothing
    due reads nothing. None when the channel has no budget."""
    budget = getattr(channel, "monthly_budget", None)
    if budget is None:
        return None
    sent = store.posts.sent_since(channel.name, month_start(now))
    spent = spent_this_month(
        ((post_cost(config, channel, p.text, p.link), p.published_at) for p in sent), now
    )

    def over_budget(post: Post) -> str | None:
        return budget_hold(post_cost(config, channel, post.text, post.link), spent, budget)

    return over_budget


def _claim_and_send(
    config: Config,
    store: Store,
    channel: Any,
    now: datetime,
    sink: EventSink,
    connector: Connector,
    result: PublishResult,
    choose: Callable[[list[Post], list[tuple[Kind, bool]], int], Choice],
    *,
    slot_at: datetime | None,
    day_start: datetime,
) -> None:
    brand = config.brand.name
    if (quota := _quota_reached(store, channel, connector, now)) is not None:
        result.deferred += 1
        result.lines.append(f"{channel.name}: {quota}")
        return
    attempt = uuid.uuid4().hex
    post, held = store.posts.claim(
        channel.name,
        choose,
        slot_at=slot_at,
        day_start=day_start,
        attempt_id=attempt,
        lease_until=now + LEASE,
        now=now,
    )
    for held_post, reason in held:
        result.held += 1
        result.lines.append(f"{channel.name}: held post {held_post.id}: {reason}")
        if held_post.state != PostState.HELD or held_post.reason != reason:
            sink.emit(
                "goodwill.post.held",
                resource(brand, channel.name, held_post.id),
                {"reason": reason, "category": held_post.category},
            )
    if post is None:
        return
    _send(
        config, store, channel, now, sink, connector, result, post, retry_state=PostState.APPROVED
    )


def _send(
    config: Config,
    store: Store,
    channel: Any,
    now: datetime,
    sink: EventSink,
    connector: Connector,
    result: PublishResult,
    post: Post,
    *,
    retry_state: PostState,
) -> None:
    """Send one claimed post and record the outcome, by the attempt that claimed it.

    Only failures known to happen before anything was accepted go back to ``retry_state``
    (``approved`` for a fresh claim; ``unknown`` for a reconciliation re-send, so the next run
    looks again before sending); anything after the request may have left is ``unknown``.
    """
    assert post.id is not None
    brand = config.brand.name
    outgoing = build_outgoing(config, store, channel, post, post.attempt_id or "")
    res = resource(brand, channel.name, post.id)
    try:
        receipt = _publish_retrying(connector, outgoing)
    except Transient as exc:
        store.posts.finish(post, retry_state, now, reason=f"will retry: {exc.message}")
        result.deferred += 1
        result.lines.append(f"{channel.name}: post {post.id} will retry: {exc.message}")
        return
    except RateLimited as exc:
        until = exc.reset_at or now + timedelta(minutes=15)
        store.posts.finish(post, retry_state, now, reason=f"rate limited until {until:%H:%M} UTC")
        _pause(config, store, channel, until, f"rate limited: {exc.message}", sink, result)
        return
    except AuthFailed as exc:
        store.posts.finish(post, retry_state, now, reason=f"waiting: {exc.message}")
        _pause(
            config,
            store,
            channel,
            now + timedelta(days=3650),
            f"credentials: {exc.message}",
            sink,
            result,
        )
        return
    except Duplicate as exc:
        if exc.existing_id is None:
            _failed(store, post, now, exc, sink, res, result, channel)
            return
        # The network names the post it already has (LinkedIn): this post went out, once.
        receipt = Receipt(remote_id=exc.existing_id)
    except Rejected as exc:
        _failed(store, post, now, exc, sink, res, result, channel)
        return
    except (UnknownOutcome, ConnectorError) as exc:
        _unknown(store, post, now, exc.message, sink, res, result, channel.name)
        return
    except Exception as exc:  # a connector bug: the request may have gone out
        logger.exception("connector %s raised unexpectedly", channel.network)
        _unknown(
            store, post, now, f"unexpected {type(exc).__name__}", sink, res, result, channel.name
        )
        return
    recorded = store.posts.finish(
        post,
        PostState.PUBLISHED,
        now,
        remote_id=receipt.remote_id,
        remote_url=receipt.url,
        published_at=receipt.published_at or now,
    )
    if not recorded:  # our lease ran out and reconciliation took over: it will find this post
        logger.warning("post %s published after its claim expired; left to reconciliation", post.id)
    result.published += 1
    where = f" at {receipt.url}" if receipt.url else ""
    result.lines.append(f"{channel.name}: published post {post.id} ({post.category}){where}")
    sink.emit(
        "goodwill.post.published",
        res,
        {
            "remote_id": receipt.remote_id,
            "url": receipt.url,
            "category": post.category,
            "kind": str(post.kind),
        },
    )


def _failed(
    store: Store,
    post: Post,
    now: datetime,
    exc: Rejected,
    sink: EventSink,
    res: dict[str, str],
    result: PublishResult,
    channel: Any,
) -> None:
    store.posts.finish(
        post, PostState.FAILED, now, reason=f"{channel.network} refused: {exc.message}"
    )
    result.failed += 1
    result.lines.append(f"{channel.name}: post {post.id} failed: {exc.message}")
    sink.emit("goodwill.post.failed", res, {"reason": exc.message})


def _unknown(
    store: Store,
    post: Post,
    now: datetime,
    why: str,
    sink: EventSink,
    res: dict[str, str],
    result: PublishResult,
    channel: str,
) -> None:
    reason = f"outcome unknown ({why}); the next publish run checks the network before re-sending"
    store.posts.finish(
        post, PostState.UNKNOWN, now, reason=reason, checked_at=None, lease_until=now + SETTLE
    )
    result.unknown += 1
    result.lines.append(f"{channel}: post {post.id} unknown: {why}")
    sink.emit("goodwill.post.unknown", res, {"reason": reason})


def _pause(
    config: Config,
    store: Store,
    channel: Any,
    until: datetime,
    reason: str,
    sink: EventSink,
    result: PublishResult,
) -> None:
    store.posts.set_channel_status(channel.name, paused_until=until, paused_reason=reason)
    result.paused.append(channel.name)
    result.lines.append(f"{channel.name}: paused: {reason}")
    sink.emit(
        "goodwill.channel.paused",
        resource(config.brand.name, channel.name),
        {"reason": reason, "until": until.isoformat()},
    )


def _record_missed(
    config: Config,
    store: Store,
    channel: Any,
    now: datetime,
    sink: EventSink,
    result: PublishResult,
    checked_at: datetime | None,
) -> None:
    """Slots whose grace passed unfilled while posts waited: recorded once, never burst-posted."""
    since = checked_at or now - FIRST_LOOKBACK
    tz = config.channel_tz(channel)
    due = missed_slots(channel.weekly_slots, tz, since, now, config.policy.grace)
    waiting = [p for p in store.posts.queued(channel.name) if p.pinned_at is None]
    if due and waiting:
        filled = store.posts.filled_slots(channel.name, since)
        missed = [
            s
            for s in due
            if s not in filled and any(p.created_at and p.created_at <= s for p in waiting)
        ]
        for slot in store.posts.record_missed(channel.name, missed, len(waiting), now):
            result.missed += 1
            result.lines.append(f"{channel.name}: missed slot {slot:%Y-%m-%d %H:%M} UTC")
            sink.emit(
                "goodwill.slot.missed",
                resource(config.brand.name, channel.name),
                {"slot": slot.isoformat(), "waiting": len(waiting)},
            )
    # Move the watermark only past slots whose grace has run out.
    store.posts.set_channel_status(channel.name, checked_at=now - config.policy.grace)


def project_queue(config: Config, store: Store, channel: Any, now: datetime) -> None:
    """Store each queued post's expected slot, as the gate will allow it; why a post waits."""
    queue = store.posts.queued(channel.name)
    if not queue:
        return
    tz = config.channel_tz(channel)
    slotted = [p for p in queue if p.pinned_at is None]
    filled = store.posts.filled_slots(channel.name, now - config.policy.grace)
    upcoming = [
        s
        for s in slot_times(channel.weekly_slots, tz, now - config.policy.grace, now + HORIZON)
        if s + config.policy.grace > now and s not in filled
    ][: len(slotted)]
    history = [Published(kind, override) for kind, override in store.posts.history(channel.name)]
    keys = [(p.id or 0, p.kind) for p in slotted]  # queued posts always have ids
    order, holds = plan_slots(history, keys, len(upcoming), config.policy.ratio)
    schedule: dict[int, tuple[datetime | None, str | None]] = {}
    for i, post_id in enumerate(order):
        schedule[post_id] = (upcoming[i], None)
    for post in slotted:
        assert post.id is not None
        if post.id in schedule:
            if post.id in holds:  # planned later than its turn: say why it waits
                schedule[post.id] = (schedule[post.id][0], holds[post.id].reason)
            continue
        if post.id in holds:
            schedule[post.id] = (None, holds[post.id].reason)
        elif not upcoming:
            schedule[post.id] = (
                None,
                f"{channel.name} has no posting slots; add slots in channels.yaml",
            )
        else:
            schedule[post.id] = (None, "waiting for a free slot beyond the next eight weeks")
    for post in queue:
        if post.pinned_at is not None:
            assert post.id is not None
            schedule[post.id] = (post.pinned_at, post.reason)
    store.posts.set_schedule(schedule, now)
