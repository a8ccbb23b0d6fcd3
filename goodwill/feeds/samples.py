"""The bundled sample feeds of the offline demo, with dates that stay fresh.

The files in ``goodwill/samples/feeds/`` are fictional and written for Goodwill. Their dates are
placeholders relative to "now": ``{{ago:3h}}`` renders as an RFC 822 date three hours ago (RSS),
``{{ago3339:2d}}`` as an RFC 3339 date two days ago (Atom). Units: ``m`` minutes, ``h`` hours,
``d`` days, ``w`` weeks.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from importlib.resources import files
from pathlib import Path

__all__ = ["render_sample_feed", "sample_feed_dir", "sample_feed_names"]

_RE_PLACEHOLDER = re.compile(r"\{\{\s*(ago|ago3339)\s*:\s*(\d+)\s*([mhdw])\s*\}\}")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def render_sample_feed(body: str, now: datetime) -> bytes:
    """Replace the date placeholders in ``body`` relative to ``now`` (timezone-aware) and return
    the feed as UTF-8. Raises ``ValueError`` for a naive ``now`` or a malformed placeholder."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC).replace(microsecond=0)

    def replace(match: re.Match[str]) -> str:
        kind, amount, unit = match.group(1), int(match.group(2)), match.group(3)
        when = now - timedelta(**{_UNITS[unit]: amount})
        if kind == "ago":
            return format_datetime(when, usegmt=True)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    rendered = _RE_PLACEHOLDER.sub(replace, body)
    leftover = rendered.find("{{")
    if leftover >= 0:
        snippet = rendered[leftover : leftover + 30].split("\n", 1)[0]
        raise ValueError(f"unknown placeholder in sample feed: {snippet!r}")
    return rendered.encode("utf-8")


def sample_feed_dir() -> Path:
    """The directory holding the sample feed files (``<name>.xml``)."""
    directory = files("goodwill") / "samples" / "feeds"
    if not isinstance(directory, Path):
        raise RuntimeError("the sample feeds are not on the file system (zipped install?)")
    return directory


def sample_feed_names() -> list[str]:
    """Names of the sample feeds (file stems, e.g. ``petapixel``), sorted."""
    return sorted(p.stem for p in sample_feed_dir().glob("*.xml"))
