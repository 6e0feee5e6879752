"""Cadence arithmetic: month ends, business days, time zones and daylight saving."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import teamcrm
from teamcrm.followup import (
    Cadence,
    CadenceUnit,
    add_business_days,
    local_date,
    start_of_day,
)

DST_ZONES = ["America/New_York", "Europe/Warsaw", "Australia/Lord_Howe", "America/Santiago"]


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        (date(2026, 8, 1), 1, date(2026, 9, 1)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2026, 1, 31), 2, date(2026, 3, 31)),  # from the anchor, not Feb 28 + 1 month
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 5, 31), 12, date(2027, 5, 31)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
    ],
)
def test_months_clamp_to_month_end(start: date, months: int, due: date) -> None:
    assert Cadence.months(months).after(start) == due


@pytest.mark.parametrize(
    ("start", "count", "due"),
    [
        (date(2026, 1, 9), 1, date(2026, 1, 12)),  # Friday -> Monday
        (date(2026, 1, 10), 1, date(2026, 1, 12)),  # Saturday -> Monday
        (date(2026, 1, 11), 1, date(2026, 1, 12)),  # Sunday -> Monday
        (date(2026, 1, 5), 1, date(2026, 1, 6)),
        (date(2026, 1, 5), 5, date(2026, 1, 12)),
        (date(2026, 1, 7), 3, date(2026, 1, 12)),
        (date(2026, 1, 9), 5, date(2026, 1, 16)),
        (date(2026, 1, 10), 10, date(2026, 1, 23)),
    ],
)
def test_business_days(start: date, count: int, due: date) -> None:
    assert Cadence.business_days(count).after(start) == due


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(1, 400))
def test_business_days_count_weekdays(start: date, count: int) -> None:
    due = add_business_days(start, count)
    assert due.weekday() < 5
    weekdays = sum(
        1 for n in range(1, (due - start).days + 1) if (start + timedelta(n)).weekday() < 5
    )
    assert weekdays == count


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(1, 240))
def test_months_computed_from_the_anchor(start: date, months: int) -> None:
    due = Cadence.months(months).after(start)
    assert (due.year * 12 + due.month) - (start.year * 12 + start.month) == months
    assert due.day == start.day or (due.day < start.day and (due + timedelta(1)).day == 1)


def test_weeks_and_days() -> None:
    assert Cadence.weeks(2).after(date(2026, 3, 1)) == date(2026, 3, 15)
    assert Cadence.days(30).after(date(2026, 2, 1)) == date(2026, 3, 3)


@pytest.mark.parametrize(
    ("text", "cadence"),
    [
        ("30 days", Cadence.days(30)),
        ("every 2 weeks", Cadence.weeks(2)),
        ("Every 3 Months", Cadence.months(3)),
        ("1 month", Cadence.months(1)),
        ("5 business days", Cadence.business_days(5)),
        ("5 business_days", Cadence.business_days(5)),
        ("10bd", Cadence.business_days(10)),
        ("1 d", Cadence.days(1)),
    ],
)
def test_parse(text: str, cadence: Cadence) -> None:
    assert Cadence.parse(text) == cadence


@pytest.mark.parametrize("bad", ["", "monthly", "0 days", "-1 days", "3 years", "1e3 days", None])
def test_parse_rejects(bad: object) -> None:
    with pytest.raises(teamcrm.ValidationError) as info:
        Cadence.parse(bad)
    assert info.value.field == "cadence"


def test_cadence_validates_when_built() -> None:
    with pytest.raises(teamcrm.ValidationError, match=r"Cadence\.count"):
        Cadence(count=0, unit=CadenceUnit.DAYS)
    with pytest.raises(teamcrm.ValidationError, match=r"Cadence\.unit"):
        Cadence(count=1, unit="fortnights")  # type: ignore[arg-type]
    assert str(Cadence.months(1)) == "every 1 month"
    assert str(Cadence.business_days(3)) == "every 3 business days"


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/New_York", date(2026, 3, 8)),
        ("America/New_York", date(2026, 11, 1)),
        ("Europe/Warsaw", date(2026, 3, 29)),
        ("Europe/Warsaw", date(2026, 10, 25)),
        ("Australia/Lord_Howe", date(2026, 4, 5)),  # a 30-minute change
        ("Australia/Lord_Howe", date(2026, 10, 4)),
        ("America/Santiago", date(2026, 9, 6)),  # midnight does not exist
    ],
)
def test_days_around_dst_are_neither_skipped_nor_doubled(zone: str, day: date) -> None:
    days = [day + timedelta(n) for n in range(-3, 4)]
    starts = [start_of_day(d, zone) for d in days]
    for d, s in zip(days, starts, strict=True):
        assert local_date(s, zone) == d
        assert local_date(s - timedelta(microseconds=1), zone) == d - timedelta(1)
    lengths = {(b - a) for a, b in itertools.pairwise(starts)}
    assert lengths <= {timedelta(hours=h) for h in (23, 23.5, 24, 24.5, 25)}
    assert len(lengths) >= 2  # the change really is in the window


@given(
    zone=st.sampled_from(DST_ZONES),
    anchor=st.datetimes(
        min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1), timezones=st.just(UTC)
    ),
    count=st.integers(1, 60),
    probe=st.integers(-36 * 60, 36 * 60),
)
def test_a_daily_cadence_is_due_from_the_start_of_the_local_day(
    zone: str, anchor: datetime, count: int, probe: int
) -> None:
    """Listed exactly when the local date reached the due date, whatever DST does."""
    due = Cadence.days(count).after(local_date(anchor, zone))
    assert (due - local_date(anchor, zone)).days == count
    boundary = start_of_day(due, zone)
    at = boundary + timedelta(minutes=probe)
    assert (local_date(at, zone) >= due) == (at >= boundary)


def test_local_date_uses_the_member_zone() -> None:
    at = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    assert local_date(at, "UTC") == date(2026, 1, 5)
    assert local_date(at, "Europe/Warsaw") == date(2026, 1, 6)
    assert local_date(at, "America/New_York") == date(2026, 1, 5)
