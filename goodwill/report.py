"""What the owner looks at: the coming week's queue, the ratio, problems, source health, and a
weekly report with a chart (a hand-written SVG: no plotting library, renders anywhere).

Plain data in, plain rows/markdown out: the flows publish them as Prefect artifacts.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from goodwill.config import Config
from goodwill.models import Kind, Post
from goodwill.store import Store

__all__ = [
    "DayBar",
    "problems_rows",
    "ratio_rows",
    "source_rows",
    "svg_data_uri",
    "week_bars",
    "week_queue_rows",
    "weekly_markdown",
    "weekly_svg",
]

WEEK = timedelta(days=7)
VALUE_COLOUR, PROMO_COLOUR, PLANNED_COLOUR = "#2e7d32", "#ef6c00", "#90a4ae"


def _local(dt: datetime | None, config: Config) -> str:
    return dt.astimezone(config.brand.tz).strftime("%a %d %b %H:%M") if dt else ""


def week_queue_rows(config: Config, store: Store, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Per channel, the posts planned in the next seven days, and those waiting without a slot."""
    out: dict[str, list[dict[str, Any]]] = {}
    for channel in config.channels:
        rows = []
        for p in store.posts.find(states=("approved", "held", "draft"), channel=channel.name):
            when = p.pinned_at or p.scheduled_for
            if when is not None and when > now + WEEK:
                continue
            rows.append(
                {
                    "id": p.id,
                    "when": _local(when, config) or "not yet",
                    "category": p.category,
                    "state": str(p.state),
                    "text": " ".join(p.text.split())[:120],
                    "why waiting": p.reason or ("needs review" if p.state == "draft" else ""),
                }
            )
        out[channel.name] = rows
    return out


def _all_published(store: Store) -> list[Post]:
    return store.posts.find(states=("published", "unknown"))


def _published(store: Store, since: datetime, posts: Sequence[Post] | None = None) -> list[Post]:
    """Posts out since ``since``, among ``posts`` (read from the store when not given)."""
    return [
        p
        for p in (_all_published(store) if posts is None else posts)
        if (p.published_at or p.created_at or since) >= since
    ]


def ratio_rows(
    config: Config,
    store: Store,
    now: datetime,
    days: int = 30,
    *,
    published: Sequence[Post] | None = None,
) -> list[dict[str, Any]]:
    """Per channel over the last ``days``: value and promotion posts, and held promotions.

    ``published``: the published and unknown posts, when the caller has read them already.
    """
    since = now - timedelta(days=days)
    sent = _published(store, since, published)
    held = store.posts.find(states=("held",))
    rows = []
    for channel in config.channels:
        mine = [p for p in sent if p.channel == channel.name]
        value = sum(1 for p in mine if p.kind == Kind.VALUE)
        promo = len(mine) - value
        waiting = [p for p in held if p.channel == channel.name]
        rows.append(
            {
                "channel": channel.name,
                "value": value,
                "promotion": promo,
                "ratio": f"{value}:{promo}",
                "rule": f"≥{config.policy.ratio} value per promotion",
                "held": len(waiting),
                "why held": "; ".join(f"#{p.id}: {p.reason}" for p in waiting[:5]),
            }
        )
    return rows


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _problem_time(p: Post) -> datetime:
    return p.published_at or p.slot_at or p.scheduled_for or p.created_at or _EPOCH


def problems_rows(config: Config, store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """Failed and unknown posts, with why: what needs a person. The newest ``limit``, newest
    first (an old failure nobody looked at must not hide this week's)."""
    found = store.posts.find(states=("failed", "unknown"))
    found.sort(key=lambda p: (_problem_time(p), p.id or 0), reverse=True)
    return [
        {
            "id": p.id,
            "channel": p.channel,
            "state": str(p.state),
            "when": _local(p.published_at or p.slot_at or p.scheduled_for, config),
            "reason": p.reason or "",
            "text": " ".join(p.text.split())[:100],
        }
        for p in found[:limit]
    ]


def source_rows(config: Config, store: Store) -> list[dict[str, Any]]:
    """Each configured source's last fetch: when, how, and consecutive failures."""
    states = store.sources.all()
    rows = []
    for source in config.sources:
        s = states.get(source.name)
        rows.append(
            {
                "source": source.name,
                "health": "never fetched" if s is None else ("failing" if s.failures else "ok"),
                "last success": _local(s.last_success_at, config) if s else "",
                "last status": (s.last_status or "") if s else "",
                "failures": s.failures if s else 0,
                "last error": (s.last_error or "") if s else "",
            }
        )
    return rows


@dataclass(frozen=True, slots=True)
class DayBar:
    day: datetime  # local midnight
    value: int
    promotion: int
    planned: int


def week_bars(
    config: Config, store: Store, now: datetime, *, published: Sequence[Post] | None = None
) -> list[DayBar]:
    """The last seven days (published, by kind) and the next seven (planned), one bar a day.

    ``published``: the published and unknown posts, when the caller has read them already.
    """
    tz = config.brand.tz
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today + timedelta(days=i) for i in range(-6, 8)]
    sent = _published(store, today - timedelta(days=6), published)
    planned = store.posts.find(states=("approved",))  # a held post has no day yet
    bars = []
    for day in days:
        end = day + timedelta(days=1)

        def on(dt: datetime | None, day: datetime = day, end: datetime = end) -> bool:
            return dt is not None and day <= dt.astimezone(tz) < end

        bars.append(
            DayBar(
                day=day,
                value=sum(1 for p in sent if on(p.published_at) and p.kind == Kind.VALUE),
                promotion=sum(1 for p in sent if on(p.published_at) and p.kind == Kind.PROMOTION),
                planned=sum(1 for p in planned if on(p.pinned_at or p.scheduled_for)),
            )
        )
    return bars


