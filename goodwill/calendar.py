"""``goodwill calendar``: the coming weeks per channel as one self-contained HTML page.

Slots in each channel's own timezone, the post expected in each (as the ratio gate will allow
it), posts pinned to a time, promotions held with their reason, missed slots, and posts that
left the queue (season ended, stale) with theirs. No scripts, no external files: it opens from
disk, prints, and can be mailed.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from goodwill.models import Kind, Post, PostState
from goodwill.slots import slot_times

if TYPE_CHECKING:
    from goodwill.config import Config
    from goodwill.store import Store

__all__ = ["Calendar", "ChannelCalendar", "Entry", "build_calendar", "render_html"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One cell line: a slot (maybe with its post), a pinned post, or a missed slot."""

    at: datetime  # UTC
    kind: str  # free | post | pinned | published | missed
    post: Post | None = None
    note: str | None = None


@dataclass
class ChannelCalendar:
    name: str
    network: str
    timezone: str
    days: list[date]
    entries: dict[date, list[Entry]] = field(default_factory=dict)
    held: list[Post] = field(default_factory=list)
    waiting: list[Post] = field(default_factory=list)  # queued, no slot in view
    dropped: list[Post] = field(default_factory=list)
    missed: list[datetime] = field(default_factory=list)
    review: list[Post] = field(default_factory=list)  # drafts waiting for the owner


@dataclass
class Calendar:
    brand: str
    generated_at: datetime
    weeks: int
    ratio: int
    channels: list[ChannelCalendar]

    def totals(self) -> dict[str, int]:
        entries = [e for c in self.channels for day in c.entries.values() for e in day]
        return {
            "channels": len(self.channels),
            "slots": sum(1 for e in entries if e.kind != "pinned"),
            "posts": sum(1 for e in entries if e.post is not None),
            "held": sum(len(c.held) for c in self.channels),
            "missed": sum(len(c.missed) for c in self.channels),
        }


def build_calendar(config: Config, store: Store, now: datetime, *, weeks: int = 2) -> Calendar:
    """What each channel's coming ``weeks`` look like, from the store's projection."""
    from goodwill.publishing import project_queue

    channels: list[ChannelCalendar] = []
    for channel in config.channels:
        if not channel.enabled:
            continue
        project_queue(config, store, channel, now)
        tz = config.channel_tz(channel)
        today = now.astimezone(tz).date()
        days = [today + timedelta(days=i) for i in range(7 * weeks)]
        start = datetime.combine(today, time(0), tz)
        end = datetime.combine(days[-1] + timedelta(days=1), time(0), tz)
        cal = ChannelCalendar(channel.name, channel.style, str(tz), days)
        entries: dict[date, list[Entry]] = defaultdict(list)

        posts = store.posts.find(channel=channel.name)
        by_slot: dict[datetime, Post] = {}
        for post in posts:
            if post.state in (PostState.PUBLISHED, PostState.PUBLISHING, PostState.UNKNOWN):
                when = post.published_at or post.slot_at
                if when and start <= when < end:
                    if post.slot_at:
                        by_slot[post.slot_at] = post
                    else:
                        entries[when.astimezone(tz).date()].append(Entry(when, "published", post))
            elif post.state in (PostState.APPROVED, PostState.HELD):
                if post.pinned_at is not None:
                    if start <= post.pinned_at < end:
                        day = post.pinned_at.astimezone(tz).date()
                        entries[day].append(Entry(post.pinned_at, "pinned", post))
                    continue
                in_view = post.scheduled_for is not None and start <= post.scheduled_for < end
                if in_view:
                    assert post.scheduled_for is not None
                    by_slot.setdefault(post.scheduled_for, post)
                # Held: the gate said not yet, or the projection finds no slot it allows.
                if post.state == PostState.HELD or (
                    post.kind == Kind.PROMOTION and post.scheduled_for is None and post.reason
                ):
                    cal.held.append(post)
                elif not in_view:
                    cal.waiting.append(post)
            elif post.state == PostState.DRAFT:
                cal.review.append(post)
            elif post.state == PostState.REJECTED and post.reason:
                cal.dropped.append(post)
        missed = {m["slot_at"] for m in store.posts.missed(channel.name, limit=200)}
        cal.missed = sorted(m for m in missed if m >= now - timedelta(days=7))
        for slot in slot_times(channel.weekly_slots, tz, start, end):
            day = slot.astimezone(tz).date()
            filled = by_slot.get(slot)
            if filled is not None:
                kind = "published" if filled.state == PostState.PUBLISHED else "post"
                entries[day].append(Entry(slot, kind, filled))
            elif slot in missed:
                entries[day].append(Entry(slot, "missed", None, "missed: nothing went out"))
            elif slot < now - config.policy.grace:
                entries[day].append(Entry(slot, "past", None))
            else:
                entries[day].append(Entry(slot, "free", None))
        cal.entries = {d: sorted(entries.get(d, []), key=lambda e: e.at) for d in days}
        cal.dropped = cal.dropped[-20:]
        channels.append(cal)
    return Calendar(config.brand.name, now, weeks, config.policy.ratio, channels)


