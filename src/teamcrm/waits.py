"""Waits: how long a program step waits, in a member's local calendar.

Three kinds, each a frozen value:

* :class:`WaitDays` — *days* calendar days later, at the same local wall
  time (a wait across a daylight-saving change is 23 or 25 hours long, and
  a wait from 31 January is still whole days, never "a month");
* :class:`WaitBusinessDays` — *days* Monday-to-Friday days later, at the
  same local wall time (one business day after Friday, Saturday or Sunday
  is Monday; the rule of :func:`teamcrm.followup.add_business_days`);
* :class:`WaitUntil` — the next *weekday* at *hour*:*minute*, strictly after
  the start.

:func:`due_at` computes the instant a wait ends in a time zone.  A local
time that does not exist (a daylight-saving gap) is read with the offset
before the change, which moves it forward by the gap (02:30 on the night
clocks jump from 02:00 to 03:00 becomes 03:30); a local time that happens
twice (clocks set back) is the first of the two.

Programs store waits as small mappings: :func:`parse_wait` reads them and
:func:`wait_to_dict` writes them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs

from teamcrm.errors import ValidationError
from teamcrm.followup import add_business_days
from teamcrm.validation import check_int, check_time, check_zone

__all__ = [
    "WEEKDAYS",
    "Wait",
    "WaitBusinessDays",
    "WaitDays",
    "WaitUntil",
    "due_at",
    "parse_wait",
    "wait_to_dict",
]

#: The longest wait in days (ten years).
MAX_WAIT_DAYS = 3650
#: Weekday names, Monday first (``WEEKDAYS[0] == "monday"``, as ``date.weekday()``).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _days(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    check_int(
        f"{type(instance).__name__}.{attribute.name}", value, minimum=1, maximum=MAX_WAIT_DAYS
    )


@attrs.frozen
class WaitDays:
    """Wait *days* calendar days, ending at the same local wall time."""

    days: int = attrs.field(validator=_days)


@attrs.frozen
class WaitBusinessDays:
    """Wait *days* business days (Monday to Friday), ending at the same local wall time."""

    days: int = attrs.field(validator=_days)


@attrs.frozen
class WaitUntil:
    """Wait until the next *weekday* (0 = Monday … 6 = Sunday) at *hour*:*minute*."""

    weekday: int
    hour: int
    minute: int = 0

    def __attrs_post_init__(self) -> None:
        check_int("WaitUntil.weekday", self.weekday, maximum=6)
        check_int("WaitUntil.hour", self.hour, maximum=23)
        check_int("WaitUntil.minute", self.minute, maximum=59)


#: Any wait.
Wait = WaitDays | WaitBusinessDays | WaitUntil

_SHAPES = '{"days": N}, {"business_days": N} or {"weekday": "monday", "hour": 9[, "minute": 0]}'


def _weekday(value: object) -> int:
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return WEEKDAYS.index(value.strip().lower())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    raise ValidationError("wait.weekday", value, "must be a weekday name or 0 (Monday) to 6")


def parse_wait(spec: Mapping[str, object]) -> Wait:
    """Read a wait from its mapping (see :func:`wait_to_dict`), or raise ``ValidationError``.

    >>> parse_wait({"days": 3})
    WaitDays(days=3)
    >>> parse_wait({"weekday": "Monday", "hour": 9})
    WaitUntil(weekday=0, hour=9, minute=0)
    """
    if not isinstance(spec, Mapping):
        raise ValidationError("wait", spec, f"must be a mapping: {_SHAPES}")
    keys = set(spec)
    if keys == {"days"}:
        return WaitDays(check_int("wait.days", spec["days"], minimum=1, maximum=MAX_WAIT_DAYS))
    if keys == {"business_days"}:
        n = check_int("wait.business_days", spec["business_days"], minimum=1, maximum=MAX_WAIT_DAYS)
        return WaitBusinessDays(n)
    if keys in ({"weekday", "hour"}, {"weekday", "hour", "minute"}):
        return WaitUntil(
            _weekday(spec["weekday"]),
            check_int("wait.hour", spec["hour"], maximum=23),
            check_int("wait.minute", spec.get("minute", 0), maximum=59),
        )
    raise ValidationError("wait", dict(spec), f"must be one of {_SHAPES}")


def wait_to_dict(wait: Wait) -> dict[str, object]:
    """Return *wait* as the mapping :func:`parse_wait` reads (JSON-ready)."""
    if isinstance(wait, WaitDays):
        return {"days": wait.days}
    if isinstance(wait, WaitBusinessDays):
        return {"business_days": wait.days}
    if isinstance(wait, WaitUntil):
        return {"weekday": WEEKDAYS[wait.weekday], "hour": wait.hour, "minute": wait.minute}
    raise ValidationError("wait", wait, "must be a WaitDays, WaitBusinessDays or WaitUntil")


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(check_zone("zone", name))


def local_instant(day: date, at: time, zone: str) -> datetime:
    """Return the UTC instant of wall time *at* on *day* in *zone*.

    A time in a daylight-saving gap moves forward by the gap; a time that
    happens twice is the first.
    """
    return datetime.combine(day, at, tzinfo=_zone(zone)).replace(fold=0).astimezone(UTC)


def due_at(wait: Wait, start: datetime, zone: str) -> datetime:
    """Return the instant (aware, UTC) *wait* started at *start* ends, in the calendar of *zone*.

    >>> from datetime import datetime, UTC
    >>> start = datetime(2026, 3, 7, 14, 0, tzinfo=UTC)   # Saturday 09:00 in New York
    >>> due_at(WaitDays(1), start, "America/New_York")    # clocks change that night
    datetime.datetime(2026, 3, 8, 13, 0, tzinfo=datetime.timezone.utc)
    """
    start = check_time("start", start)
    tz = _zone(zone)
    local = start.astimezone(tz)
    wall = local.time().replace(tzinfo=None, fold=0)
    if isinstance(wait, WaitDays):
        return local_instant(local.date() + timedelta(days=wait.days), wall, zone)
    if isinstance(wait, WaitBusinessDays):
        return local_instant(add_business_days(local.date(), wait.days), wall, zone)
    if isinstance(wait, WaitUntil):
        at = time(wait.hour, wait.minute)
        day = local.date() + timedelta(days=(wait.weekday - local.weekday()) % 7)
        due = local_instant(day, at, zone)
        if due <= start:
            due = local_instant(day + timedelta(days=7), at, zone)
        return due
    raise ValidationError("wait", wait, "must be a WaitDays, WaitBusinessDays or WaitUntil")