def weekly_svg(bars: list[DayBar], title: str) -> str:
    """A stacked bar chart: published value/promotion posts per day, then planned posts."""
    width, height, top, bottom, left = 720, 260, 40, 50, 36
    plot_h = height - top - bottom
    peak = max([b.value + b.promotion + b.planned for b in bars] + [1])
    step = (width - left - 10) / len(bars)
    bar_w = step * 0.62
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for i in range(peak + 1):  # gridlines and y labels
        y = top + plot_h - plot_h * i / peak
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#e0e0e0"/>'
        )
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{i}</text>')
    for i, bar in enumerate(bars):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for count, colour in (
            (bar.value, VALUE_COLOUR),
            (bar.promotion, PROMO_COLOUR),
            (bar.planned, PLANNED_COLOUR),
        ):
            if count:
                h = plot_h * count / peak
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                    f'fill="{colour}"><title>{count}</title></rect>'
                )
        label = bar.day.strftime("%a %d")
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" '
            f'text-anchor="middle">{label}</text>'
        )
    # "now" marker between today's bar and tomorrow's: published on the left, planned right
    tx = left + 7 * step
    parts.append(
        f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{top + plot_h}" '
        'stroke="#424242" stroke-dasharray="4 3"/>'
        f'<text x="{tx - 4:.1f}" y="{top + 10}" text-anchor="end" fill="#424242">today</text>'
    )
    legend_y = height - 12
    for j, (name, colour) in enumerate(
        (("value", VALUE_COLOUR), ("promotion", PROMO_COLOUR), ("planned", PLANNED_COLOUR))
    ):
        lx = left + j * 120
        parts.append(f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 18}" y="{legend_y}">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def weekly_markdown(config: Config, store: Store, now: datetime) -> str:
    """The weekly report: the chart, then the numbers behind it, and what needs attention."""
    published = _all_published(store)
    bars = week_bars(config, store, now, published=published)
    chart = svg_data_uri(weekly_svg(bars, f"{config.brand.name}: last 7 days and the next 7"))
    ratio = ratio_rows(config, store, now, days=7, published=published)
    problems = problems_rows(config, store, limit=20)
    counts = store.posts.counts()
    need_a_look = counts.get("failed", 0) + counts.get("unknown", 0)
    sent = sum(b.value + b.promotion for b in bars[:7])
    promo = sum(b.promotion for b in bars[:7])
    planned = sum(b.planned for b in bars[7:])
    lines = [
        f"# Weekly report — {config.brand.name}",
        f"_{now.astimezone(config.brand.tz):%A %d %B %Y %H:%M %Z}_",
        "",
        f"![posts per day]({chart})",
        "",
        f"**{sent}** posts went out in the last 7 days ({promo} promotion); "
        f"**{planned}** are planned for the next 7.",
        "",
        "| channel | value | promotion | held | why held |",
        "|---|---|---|---|---|",
    ]
    for r in ratio:
        why = str(r["why held"]).replace("|", "\\|") or "—"
        lines.append(f"| {r['channel']} | {r['value']} | {r['promotion']} | {r['held']} | {why} |")
    lines.append("")
    if problems:
        newest = f"; the newest {len(problems)}" if need_a_look > len(problems) else ""
        lines.append(f"**{need_a_look} post(s) need a look** (failed or unknown){newest}:")
        lines += [f"- #{p['id']} {p['channel']} {p['state']}: {p['reason']}" for p in problems]
    else:
        lines.append("Nothing failed, nothing unknown.")
    return "\n".join(lines)
