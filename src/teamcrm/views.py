"""Management views as plain data, and how they render for people.

Every view returns a :class:`View`: a title, the names of its columns and a
tuple of frozen rows (:class:`SearchRow`, :class:`GridRow`,
:class:`InsightRow`, :class:`DueRow`).  A view renders

* in a terminal: ``str(view)`` or :meth:`View.to_text` (a plain table made
  by :func:`teamcrm.render.text_table`), or :meth:`View.print` (a ``rich``
  table with colours when ``rich`` is installed);
* in a notebook: :meth:`View._repr_html_` (an HTML table, every value
  escaped, red and green signals as coloured cells);
* as a DataFrame: :meth:`View.to_pandas` (needs the ``views`` extra).

The agent grid's rules (seed 001) are pure functions:
:func:`grid_signals` decides each red / neutral / green signal.

This module holds the rows of the search, company, follow-up and insight
views and re-exports the rest from their rooms: :mod:`teamcrm.view_table`
(:class:`View` and how it renders) and :mod:`teamcrm.agent_grid` (the grid's
rows and rules).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs

from teamcrm.agent_grid import (
    DEFAULT_RESPONSE_WINDOW,
    GridFacts,
    GridFactsSource,
    GridRow,
    day_start,
    grid_page_from_facts,
    grid_row,
    grid_score,
    grid_signals,
    worst_grid_facts,
)
from teamcrm.followup import FollowUpRow
from teamcrm.ids import CompanyId, ContactId, MemberId
from teamcrm.view_table import MissingDependency, Signal, View, format_duration
from teamcrm.view_table import R as R

__all__ = [
    "DEFAULT_RESPONSE_WINDOW",
    "CompanyRow",
    "DueRow",
    "GridFacts",
    "GridFactsSource",
    "GridRow",
    "InsightRow",
    "MissingDependency",
    "SearchRow",
    "Signal",
    "View",
    "day_start",
    "format_duration",
    "grid_page_from_facts",
    "grid_row",
    "grid_score",
    "grid_signals",
    "percentile",
    "worst_grid_facts",
]


# ===================================================================== rows
@attrs.frozen(kw_only=True)
class SearchRow:
    """One contact found by a search.

    :ivar contact: the full contact (not a column).
    :ivar last_contacted_at: its newest interaction by anyone in the team.
    """

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "name",
        "status",
        "email",
        "phone",
        "source",
        "created_at",
        "last_contacted_at",
        "contact_id",
    )

    contact_id: ContactId
    name: str
    status: str
    email: str | None
    phone: str | None
    source: str | None
    created_at: datetime
    last_contacted_at: datetime | None
    contact: Any = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class CompanyRow:
    """One company found by a company search.

    :ivar company: the full company (not a column).
    """

    COLUMNS: ClassVar[tuple[str, ...]] = ("name", "domain", "created_at", "company_id")

    company_id: CompanyId
    name: str
    domain: str | None
    created_at: datetime
    company: Any = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class DueRow:
    """One row of a member's follow-up list, flattened for display."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "name",
        "kind",
        "due_on",
        "days_overdue",
        "why",
        "last_touch_at",
        "contact_id",
    )

    contact_id: ContactId
    name: str
    kind: str
    due_on: Any
    days_overdue: int
    why: str
    last_touch_at: datetime | None

    @classmethod
    def from_follow_up(cls, row: FollowUpRow) -> DueRow:
        """Flatten a :class:`~teamcrm.followup.FollowUpRow`."""
        if row.task is not None:
            why = f"task: {row.task.note}" if row.task.note else "task"
        elif row.pool_id is not None:
            why = f"pool reminder: {row.cadence}"
        else:
            why = "; ".join(f"{r.bucket_name} ({r.cadence})" for r in row.reasons)
        return cls(
            contact_id=row.contact.id,
            name=row.contact.display_name,
            kind=row.kind.value,
            due_on=row.due_on,
            days_overdue=row.days_overdue,
            why=why,
            last_touch_at=row.last_touch_at,
        )


@attrs.frozen(kw_only=True)
class InsightRow:
    """One member's figures over a date range.

    :ivar leads_received: leads whose current assignment to the member
        started in the range.
    :ivar first_touch_median: median time from assignment to the member's
        first interaction with the contact (touched leads only).
    :ivar first_touch_p90: the 90th percentile of the same.
    :ivar untouched_leads: leads received and not touched yet.
    :ivar overdue_follow_ups: open follow-ups (policy rows, pool reminders and tasks) past due
        at the end of the range (or now, if earlier).
    :ivar interactions: interactions the member logged in the range, by kind.
    """

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "member_name",
        "leads_received",
        "first_touch_median",
        "first_touch_p90",
        "untouched_leads",
        "overdue_follow_ups",
        "calls",
        "emails",
        "meetings",
        "texts",
        "notes",
        "interactions_total",
    )

    member_id: MemberId
    member_name: str
    leads_received: int
    first_touch_median: timedelta | None
    first_touch_p90: timedelta | None
    untouched_leads: int
    overdue_follow_ups: int
    interactions: Mapping[str, int] = attrs.field(factory=dict, hash=False)

    def _kind(self, kind: str) -> int:
        return int(self.interactions.get(kind, 0))

    @property
    def calls(self) -> int:
        """Calls logged."""
        return self._kind("call")

    @property
    def emails(self) -> int:
        """Emails logged."""
        return self._kind("email")

    @property
    def meetings(self) -> int:
        """Meetings logged."""
        return self._kind("meeting")

    @property
    def texts(self) -> int:
        """Text messages logged."""
        return self._kind("text")

    @property
    def notes(self) -> int:
        """Notes logged."""
        return self._kind("note")

    @property
    def interactions_total(self) -> int:
        """Every interaction logged."""
        return sum(self.interactions.values())


def percentile(values: Sequence[timedelta], q: float) -> timedelta | None:
    """The *q*-th percentile (0-100) of *values*, nearest-rank; ``None`` when empty.

    >>> percentile([timedelta(minutes=m) for m in (1, 2, 3, 4)], 50)
    datetime.timedelta(seconds=120)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
