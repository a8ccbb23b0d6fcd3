"""Weekly slots: parsing, and slot instants across DST changes in several zones."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from goodwill.slots import (
    DAY_KEYS,
    WeeklySlot,
    current_slot,
    missed_slots,
    next_slot,
    parse_weekly_slots,
    slot_times,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, tz: ZoneInfo) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def slots(spec: dict[str, list[str]]) -> list[WeeklySlot]:
    return parse_weekly_slots(spec)


# --- parsing ---------------------------------------------------------------------------------


def test_parse_days_groups_dedup_and_sort() -> None:
    parsed = parse_weekly_slots(
        {
            "wed": ["12:15"],
            "mon": ["17:30", "09:00", "09:00"],
            "weekdays": ["08:00", "9:00"],
            "weekend": ["10:00"],
            "daily": ["20:00"],
            "Sun": [" 10:00 "],
        }
    )
    expected = sorted(
        {WeeklySlot(0, time(9)), WeeklySlot(0, time(17, 30)), WeeklySlot(2, time(12, 15))}
        | {WeeklySlot(day, time(8)) for day in range(5)}
        | {WeeklySlot(day, time(9)) for day in range(5)}
        | {WeeklySlot(day, time(10)) for day in (5, 6)}
        | {WeeklySlot(day, time(20)) for day in range(7)}
    )
    assert parsed == expected
    assert len(parsed) == len(set(parsed))


def test_parse_empty_and_boundaries() -> None:
    assert parse_weekly_slots({}) == []
    assert parse_weekly_slots({"mon": []}) == []
    assert parse_weekly_slots({"sun": ["00:00", "23:59"]}) == [
        WeeklySlot(6, time(0, 0)),
        WeeklySlot(6, time(23, 59)),
    ]
    assert set(DAY_KEYS) == {
        "mon", "tue", "wed", "thu", "fri", "sat", "sun", "weekdays", "weekend", "daily",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"monday": ["09:00"]}, "use one of mon, tue, wed, thu, fri, sat, sun, weekdays"),
        ({"": ["09:00"]}, "unknown slot day"),
        ({1: ["09:00"]}, "unknown slot day"),
        ({"mon": "09:00"}, "must be a list"),
        ({"mon": None}, "must be a list"),
        ({"mon": ["24:00"]}, '"00:00" to "23:59"'),
        ({"mon": ["12:60"]}, "24-hour"),
        ({"mon": ["9"]}, "24-hour"),
        ({"mon": ["09:00:00"]}, "24-hour"),
        ({"mon": ["9am"]}, "24-hour"),
        ({"mon": ["-1:00"]}, "24-hour"),
        ({"mon": ["\uff10\uff19:\uff10\uff10"]}, "24-hour"),  # full-width digits are not ASCII
        ({"mon": [1050]}, 'quoted, like "17:30"'),  # YAML 1.1 reads unquoted 17:30 as 1050
        ({"mon": [None]}, "is not text"),
        (["mon"], "must be a mapping"),
    ],
)
def test_parse_rejects_with_one_line_message(spec: object, says: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_weekly_slots(spec)  # type: ignore[arg-type]
    message = str(info.value)
    assert says in message
    assert "\n" not in message


def test_weekly_slot_validates() -> None:
    with pytest.raises(ValueError, match="weekday"):
        WeeklySlot(7, time(9))
    with pytest.raises(ValueError, match="tzinfo"):
        WeeklySlot(0, time(9, tzinfo=UTC))


# --- slot_times: a normal week and DST changes ------------------------------------------------


def test_normal_week_paris() -> None:
    week = slots({"mon": ["09:00", "17:30"], "wed": ["12:15"], "sun": ["20:00"]})
    # 2024-06-03 is a Monday; Paris is on CEST (UTC+2).
    got = slot_times(
        week, PARIS, local("2024-06-03T00:00", PARIS), local("2024-06-10T00:00", PARIS)
    )
    assert got == [
        utc("2024-06-03T07:00"),
        utc("2024-06-03T15:30"),
        utc("2024-06-05T10:15"),
        utc("2024-06-09T18:00"),
    ]
    assert all(instant.tzinfo is UTC for instant in got)


def test_window_is_half_open_and_any_aware_timezone_works() -> None:
    week = slots({"mon": ["09:00"]})
    at = utc("2024-06-03T07:00")
    assert slot_times(week, PARIS, at, at + timedelta(minutes=1)) == [at]
    assert slot_times(week, PARIS, at - timedelta(minutes=1), at) == []
    tokyo = ZoneInfo("Asia/Tokyo")
    assert slot_times(week, PARIS, at.astimezone(tokyo), (at + timedelta(1)).astimezone(tokyo)) == [
        at
    ]
    assert slot_times(week, PARIS, at, at) == []
    assert slot_times(week, PARIS, at + timedelta(1), at) == []
    assert slot_times([], PARIS, at, at + timedelta(days=30)) == []


def test_slot_order_in_the_input_does_not_matter() -> None:
    week = [WeeklySlot(0, time(17, 30)), WeeklySlot(2, time(8)), WeeklySlot(0, time(9))]
    got = slot_times(week, PARIS, utc("2024-06-03T00:00"), utc("2024-06-06T00:00"))
    assert got == [utc("2024-06-03T07:00"), utc("2024-06-03T15:30"), utc("2024-06-05T06:00")]


def test_long_window_covers_every_week() -> None:
    week = slots({"mon": ["09:00"]})
    got = slot_times(week, PARIS, utc("2024-01-01T00:00"), utc("2025-01-01T00:00"))
    assert len(got) == 53  # 2024 starts on a Monday and has 53 of them
    assert all(instant.astimezone(PARIS).time() == time(9) for instant in got)


@pytest.mark.parametrize("name", ["start", "end"])
def test_naive_window_is_rejected(name: str) -> None:
    aware = utc("2024-06-03T00:00")
    bounds = {"start": aware, "end": aware + timedelta(days=1)}
    bounds[name] = bounds[name].replace(tzinfo=None)
    with pytest.raises(ValueError, match=f"{name} must be a timezone-aware"):
        slot_times(slots({"daily": ["09:00"]}), PARIS, bounds["start"], bounds["end"])


def test_paris_spring_forward_gap() -> None:
    # 2024-03-31: 02:00 CET (01:00Z) jumps to 03:00 CEST; 02:00-02:59 do not exist.
    sunday = slots({"sun": ["01:30", "02:00", "02:30", "02:59", "03:00", "03:30"]})
    got = slot_times(sunday, PARIS, utc("2024-03-30T12:00"), utc("2024-03-31T12:00"))
    assert got == [
        utc("2024-03-31T00:30"),  # 01:30 CET
        utc("2024-03-31T01:00"),  # 02:00, 02:30, 02:59 and 03:00 CEST: one instant, once
        utc("2024-03-31T01:30"),  # 03:30 CEST
    ]


def test_paris_gap_slot_alone_happens_once_at_gap_end() -> None:
    got = slot_times(
        slots({"sun": ["02:30"]}), PARIS, utc("2024-03-24T00:00"), utc("2024-04-08T00:00")
    )
    assert got == [utc("2024-03-24T01:30"), utc("2024-03-31T01:00"), utc("2024-04-07T00:30")]
    assert got[1].astimezone(PARIS).time() == time(3, 0)


def test_paris_fall_back_repeated_hour() -> None:
    # 2024-10-27: 03:00 CEST (01:00Z) falls back to 02:00 CET; 02:00-02:59 happen twice.
    sunday = slots({"sun": ["01:30", "02:00", "02:30", "03:00"]})
    got = slot_times(sunday, PARIS, utc("2024-10-26T12:00"), utc("2024-10-27T12:00"))
    assert got == [
        utc("2024-10-26T23:30"),  # 01:30 CEST
        utc("2024-10-27T00:00"),  # 02:00 CEST, the first of the two
        utc("2024-10-27T00:30"),  # 02:30 CEST, the first of the two; not again at 01:30Z
        utc("2024-10-27T02:00"),  # 03:00 CET
    ]


def test_new_york_spring_forward_gap() -> None:
    # 2024-03-10: 02:00 EST (07:00Z) jumps to 03:00 EDT.
    sunday = slots({"sun": ["01:30", "02:30", "03:30"]})
    got = slot_times(sunday, NEW_YORK, utc("2024-03-09T12:00"), utc("2024-03-10T12:00"))
    assert got == [utc("2024-03-10T06:30"), utc("2024-03-10T07:00"), utc("2024-03-10T07:30")]


def test_new_york_fall_back_repeated_hour() -> None:
    # 2024-11-03: 02:00 EDT (06:00Z) falls back to 01:00 EST; 01:00-01:59 happen twice.
    sunday = slots({"sun": ["00:30", "01:00", "01:30", "02:00"]})
    got = slot_times(sunday, NEW_YORK, utc("2024-11-02T12:00"), utc("2024-11-03T12:00"))
    assert got == [
        utc("2024-11-03T04:30"),  # 00:30 EDT
        utc("2024-11-03T05:00"),  # 01:00 EDT
        utc("2024-11-03T05:30"),  # 01:30 EDT, not again at 06:30Z (EST)
        utc("2024-11-03T07:00"),  # 02:00 EST
    ]


def test_lord_howe_half_hour_shifts() -> None:
    # 2024-10-06: 02:00 (+10:30, 15:30Z) jumps to 02:30 (+11): a 30-minute gap.
    spring = slots({"sun": ["01:45", "02:00", "02:15", "02:30", "02:45"]})
    got = slot_times(spring, LORD_HOWE, utc("2024-10-05T00:00"), utc("2024-10-06T00:00"))
    assert got == [utc("2024-10-05T15:15"), utc("2024-10-05T15:30"), utc("2024-10-05T15:45")]
    # 2024-04-07: 02:00 (+11, 15:00Z) falls back to 01:30 (+10:30): 01:30-01:59 happen twice.
    autumn = slots({"sun": ["01:15", "01:30", "01:45", "02:00"]})
    got = slot_times(autumn, LORD_HOWE, utc("2024-04-06T00:00"), utc("2024-04-07T00:00"))
    assert got == [
        utc("2024-04-06T14:15"),
        utc("2024-04-06T14:30"),
        utc("2024-04-06T14:45"),
        utc("2024-04-06T15:30"),
    ]


def test_skipped_day_apia() -> None:
    # Samoa skipped Friday 2011-12-30: Thursday 23:59:59 (-10) was followed by Saturday 00:00
    # (+14). Friday's slot happens when the gap ends, together with Saturday's midnight slot.
    apia = ZoneInfo("Pacific/Apia")
    week = slots({"thu": ["23:00"], "fri": ["09:00"], "sat": ["00:00", "09:00"]})
    got = slot_times(week, apia, utc("2011-12-29T00:00"), utc("2011-12-31T00:00"))
    assert got == [utc("2011-12-30T09:00"), utc("2011-12-30T10:00"), utc("2011-12-30T19:00")]
    # A window that starts on Saturday still sees Friday's slot, which landed there.
    friday = slots({"fri": ["09:00"]})
    saturday = utc("2011-12-30T10:00")
    assert slot_times(friday, apia, saturday, saturday + timedelta(hours=1)) == [saturday]
    assert next_slot(friday, apia, saturday - timedelta(seconds=1)) == saturday


# --- current_slot, next_slot, missed_slots ----------------------------------------------------


def test_current_slot_within_and_after_grace() -> None:
    week = slots({"mon": ["09:00", "09:15"]})
    grace = timedelta(minutes=30)
    nine = local("2024-06-03T09:00", PARIS)
    quarter = local("2024-06-03T09:15", PARIS)
    assert current_slot(week, PARIS, nine - timedelta(seconds=1), grace) is None
    assert current_slot(week, PARIS, nine, grace) == nine
    assert current_slot(week, PARIS, nine + timedelta(minutes=10), grace) == nine
    assert current_slot(week, PARIS, quarter + timedelta(minutes=5), grace) == quarter  # latest
    assert current_slot(week, PARIS, quarter + grace - timedelta(microseconds=1), grace) == quarter
    assert current_slot(week, PARIS, quarter + grace, grace) is None
    assert current_slot(week, PARIS, nine, timedelta(0)) is None
    assert current_slot([], PARIS, nine, grace) is None
    with pytest.raises(ValueError, match="now"):
        current_slot(week, PARIS, nine.replace(tzinfo=None), grace)


def test_current_slot_in_gap_and_repeated_hour() -> None:
    grace = timedelta(minutes=20)
    gap = slots({"sun": ["02:30"]})
    assert current_slot(gap, PARIS, utc("2024-03-31T01:10"), grace) == utc("2024-03-31T01:00")
    assert current_slot(gap, PARIS, utc("2024-03-31T00:40"), grace) is None
    # The second 02:30 of 2024-10-27 (01:30Z) is not a slot.
    assert current_slot(gap, PARIS, utc("2024-10-27T00:40"), grace) == utc("2024-10-27T00:30")
    assert current_slot(gap, PARIS, utc("2024-10-27T01:40"), grace) is None


def test_next_slot_across_week_boundary() -> None:
    monday = slots({"mon": ["09:00"]})
    at = local("2024-06-03T09:00", PARIS)
    assert next_slot(monday, PARIS, at) == local("2024-06-10T09:00", PARIS)  # strictly after
    assert next_slot(monday, PARIS, at - timedelta(microseconds=1)) == at
    saturday = slots({"sat": ["10:00"]})
    assert next_slot(saturday, PARIS, local("2024-06-09T11:00", PARIS)) == local(
        "2024-06-15T10:00", PARIS
    )
    assert next_slot([], PARIS, at) is None
    with pytest.raises(ValueError, match="after"):
        next_slot(monday, PARIS, at.replace(tzinfo=None))


def test_next_slot_across_dst_changes() -> None:
    gap = slots({"sun": ["02:30"]})
    assert next_slot(gap, PARIS, utc("2024-03-24T01:30")) == utc("2024-03-31T01:00")
    assert next_slot(gap, PARIS, utc("2024-03-31T01:00")) == utc("2024-04-07T00:30")
    # After the first 02:30 of the repeated hour, the next is a week later, not an hour later.
    repeated = slots({"sun": ["02:30"]})
    assert next_slot(repeated, PARIS, utc("2024-10-27T00:30")) == utc("2024-11-03T01:30")
    daily = slots({"daily": ["09:00"]})
    # Saturday 09:00 EDT, then Sunday 09:00 EST: 25 hours apart.
    sat = utc("2024-11-02T13:00")
    assert next_slot(daily, NEW_YORK, sat) == sat + timedelta(hours=25)


def test_next_slot_from_inside_repeated_hour_second_pass() -> None:
    # From 01:45Z (02:45 CET, second pass): 02:30 already happened (first pass); 03:00 is next.
    week = slots({"sun": ["02:30", "03:00"]})
    assert next_slot(week, PARIS, utc("2024-10-27T01:45")) == utc("2024-10-27T02:00")


def test_missed_slots() -> None:
    week = slots({"weekdays": ["09:00"]})
    grace = timedelta(minutes=30)
    since = local("2024-06-03T09:00", PARIS)  # Monday
    now = local("2024-06-05T09:29", PARIS)  # Wednesday, within grace
    assert missed_slots(week, PARIS, since, now, grace) == [
        local("2024-06-03T09:00", PARIS),
        local("2024-06-04T09:00", PARIS),
    ]
    assert missed_slots(week, PARIS, since, now + timedelta(minutes=1), grace) == [
        local("2024-06-03T09:00", PARIS),
        local("2024-06-04T09:00", PARIS),
        local("2024-06-05T09:00", PARIS),
    ]
    assert missed_slots(week, PARIS, since + timedelta(seconds=1), now, grace) == [
        local("2024-06-04T09:00", PARIS)
    ]
    assert missed_slots(week, PARIS, now, since, grace) == []
    with pytest.raises(ValueError, match="since"):
        missed_slots(week, PARIS, since.replace(tzinfo=None), now, grace)


# --- properties ------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Paris",
    "Europe/Dublin",  # negative DST in the source data
    "America/New_York",
    "America/St_Johns",  # -03:30
    "America/Santiago",  # changes at midnight
    "America/Havana",  # 00:00 -> 01:00
    "Australia/Lord_Howe",  # 30-minute DST
    "Antarctica/Troll",  # 2-hour DST
    "Africa/Casablanca",  # DST suspended in Ramadan
    "Asia/Kolkata",
    "Pacific/Apia",  # skipped a whole day in 2011
    "Pacific/Chatham",  # +12:45
]

_HOURS_MINUTES = [(0, 0), (0, 30), (1, 0), (1, 30), (1, 45), (2, 0), (2, 15), (2, 30), (2, 45)]
_HOURS_MINUTES += [(2, 59), (3, 0), (3, 30), (12, 0), (22, 45), (23, 0), (23, 30), (23, 59)]
INTERESTING_TIMES = [time(hour, minute) for hour, minute in _HOURS_MINUTES]


@functools.cache
def transitions(zone: str, year: int) -> tuple[datetime, ...]:
    """UTC offset changes of ``zone`` in ``year``, found by scanning then bisecting."""
    tz = ZoneInfo(zone)
    found: list[datetime] = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        nxt = day + timedelta(hours=6)
        if day.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            lo, hi = day, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == lo.astimezone(tz).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(microsecond=0))
        day = nxt
    return tuple(found)


Case = tuple[str, datetime, datetime, dict[str, list[str]]]

time_strategy = st.one_of(
    st.sampled_from(INTERESTING_TIMES),
    st.builds(time, st.integers(0, 23), st.integers(0, 59)),
)


def gap_end_after(zone: str, wall: datetime) -> datetime:
    """The transition that skips the naive ``wall`` time in ``zone``, from ``transitions``."""
    tz = ZoneInfo(zone)
    for year in (wall.year - 1, wall.year, wall.year + 1):
        for change in transitions(zone, year):
            before = (change - timedelta(seconds=1)).astimezone(tz).replace(tzinfo=None)
            if before < wall < change.astimezone(tz).replace(tzinfo=None):
                return change
    raise AssertionError(f"{wall} exists in {zone}")


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A zone, a window ``[start, end)`` and a slot spec, often straddling an offset change with
    slot times just before, inside and after its gap or repeated hour."""
    zone = draw(st.sampled_from(ZONES))
    year = draw(st.sampled_from([2011, 2019, 2022, 2024, 2025, 2031]))
    changes = transitions(zone, year)
    spec: dict[str, list[str]] = {}
    if changes and draw(st.integers(0, 3)) > 0:
        change = draw(st.sampled_from(changes))
        start = change - timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
        last_wall = (change - timedelta(seconds=1)).astimezone(ZoneInfo(zone))
        for minutes in draw(st.lists(st.integers(-90, 150), min_size=1, max_size=4)):
            wall = last_wall.replace(tzinfo=None) + timedelta(seconds=1, minutes=minutes)
            day = DAY_KEYS[wall.weekday()]
            spec.setdefault(day, []).append(wall.strftime("%H:%M"))
    else:
        start = datetime(year, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 525_000)))
    for key in draw(st.lists(st.sampled_from(DAY_KEYS), max_size=3)):
        times = draw(st.lists(time_strategy, max_size=3))
        spec.setdefault(key, []).extend(at.strftime("%H:%M") for at in times)
    length = timedelta(minutes=draw(st.integers(0, 10 * 24 * 60)))
    return zone, start, start + length, spec