# --------------------------------------------------------------------------- HTML

_CSS = """
:root { --ink:#1f2421; --muted:#66706a; --line:#d9dfdb; --paper:#fbfaf7;
  --value:#2f7d5b; --promo:#b5542d; --held:#a06a00; --missed:#b42318; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: var(--paper); margin: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.week { display: grid; grid-template-columns: repeat(7, minmax(0, 1fr)); gap: 6px;
  margin-bottom: 6px; }
.day { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 6px;
  min-height: 90px; }
.day h3 { font-size: 12px; margin: 0 0 4px; color: var(--muted); font-weight: 600; }
.day.today { border-color: var(--ink); }
.entry { border-left: 3px solid var(--line); padding: 2px 0 2px 6px; margin: 4px 0;
  font-size: 12px; overflow-wrap: anywhere; }
.entry time { font-weight: 600; margin-right: 4px; }
.entry.free { color: var(--muted); } .entry.past { color: #aab2ad; }
.entry.post.value, .entry.published.value, .entry.pinned.value { border-color: var(--value); }
.entry.post.promotion, .entry.pinned.promotion { border-color: var(--promo); }
.entry.missed { border-color: var(--missed); color: var(--missed); }
.entry.held { border-color: var(--held); }
.tag { display: inline-block; font-size: 10px; padding: 0 4px; border-radius: 3px;
  background: #eef1ef; margin-right: 4px; text-transform: uppercase; letter-spacing: .03em; }
.tag.promotion { background: #f8e4da; color: var(--promo); }
.tag.held { background: #f7ecd0; color: var(--held); }
.tag.sent { background: #e3f1ea; color: var(--value); }
.reason { color: var(--held); display: block; }
ul.list { margin: 4px 0 0; padding-left: 18px; } ul.list li { margin: 3px 0; }
.legend span { margin-right: 12px; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _preview(text: str, width: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _entry_html(entry: Entry, tz: Any) -> str:
    local = entry.at.astimezone(tz)
    classes = ["entry", entry.kind]
    body = ""
    attrs = f' data-at="{_e(entry.at.isoformat())}" data-kind="{_e(entry.kind)}"'
    if entry.post is not None:
        post = entry.post
        classes.append(str(post.kind))
        if post.state == PostState.HELD:
            classes.append("held")
        attrs += f' data-post="{post.id}" data-category="{_e(post.category)}"'
        tags = f'<span class="tag {_e(post.kind)}">{_e(post.category)}</span>'
        if post.state == PostState.HELD:
            tags += '<span class="tag held">held</span>'
        elif post.state == PostState.PUBLISHED:
            tags += '<span class="tag sent">sent</span>'
        body = tags + _e(_preview(post.text))
        if post.credit:
            body += f" <em>credit: {_e(post.credit)}</em>"
        if post.reason and post.state != PostState.PUBLISHED:
            body += f'<span class="reason">{_e(post.reason)}</span>'
    elif entry.kind == "free":
        body = "free slot"
    elif entry.kind == "missed":
        body = _e(entry.note or "missed")
    return f'<div class="{" ".join(classes)}"{attrs}><time>{local:%H:%M}</time>{body}</div>'


def render_html(calendar: Calendar) -> str:
    """One self-contained page (inline CSS, no scripts, no external files)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(calendar.brand)}: the next {calendar.weeks} week(s)</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(calendar.brand)}: the next {calendar.weeks} week(s)</h1>",
        f'<p class="sub">Made {calendar.generated_at:%Y-%m-%d %H:%M} UTC. Promotions go out only '
        f"after {calendar.ratio} value posts on the same channel; times are each channel's "
        "own.</p>",
        '<p class="legend"><span class="tag">value</span> news, tips, personal '
        '<span class="tag promotion">promotion</span> your offers '
        '<span class="tag held">held</span> waiting for the ratio</p>',
    ]
    for cal in calendar.channels:
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(cal.timezone)
        today = calendar.generated_at.astimezone(tz).date()
        parts.append(
            f'<section class="channel" data-channel="{_e(cal.name)}">'
            f"<h2>{_e(cal.name)} <small>({_e(cal.network)}, {_e(cal.timezone)})</small></h2>"
        )
        for w in range(0, len(cal.days), 7):
            parts.append('<div class="week">')
            for day in cal.days[w : w + 7]:
                cls = "day today" if day == today else "day"
                parts.append(f'<div class="{cls}" data-day="{day.isoformat()}">')
                parts.append(f"<h3>{day:%a %d %b}</h3>")
                parts.extend(_entry_html(e, tz) for e in cal.entries.get(day, []))
                parts.append("</div>")
            parts.append("</div>")
        if cal.held:
            parts.append('<h3>Held promotions</h3><ul class="list held">')
            for post in cal.held:
                when = (
                    f" (expected {post.scheduled_for.astimezone(tz):%a %d %b %H:%M})"
                    if post.scheduled_for
                    else ""
                )
                parts.append(
                    f'<li data-post="{post.id}"><span class="tag held">held</span>'
                    f"{_e(_preview(post.text, 80))}{_e(when)}"
                    f'<span class="reason">{_e(post.reason or "held by the ratio rule")}</span>'
                    "</li>"
                )
            parts.append("</ul>")
        if cal.review:
            parts.append(
                f'<h3>Waiting for your review ({len(cal.review)})</h3><ul class="list review">'
            )
            parts.extend(
                f'<li data-post="{p.id}">{p.id}: {_e(_preview(p.text, 80))}'
                f"{_e(' (credit: ' + p.credit + ')') if p.credit else ''}</li>"
                for p in cal.review[:20]
            )
            parts.append("</ul>")
        if cal.waiting:
            parts.append('<h3>Waiting beyond this view</h3><ul class="list waiting">')
            parts.extend(
                f'<li data-post="{p.id}">{_e(_preview(p.text, 80))}'
                f'<span class="reason">{_e(p.reason or "")}</span></li>'
                for p in cal.waiting
            )
            parts.append("</ul>")
        if cal.missed:
            parts.append('<h3>Missed slots (last 7 days)</h3><ul class="list missed">')
            parts.extend(
                f'<li data-at="{_e(m.isoformat())}">{m.astimezone(tz):%a %d %b %H:%M}: '
                "nothing went out (Goodwill was not running); never posted late</li>"
                for m in cal.missed
            )
            parts.append("</ul>")
        if cal.dropped:
            parts.append('<h3>Left the queue</h3><ul class="list dropped">')
            parts.extend(
                f'<li data-post="{p.id}">{_e(_preview(p.text, 80))}'
                f'<span class="reason">{_e(p.reason or "")}</span></li>'
                for p in cal.dropped
            )
            parts.append("</ul>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
