"""Helpers shared by the service-layer tests."""

from __future__ import annotations

from teamcrm import EventName, MemberSession

#: (admin Ana, manager Max, agent Bob) — see the ``team`` fixture in conftest.
Team3 = tuple[MemberSession, MemberSession, MemberSession]


def names(session: MemberSession, after: int) -> list[EventName]:
    """The names of the team's events after outbox position *after*."""
    return [m.event.name for m in session.events(after)]


def last_seq(session: MemberSession) -> int:
    """The outbox position of the team's newest event (0 if none)."""
    rows = session.events()
    return rows[-1].seq if rows else 0
