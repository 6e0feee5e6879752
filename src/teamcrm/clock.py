"""Clocks.

Every use case asks a :class:`Clock` for "now" instead of calling
``datetime.now()``, so tests and notebooks can replay history at any date.
All times in teamcrm are timezone-aware and in UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from teamcrm.errors import ValidationError
from teamcrm.validation import utc_datetime

__all__ = ["Clock", "SettableClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything with a ``now()`` that returns an aware UTC ``datetime``."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock (UTC)."""

    def now(self) -> datetime:
        """Return ``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class SettableClock:
    """A clock that only moves when told to; for tests, demos and notebooks.

    >>> from datetime import datetime, UTC, timedelta
    >>> clock = SettableClock(datetime(2026, 1, 1, tzinfo=UTC))
    >>> clock.advance(timedelta(days=1)).isoformat()
    '2026-01-02T00:00:00+00:00'
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = utc_datetime(
            "SettableClock.start", datetime.now(UTC) if start is None else start
        )

    def now(self) -> datetime:
        """Return the time the clock is set to."""
        with self._lock:
            return self._now

    def set(self, when: datetime) -> datetime:
        """Set the clock to *when* (aware) and return it in UTC."""
        value = utc_datetime("SettableClock.set", when)
        with self._lock:
            self._now = value
        return value

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward (or back) by *delta* and return the new time."""
        if not isinstance(delta, timedelta):
            raise ValidationError(
                "SettableClock.advance", delta, f"must be a timedelta, not {type(delta).__name__}"
            )
        with self._lock:
            try:
                self._now = self._now + delta
            except OverflowError:
                raise ValidationError(
                    "SettableClock.advance", delta, "moves the clock out of range"
                ) from None
            return self._now

    def __repr__(self) -> str:
        return f"SettableClock({self._now.isoformat()})"
