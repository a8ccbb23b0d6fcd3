"""Weekly posting slots: parse a channel's spec, turn it into UTC instants in its IANA timezone.

A slot is a local wall-clock time on a weekday. On a given date it happens at the first instant
whose local wall-clock time is at or past the slot's time. That one rule settles DST:

- a slot inside a spring-forward gap (02:30 in Europe/Paris on the last Sunday of March) happens
  once, when the gap ends (03:00 local, the transition instant);
- a slot inside a fall-back repeated hour happens once, at its first occurrence (``fold=0``).

The mapping from wall time to instant is non-decreasing, so walking dates and times in order
yields instants in order: the functions below only compute the days their window needs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "DAY_KEYS",
    "WeeklySlot",
    "current_slot",
    "missed_slots",
    "next_slot",
    "parse_weekly_slots",
    "slot_times",
]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GROUPS: dict[str, tuple[int, ...]] = {
    "weekdays": (0, 1, 2, 3, 4),
    "weekend": (5, 6),
    "daily": (0, 1, 2, 3, 4, 5, 6),
}
_DAY_INDEX: dict[str, tuple[int, ...]] = {name: (i,) for i, name in enumerate(_DAYS)} | _GROUPS
#: Every key a slot spec may use.
DAY_KEYS = tuple(_DAY_INDEX)

_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_ONE_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True, order=True)
class WeeklySlot:
    """A local wall-clock time on a weekday (0 = Monday)."""

    weekday: int
    at: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday!r}")
        if self.at.tzinfo is not None:
            raise ValueError("slot time must be a local wall-clock time without tzinfo")


def parse_weekly_slots(spec: Mapping[str, Sequence[str]]) -> list[WeeklySlot]:
    """Parse ``{"mon": ["09:00"], "weekdays": ["08:00"], ...}`` into sorted, distinct slots.

    Keys are ``mon`` … ``sun``, ``weekdays``, ``weekend`` and ``daily`` (any case); times are
    24-hour ``HH:MM``. Raises ``ValueError`` with a one-line message saying what is allowed.
    """
    if not isinstance(spec, Mapping):
        raise ValueError(
            f"slots must be a mapping of day to times, e.g. {{mon: ['09:00']}}, "
            f"not {type(spec).__name__}"
        )
    found: set[WeeklySlot] = set()
    for key, times in spec.items():
        days = _DAY_INDEX.get(key.strip().lower()) if isinstance(key, str) else None
        if days is None:
            raise ValueError(f"unknown slot day {key!r}: use one of {', '.join(DAY_KEYS)}")
        if isinstance(times, str | bytes) or not isinstance(times, Sequence):
            raise ValueError(
                f"slots for {key!r} must be a list of \"HH:MM\" times, e.g. ['09:00', '17:30']"
            )
        for text in times:
            at = _parse_time(key, text)
            found.update(WeeklySlot(day, at) for day in days)
    return sorted(found)


def _parse_time(key: str, text: object) -> time:
    if not isinstance(text, str):
        # YAML 1.1 reads an unquoted 17:30 as the base-60 integer 1050.
        raise ValueError(
            f'slot time {text!r} for {key!r} is not text: write it quoted, like "17:30"'
        )
    match = _TIME.fullmatch(text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(
            f'bad slot time {text!r} for {key!r}: use 24-hour "HH:MM" from "00:00" to "23:59"'
        )
    return time(int(match[1]), int(match[2]))


def slot_times(
    slots: Sequence[WeeklySlot], tz: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    """Every slot instant in ``[start, end)``, as sorted, distinct, aware UTC datetimes."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    out: list[datetime] = []
    if start >= end:
        return out
    for instant in _instants_from(slots, tz, start):
        if instant >= end:
            break
        if not out or instant != out[-1]:
            out.append(instant)
    return out


def current_slot(
    slots: Sequence[WeeklySlot], tz: ZoneInfo, now: datetime, grace: timedelta
) -> datetime | None:
    """The latest slot instant ``s`` with ``s <= now < s + grace``, or ``None``."""
    _require_aware(now, "now")
    if grace <= timedelta(0):
        return None
    open_slots = slot_times(slots, tz, now - grace + _TICK, now + _TICK)
    return open_slots[-1] if open_slots else None


def next_slot(slots: Sequence[WeeklySlot], tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first slot instant strictly after ``after``; ``None`` when there are no slots."""
    _require_aware(after, "after")
    for instant in _instants_from(slots, tz, after + _TICK):
        return instant
    return None


def missed_slots(
    slots: Sequence[WeeklySlot],
    tz: ZoneInfo,
    since: datetime,
    now: datetime,
    grace: timedelta,
) -> list[datetime]:
    """Slot instants ``s`` with ``since <= s`` and ``s + grace <= now``: their grace has passed."""
    _require_aware(since, "since")
    _require_aware(now, "now")
    return slot_times(slots, tz, since, now - grace + _TICK)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")


def _instants_from(
    slots: Sequence[WeeklySlot], tz: ZoneInfo, start: datetime
) -> Iterator[datetime]:
    """Slot instants ``>= start`` in non-decreasing order, without end: callers stop it.

    Starts one local day early: a slot in a gap that spans midnight (or a skipped day, as in
    Pacific/Apia in December 2011) lands on the next date.
    """
    by_day: list[list[time]] = [[] for _ in range(7)]
    for slot in slots:
        by_day[slot.weekday].append(slot.at)
    if not any(by_day):
        return
    for times in by_day:
        times.sort()
    day = start.astimezone(tz).date() - _ONE_DAY
    while True:
        for at in by_day[day.weekday()]:
            instant = _instant(day, at, tz)
            if instant >= start:
                yield instant
        day += _ONE_DAY


def _instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The first instant whose wall-clock time in ``tz`` is at or past ``day`` at ``at``."""
    wall = datetime.combine(day, at).replace(fold=0)
    first = wall.replace(tzinfo=tz).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first  # exists; if repeated, fold=0 is its first occurrence
    # In a gap. fold=0 reads the wall time with the offset before the transition, fold=1 with
    # the one after, so the transition instant lies in (after_reading, first]: bisect it.
    low = math.floor(wall.replace(tzinfo=tz, fold=1).timestamp())
    high = math.floor(first.timestamp())
    before = _offset(low, tz)
    while high - low > 1:
        mid = (low + high) // 2
        if _offset(mid, tz) == before:
            low = mid
        else:
            high = mid
    return datetime.fromtimestamp(high, UTC)


def _offset(timestamp: int, tz: ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, tz).utcoffset()