@settings(max_examples=400, deadline=None)
@given(case=cases())
def test_slot_times_properties(case: Case) -> None:
    zone, start, end, spec = case
    tz = ZoneInfo(zone)
    week = parse_weekly_slots(spec)
    configured = {(slot.weekday, slot.at) for slot in week}
    got = slot_times(week, tz, start, end)
    assert slot_times(week[::-1], tz, start, end) == got

    assert got == sorted(set(got))
    assert all(start <= instant < end for instant in got)
    assert all(instant.utcoffset() == timedelta(0) for instant in got)
    for instant in got:
        wall = instant.astimezone(tz)
        if (wall.weekday(), wall.time()) in configured:
            if wall.replace(fold=1).utcoffset() != wall.utcoffset():
                event("slot at a repeated wall time")
            assert wall.fold == 0, "a repeated wall time must use its first occurrence"
            continue
        event("slot in a gap")
        # Otherwise the slot's wall time fell in a gap, which ends at this instant: some
        # configured wall time lies between the last wall time before it and this one.
        before = (instant - timedelta(seconds=1)).astimezone(tz)
        assert wall.utcoffset() != before.utcoffset(), f"{wall} is not a slot nor a gap end"
        gap_start = before.replace(tzinfo=None) + timedelta(seconds=1)
        gap_end = wall.replace(tzinfo=None)
        assert any(
            gap_start <= datetime.combine(gap_start.date() + timedelta(days=shift), at) < gap_end
            and (gap_start.date() + timedelta(days=shift)).weekday() == weekday
            for weekday, at in configured
            for shift in range(3)
        ), f"{wall} is a gap end but no slot falls in the gap {gap_start}..{gap_end}"

    # Completeness: every configured wall time that exists in the window is there, once.
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    day: date = first_day
    while day <= last_day:
        for weekday, at in configured:
            if day.weekday() != weekday:
                continue
            wall_naive = datetime.combine(day, at)
            instant = wall_naive.replace(tzinfo=tz).astimezone(UTC)
            exists = instant.astimezone(tz).replace(tzinfo=None) == wall_naive
            if not exists:
                instant = gap_end_after(zone, wall_naive)
            if start <= instant < end:
                assert instant in got
        day += timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(case=cases(), grace_minutes=st.integers(1, 180))
def test_helpers_agree_with_slot_times(case: Case, grace_minutes: int) -> None:
    zone, since, now, spec = case
    tz = ZoneInfo(zone)
    week = parse_weekly_slots(spec)
    grace = timedelta(minutes=grace_minutes)
    around = slot_times(week, tz, since - timedelta(days=9), now + timedelta(days=9))

    after = [instant for instant in around if instant > now]
    assert next_slot(week, tz, now) == (after[0] if after else None)
    open_now = [instant for instant in around if instant <= now < instant + grace]
    assert current_slot(week, tz, now, grace) == (open_now[-1] if open_now else None)
    assert missed_slots(week, tz, since, now, grace) == [
        instant for instant in around if since <= instant and instant + grace <= now
    ]
