"""Ports of search, the management views and saved filters"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from teamcrm.contact import Company, Contact
from teamcrm.ids import (
    CompanyId,
    ContactId,
    MemberId,
    TeamId,
)
from teamcrm.pool import PoolId
from teamcrm.search import CompanyQuery, ContactQuery, SavedFilter, SavedFilterId, SearchScope
from teamcrm.team import Member
from teamcrm.views import GridFacts


# ------------------------------------------------------- search and management views
class ViewRepository(Protocol):
    """Read-only queries behind search, the agent grid and insights.

    Adapters answer them with their own indexes (the SQLite adapter in SQL),
    never by handing every contact to Python.
    """

    def search(
        self,
        team_id: TeamId,
        query: ContactQuery,
        *,
        scope: SearchScope | None,
        after: tuple[datetime, ContactId] | None,
        limit: int,
    ) -> list[Contact]:
        """Return up to *limit* contacts matching *query*, by (``created_at``, id).

        Exactly the contacts :func:`teamcrm.search.matches` accepts; only
        those *scope* allows (``None``: every contact of the team); starting
        after the key *after*.
        """
        ...

    def search_companies(
        self,
        team_id: TeamId,
        query: CompanyQuery,
        *,
        scope: SearchScope | None,
        after: tuple[datetime, CompanyId] | None,
        limit: int,
    ) -> list[Company]:
        """Return up to *limit* companies matching *query*, by (``created_at``, id).

        Exactly the companies :func:`teamcrm.search.company_matches` accepts;
        only those *scope* allows (the member created them, or a bucket of
        the scope holds them; ``None``: every company of the team); starting
        after the key *after*.
        """
        ...

    def last_contacted(
        self, team_id: TeamId, contact_ids: Iterable[ContactId]
    ) -> dict[str, datetime]:
        """Return each contact's newest team-wide touch (interaction), for those that have one."""
        ...

    def interaction_counts(
        self, team_id: TeamId, member_id: MemberId, start: datetime, end: datetime
    ) -> dict[str, int]:
        """Count the member's interactions with ``start <= occurred_at < end``, by kind."""
        ...

    def lead_touches(
        self, team_id: TeamId, member_id: MemberId, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime | None]]:
        """Return (assigned_at, first touch) of the member's leads assigned in [start, end).

        The first touch is the member's earliest interaction with the lead's
        contact at or after ``assigned_at`` (``None`` if none).  Ordered by
        ``assigned_at``, then lead id.
        """
        ...

    def grid_facts(
        self,
        team_id: TeamId,
        *,
        status: str | None,
        assignee_id: MemberId | None,
        pool_id: PoolId | None,
        now: datetime,
    ) -> list[GridFacts]:
        """Return the grid facts of every open lead (one per lead and owner) that matches.

        Filters: the contact's status, the owner, the lead's pool (each when
        given).  Any order.
        """
        ...

    def grid_page(
        self,
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
        """Return the *limit* worst grid facts that match, worst first.

        Exactly :func:`teamcrm.views.worst_grid_facts` of :meth:`grid_facts`
        with the same filters: ordered by :func:`teamcrm.views.grid_score`
        (most red signals, longest wait, then contact, lead and owner ids).
        Adapters rank where the data is (the SQLite adapter over a table
        kept by triggers) instead of loading every open lead.
        """
        ...

    def members_named(self, name: str) -> list[Member]:
        """Return members of any team whose name is *name* (case-insensitive).

        Used only to open a session by name (the command line).
        """
        ...

    def members_with_email(self, email: str) -> list[Member]:
        """Return members of any team whose email address is *email* (case-insensitive).

        Used only to open a session by email (the command line).
        """
        ...


class SavedFilterRepository(Protocol):
    """Saved contact filters (stored as data)."""

    def get(self, team_id: TeamId, filter_id: SavedFilterId) -> SavedFilter:
        """Return the saved filter or raise ``NotFound``."""
        ...

    def add(self, saved: SavedFilter) -> None:
        """Insert a new saved filter."""
        ...

    def update(self, saved: SavedFilter) -> None:
        """Replace the stored filter whose version is ``saved.version - 1``."""
        ...

    def delete(self, team_id: TeamId, filter_id: SavedFilterId, version: int) -> None:
        """Delete the filter if its stored version is *version*."""
        ...

    def for_member(self, team_id: TeamId, member_id: MemberId) -> list[SavedFilter]:
        """Return the member's own filters and the team's shared ones, by name then id."""
        ...
