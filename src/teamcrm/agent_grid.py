"""The agent grid (seed 001): red / neutral / green signals per open lead, worst first.

The rules are pure functions: :func:`grid_signals` decides each signal of a
contact's :class:`GridFacts`, :func:`grid_score` ranks them and
:func:`grid_row` makes the :class:`GridRow`; :func:`grid_page_from_facts` is
the reference ranking a store's ``grid_page`` must match.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Protocol

import attrs

from teamcrm.ids import ContactId, MemberId, TeamId
from teamcrm.view_table import Signal

if TYPE_CHECKING:
    from teamcrm.pool import PoolId

__all__ = [
    "DEFAULT_RESPONSE_WINDOW",
    "GridFacts",
    "GridFactsSource",
    "GridRow",
    "day_start",
    "grid_page_from_facts",
    "grid_row",
    "grid_score",
    "grid_signals",
    "worst_grid_facts",
]

#: How long a new lead may stay in the team's first status before the grid shows it red.
DEFAULT_RESPONSE_WINDOW = timedelta(hours=1)


# ===================================================================== grid
class GridFacts(NamedTuple):
    """What the agent grid knows about one contact with an open lead (from storage).

    :ivar phones_validated: ``None`` when the contact has no phone number,
        else whether any of its numbers is validated (emails alike).
    :ivar first_action_at: the assignee's first interaction with the contact
        at or after the assignment (``None`` if none yet or no assignee).
    :ivar next_follow_up_at: the earliest open task of the contact due after
        now, or the start of the earliest future follow-up due date.
    """

    contact_id: str
    first_name: str
    last_name: str
    status: str
    phones_validated: bool | None
    emails_validated: bool | None
    has_note: bool
    next_follow_up_at: datetime | None
    lead_id: str
    pool_id: str | None
    assignee_id: str | None
    assigned_at: datetime | None
    lead_created_at: datetime
    first_action_at: datetime | None


@attrs.frozen(kw_only=True)
class GridRow:
    """One contact of the agent grid (seed 001), with its signals.

    :ivar evaluate: red while the contact is still in the team's first status
        past the response window after assignment (or after it entered, when
        nobody owns it); green once it left the first status; neutral while
        the window runs.
    :ivar phone: green if a phone number is validated, red if it has numbers
        and none is validated, neutral without numbers.
    :ivar email: the same for email addresses.
    :ivar notes: green if a note was recorded about the contact, else red.
    :ivar follow_up: green if a future task or follow-up is scheduled, else red.
    :ivar wait: how long the lead waited for its assignee's first action
        (still running, until now, when there was none yet); red past the
        response window, green within it, neutral without an assignee.
    """

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "name",
        "status",
        "assignee_name",
        "pool_name",
        "evaluate",
        "phone",
        "email",
        "notes",
        "follow_up",
        "waited",
        "wait",
        "reds",
        "contact_id",
    )

    contact_id: ContactId
    name: str
    status: str
    lead_id: str
    pool_id: str | None
    pool_name: str | None
    assignee_id: MemberId | None
    assignee_name: str | None
    assigned_at: datetime | None
    first_action_at: datetime | None
    waited: timedelta
    evaluate: Signal
    phone: Signal
    email: Signal
    notes: Signal
    follow_up: Signal
    wait: Signal

    @property
    def reds(self) -> int:
        """How many signals are red."""
        return sum(
            s is Signal.RED
            for s in (self.evaluate, self.phone, self.email, self.notes, self.follow_up, self.wait)
        )


def day_start(day: date) -> datetime:
    """The first instant (UTC) of *day*: when a follow-up due on that date counts as scheduled."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _validated(flag: bool | None) -> Signal:
    if flag is None:
        return Signal.NEUTRAL
    return Signal.GREEN if flag else Signal.RED


