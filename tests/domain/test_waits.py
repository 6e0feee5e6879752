"""Waits land on the right local day and time across DST changes and month ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm import (
    ValidationError,
    WaitBusinessDays,
    WaitDays,
    WaitUntil,
    due_at,
    parse_wait,
    wait_to_dict,
)
from teamcrm.waits import local_instant

ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata"]

# Starts cluster around the DST changes of 2026 (New York: 8 Mar / 1 Nov; London:
# 29 Mar / 25 Oct; Sydney: 5 Apr / 4 Oct) and month ends, at any minute.
_AROUND = [
    datetime(2026, 3, 5, tzinfo=UTC),
    datetime(2026, 3, 26, tzinfo=UTC),
    datetime(2026, 4, 2, tzinfo=UTC),
    datetime(2026, 10, 1, tzinfo=UTC),
    datetime(2026, 10, 22, tzinfo=UTC),
    datetime(2026, 10, 29, tzinfo=UTC),
    datetime(2026, 1, 29, tzinfo=UTC),
    datetime(2028, 2, 27, tzinfo=UTC),  # leap year
    datetime(2026, 12, 30, tzinfo=UTC),
]
starts = st.builds(
    lambda base, minutes: base + timedelta(minutes=minutes),
    st.sampled_from(_AROUND),
    st.integers(0, 7 * 24 * 60),
)
zones = st.sampled_from(ZONES)


def _wall_exists(day: date, at: time, zone: str) -> bool:
    local = local_instant(day, at, zone).astimezone(ZoneInfo(zone))
    return (local.date(), local.time()) == (day, at)


@given(starts, zones, st.integers(1, 40))
def test_days_land_on_the_calendar_day_at_the_same_wall_time(
    start: datetime, zone: str, days: int
) -> None:
    due = due_at(WaitDays(days), start, zone)
    tz = ZoneInfo(zone)
    local_start, local_due = start.astimezone(tz), due.astimezone(tz)
    assert due.tzinfo is UTC
    assert due > start
    assert local_due.date() == local_start.date() + timedelta(days=days)
    wall = local_start.time().replace(fold=0)
    if _wall_exists(local_due.date(), wall, zone):
        assert local_due.time() == wall
    else:  # a DST gap: moved forward, by at most the gap (one hour in these zones)
        moved = datetime.combine(local_due.date(), local_due.time()) - datetime.combine(
            local_due.date(), wall
        )
        assert timedelta(0) < moved <= timedelta(hours=1)
    # the elapsed time is whole days give or take the DST change
    assert abs((due - start) - timedelta(days=days)) <= timedelta(hours=1)


@given(starts, zones, st.integers(1, 30))
def test_business_days_skip_weekends_and_keep_the_wall_time(
    start: datetime, zone: str, days: int
) -> None:
    due = due_at(WaitBusinessDays(days), start, zone)
    tz = ZoneInfo(zone)
    first, last = start.astimezone(tz).date(), due.astimezone(tz).date()
    assert last.weekday() < 5
    between = [first + timedelta(days=i) for i in range(1, (last - first).days + 1)]
    assert sum(d.weekday() < 5 for d in between) == days
    wall = start.astimezone(tz).time().replace(fold=0)
    if _wall_exists(last, wall, zone):
        assert due.astimezone(tz).time() == wall


@given(starts, zones, st.integers(0, 6), st.integers(0, 23), st.integers(0, 59))
def test_until_is_the_next_such_weekday_and_hour_strictly_after(
    start: datetime, zone: str, weekday: int, hour: int, minute: int
) -> None:
    due = due_at(WaitUntil(weekday, hour, minute), start, zone)
    tz = ZoneInfo(zone)
    local_due = due.astimezone(tz)
    assert due > start
    assert local_due.weekday() == weekday
    at = time(hour, minute)
    if _wall_exists(local_due.date(), at, zone):
        assert local_due.time() == at
    # nothing earlier qualifies: the occurrence a week before is not after start
    assert local_instant(local_due.date() - timedelta(days=7), at, zone) <= start
    assert due - start <= timedelta(days=7, hours=1)


def test_a_day_across_spring_forward_is_23_hours_and_keeps_nine_o_clock() -> None:
    start = datetime(2026, 3, 7, 14, 0, tzinfo=UTC)  # Saturday 09:00 EST
    due = due_at(WaitDays(1), start, "America/New_York")
    assert due == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)  # Sunday 09:00 EDT
    assert due - start == timedelta(hours=23)


def test_days_from_a_month_end_are_calendar_days() -> None:
    start = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)  # 09:00 in London
    assert due_at(WaitDays(1), start, "Europe/London") == datetime(2026, 2, 1, 9, tzinfo=UTC)
    assert due_at(WaitDays(29), start, "Europe/London") == datetime(2026, 3, 1, 9, tzinfo=UTC)


def test_a_wait_ending_in_a_dst_gap_moves_forward() -> None:
    # 02:30 on Sunday 8 March 2026 does not exist in New York (02:00 -> 03:00)
    start = datetime(2026, 3, 7, 7, 30, tzinfo=UTC)  # Saturday 02:30 EST
    due = due_at(WaitDays(1), start, "America/New_York")
    assert due.astimezone(ZoneInfo("America/New_York")).time() == time(3, 30)
    until = due_at(WaitUntil(6, 2, 30), start, "America/New_York")
    assert until == due


def test_an_ambiguous_wall_time_takes_the_first() -> None:
    # 01:30 on Sunday 1 November 2026 happens twice in New York; the first is EDT
    start = datetime(2026, 10, 31, 5, 30, tzinfo=UTC)  # Saturday 01:30 EDT
    due = due_at(WaitDays(1), start, "America/New_York")
    assert due == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    # strictly after: from the second 01:30 the next Sunday 01:30 is a week on
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    nxt = due_at(WaitUntil(6, 1, 30), second, "America/New_York")
    assert nxt == datetime(2026, 11, 8, 6, 30, tzinfo=UTC)  # EST


def test_until_on_the_same_weekday_before_and_after_the_hour() -> None:
    monday_8 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # Monday, UTC+5:30 -> 13:30 local
    kolkata = "Asia/Kolkata"
    assert due_at(WaitUntil(0, 14), monday_8, kolkata) == datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    at_hour = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    assert due_at(WaitUntil(0, 14), at_hour, kolkata) == datetime(2026, 6, 8, 8, 30, tzinfo=UTC)


def test_business_days_from_friday_and_weekend_start_on_monday() -> None:
    friday = datetime(2026, 6, 5, 9, 0, tzinfo=UTC)
    saturday = friday + timedelta(days=1)
    monday = datetime(2026, 6, 8, 9, 0, tzinfo=UTC)
    assert due_at(WaitBusinessDays(1), friday, "UTC") == monday
    assert due_at(WaitBusinessDays(1), saturday, "UTC") == monday
    assert due_at(WaitBusinessDays(5), friday, "UTC") == friday + timedelta(days=7)


@pytest.mark.parametrize(
    ("spec", "wait"),
    [
        ({"days": 3}, WaitDays(3)),
        ({"business_days": 2}, WaitBusinessDays(2)),
        ({"weekday": "monday", "hour": 9}, WaitUntil(0, 9)),
        ({"weekday": "Sunday", "hour": 23, "minute": 59}, WaitUntil(6, 23, 59)),
        ({"weekday": 4, "hour": 0}, WaitUntil(4, 0)),
    ],
)
def test_parse_wait_reads_each_shape_and_round_trips(spec: dict[str, object], wait: object) -> None:
    parsed = parse_wait(spec)
    assert parsed == wait
    assert parse_wait(wait_to_dict(parsed)) == parsed


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"days": 0},
        {"days": -1},
        {"days": True},
        {"days": "3"},
        {"days": 3650 + 1},
        {"days": 3, "business_days": 2},
        {"weeks": 1},
        {"weekday": "mon", "hour": 9},
        {"weekday": 7, "hour": 9},
        {"weekday": "monday"},
        {"weekday": "monday", "hour": 24},
        {"weekday": "monday", "hour": 9, "minute": 60},
        {"weekday": "monday", "hour": 9, "second": 1},
        "3 days",
        None,
    ],
)
def test_parse_wait_refuses_anything_else(spec: object) -> None:
    with pytest.raises(ValidationError):
        parse_wait(spec)  # type: ignore[arg-type]


def test_waits_check_their_values_and_due_at_its_arguments() -> None:
    with pytest.raises(ValidationError, match=r"WaitDays\.days"):
        WaitDays(0)
    with pytest.raises(ValidationError, match=r"WaitBusinessDays\.days"):
        WaitBusinessDays(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"WaitUntil\.hour"):
        WaitUntil(0, 24)
    with pytest.raises(ValidationError, match="start"):
        due_at(WaitDays(1), datetime(2026, 1, 1), "UTC")  # naive
    with pytest.raises(ValidationError, match="zone"):
        due_at(WaitDays(1), datetime(2026, 1, 1, tzinfo=UTC), "Mars/Olympus")
    with pytest.raises(ValidationError, match="wait"):
        due_at("3 days", datetime(2026, 1, 1, tzinfo=UTC), "UTC")  # type: ignore[arg-type]
