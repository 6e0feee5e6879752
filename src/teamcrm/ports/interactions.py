"""The port of interactions (calls, emails, notes)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from teamcrm.ids import (
    CompanyId,
    ContactId,
    InteractionId,
    MemberId,
    TeamId,
)
from teamcrm.interaction import Interaction


class InteractionRepository(Protocol):
    """Interactions (append-only)."""

    def add(self, interaction: Interaction) -> None:
        """Insert a new interaction."""
        ...

    def get(self, team_id: TeamId, interaction_id: InteractionId) -> Interaction:
        """Return the interaction or raise ``NotFound``."""
        ...

    def for_contact(self, team_id: TeamId, contact_id: ContactId) -> list[Interaction]:
        """Return the contact's interactions, newest ``occurred_at`` first (ties: id)."""
        ...

    def for_contact_page(
        self,
        team_id: TeamId,
        contact_id: ContactId,
        *,
        before: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[Interaction]:
        """Return up to *limit* of :meth:`for_contact` (newest first) after *before*.

        *before* is the (``occurred_at``, id) of the last interaction of the
        previous page: the page holds those strictly older (ties: lower id).
        """
        ...

    def for_company(self, team_id: TeamId, company_id: CompanyId) -> list[Interaction]:
        """Return the interactions filed under a company, newest first (ties: id)."""
        ...

    def last_by_author(
        self, team_id: TeamId, contact_ids: Sequence[ContactId], *, until: datetime
    ) -> dict[tuple[ContactId, MemberId], datetime]:
        """When each author last interacted with each of *contact_ids*, up to *until*.

        Returns ``{(contact_id, author_id): occurred_at}``: for every contact
        of *contact_ids* and every member who authored one of its
        interactions with ``occurred_at <= until``, the newest such
        ``occurred_at`` - what :meth:`for_contact` of each contact would
        give, without reading the interactions themselves.  Pairs without
        such an interaction are absent; unknown contacts and other teams'
        interactions give nothing; an empty *contact_ids* gives ``{}``.

        One call for a page of contacts (the routing dashboard's "last
        contacted" column): a SQL store reads one index range of each
        contact's targets (``team_id, target_id, occurred_at``) in a single
        statement, whatever the number of contacts.  Added in the Unreleased
        version: a store implementing this port must add it.
        """
        ...

    def file_under(
        self, team_id: TeamId, interaction_id: InteractionId, company_ids: Sequence[CompanyId]
    ) -> None:
        """File an interaction under more companies (appended to its ``company_ids``).

        Companies it is already filed under are skipped; ``NotFound`` for a
        missing interaction.
        """
        ...

    def all(self, team_id: TeamId) -> list[Interaction]:
        """Return every interaction of the team (also of deleted contacts), by id.

        Used by the team backup (:mod:`teamcrm.backup`).
        """
        ...

    def move_contact(
        self, team_id: TeamId, from_ids: Sequence[ContactId], to_id: ContactId
    ) -> None:
        """File the interactions of *from_ids* under *to_id* instead (merging contacts).

        Each interaction keeps its other targets and its order; one that
        named several of them (or *to_id* too) names *to_id* once.  The one
        change ever made to a logged interaction.
        """
        ...