def grid_signals(
    facts: GridFacts, *, first_status: str, now: datetime, window: timedelta
) -> tuple[tuple[Signal, Signal, Signal, Signal, Signal, Signal], timedelta]:
    """Return the six signals (evaluate, phone, email, notes, follow-up, wait) and the wait.

    The rules are those documented on :class:`GridRow`.
    """
    start = facts.assigned_at if facts.assigned_at is not None else facts.lead_created_at
    end = facts.first_action_at if facts.first_action_at is not None else now
    waited = max(end - start, timedelta(0))
    if facts.status != first_status:
        evaluate = Signal.GREEN
    else:
        evaluate = Signal.RED if now - start > window else Signal.NEUTRAL
    if facts.assignee_id is None:
        wait = Signal.NEUTRAL
    else:
        wait = Signal.RED if waited > window else Signal.GREEN
    signals = (
        evaluate,
        _validated(facts.phones_validated),
        _validated(facts.emails_validated),
        Signal.GREEN if facts.has_note else Signal.RED,
        Signal.GREEN if facts.next_follow_up_at is not None else Signal.RED,
        wait,
    )
    return signals, waited


def grid_score(
    facts: GridFacts, *, first_status: str, now: datetime, window: timedelta
) -> tuple[int, float, str, str, str]:
    """Sort key putting the worst contact first: most reds, longest wait, then contact id.

    Rows of one contact (several leads or owners) are then ordered by lead id
    and owner id (``""`` for none), so the order is total and every adapter's
    :meth:`~teamcrm.ports.ViewRepository.grid_page` can return exactly it.
    """
    signals, waited = grid_signals(facts, first_status=first_status, now=now, window=window)
    reds = sum(s is Signal.RED for s in signals)
    return (
        -reds,
        -waited.total_seconds(),
        facts.contact_id,
        facts.lead_id,
        facts.assignee_id or "",
    )


def worst_grid_facts(
    facts: Iterable[GridFacts],
    *,
    first_status: str,
    now: datetime,
    window: timedelta,
    limit: int,
) -> list[GridFacts]:
    """The *limit* worst of *facts* in :func:`grid_score` order (the reference ranking)."""
    return heapq.nsmallest(
        limit,
        facts,
        key=lambda f: grid_score(f, first_status=first_status, now=now, window=window),
    )


class GridFactsSource(Protocol):
    """Anything with :meth:`~teamcrm.ports.ViewRepository.grid_facts` (a views repository)."""

    def grid_facts(
        self,
        team_id: TeamId,
        *,
        status: str | None,
        assignee_id: MemberId | None,
        pool_id: PoolId | None,
        now: datetime,
    ) -> list[GridFacts]: ...


def grid_page_from_facts(
    source: GridFactsSource,
    team_id: TeamId,
    *,
    status: str | None,
    assignee_id: MemberId | None,
    pool_id: PoolId | None,
    now: datetime,
    window: timedelta,
    first_status: str,
    limit: int,
) -> list[GridFacts]:
    """:meth:`~teamcrm.ports.ViewRepository.grid_page` by the reference ranking.

    Reads the facts of every matching open lead with *source*'s
    ``grid_facts`` and keeps the *limit* worst with :func:`worst_grid_facts`:
    exact by construction, and linear in the open leads of the team (or
    pool).  *source* comes first, so a views repository can take it as its
    whole method (``grid_page = grid_page_from_facts`` in the class body), as
    the memory and PostgreSQL stores do; the SQLite store ranks in SQL instead.
    """
    facts = source.grid_facts(
        team_id, status=status, assignee_id=assignee_id, pool_id=pool_id, now=now
    )
    return worst_grid_facts(facts, first_status=first_status, now=now, window=window, limit=limit)


def grid_row(
    facts: GridFacts,
    *,
    first_status: str,
    now: datetime,
    window: timedelta,
    member_names: Mapping[str, str],
    pool_names: Mapping[str, str],
) -> GridRow:
    """Build the :class:`GridRow` of *facts*."""
    (evaluate, phone, email, notes, follow_up, wait), waited = grid_signals(
        facts, first_status=first_status, now=now, window=window
    )
    name = " ".join(p for p in (facts.first_name, facts.last_name) if p)
    return GridRow(
        contact_id=ContactId(facts.contact_id),
        name=name,
        status=facts.status,
        lead_id=facts.lead_id,
        pool_id=facts.pool_id,
        pool_name=pool_names.get(facts.pool_id) if facts.pool_id else None,
        assignee_id=MemberId(facts.assignee_id) if facts.assignee_id else None,
        assignee_name=member_names.get(facts.assignee_id) if facts.assignee_id else None,
        assigned_at=facts.assigned_at,
        first_action_at=facts.first_action_at,
        waited=waited,
        evaluate=evaluate,
        phone=phone,
        email=email,
        notes=notes,
        follow_up=follow_up,
        wait=wait,
    )
