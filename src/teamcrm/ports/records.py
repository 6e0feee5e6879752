"""The port of opportunities and cases"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from teamcrm.case import Case, CaseStatus
from teamcrm.ids import (
    CaseId,
    InteractionId,
    MemberId,
    OpportunityId,
    TeamId,
)
from teamcrm.opportunity import Opportunity, RecordNote, Stage


# ================================================================ records
class RecordRepository(Protocol):
    """Opportunities and cases, their links to contacts and companies, and their notes.

    A record's ``contact_ids`` and ``company_ids`` are stored as links that
    the store removes when the contact or company is deleted (a foreign key
    with ``ON DELETE CASCADE``, or the same effect): a record read back never
    names a deleted contact or company.  Writing a record whose links name a
    missing contact or company fails (``NotFound`` or ``ConcurrencyError``);
    nothing is written then.
    """

    def lock(self, team_id: TeamId, record_id: str) -> None:
        """Hold the opportunity or case against concurrent changes until the unit ends.

        Where writing units run side by side (PostgreSQL) the row is locked,
        so a read-modify-write of the record cannot fail or lose a concurrent
        change; elsewhere nothing needs doing.  Nothing in a read-only unit.
        """
        ...

    def get_opportunity(self, team_id: TeamId, opportunity_id: OpportunityId) -> Opportunity:
        """Return the opportunity or raise ``NotFound``."""
        ...

    def add_opportunity(self, opportunity: Opportunity) -> None:
        """Insert a new opportunity with its links."""
        ...

    def update_opportunity(self, opportunity: Opportunity) -> None:
        """Replace the opportunity (and its links) stored at ``version - 1``."""
        ...

    def delete_opportunity(
        self, team_id: TeamId, opportunity_id: OpportunityId, version: int
    ) -> None:
        """Delete the opportunity, its links and its filed notes, if its version is *version*."""
        ...

    def opportunities(
        self,
        team_id: TeamId,
        *,
        stage: Stage | None = None,
        owner_id: MemberId | None = None,
    ) -> list[Opportunity]:
        """Return the team's opportunities (optionally of one stage / owner), oldest first."""
        ...

    def get_case(self, team_id: TeamId, case_id: CaseId) -> Case:
        """Return the case or raise ``NotFound``."""
        ...

    def add_case(self, case: Case) -> None:
        """Insert a new case with its links."""
        ...

    def update_case(self, case: Case) -> None:
        """Replace the case (and its links) stored at ``version - 1``."""
        ...

    def delete_case(self, team_id: TeamId, case_id: CaseId, version: int) -> None:
        """Delete the case, its links and its filed notes, if its version is *version*."""
        ...

    def cases(self, team_id: TeamId, *, status: CaseStatus | None = None) -> list[Case]:
        """Return the team's cases (optionally of one status), oldest first."""
        ...

    def linking(self, team_id: TeamId, target_ids: Iterable[str]) -> list[Opportunity | Case]:
        """Return the records linked to any of *target_ids* (contacts or companies), by id."""
        ...

    def file_note(self, note: RecordNote) -> None:
        """File an interaction under a record (no-op if it is filed there already)."""
        ...

    def note_ids(self, team_id: TeamId, record_id: str) -> list[InteractionId]:
        """Return the ids of the interactions filed under a record, in filing order."""
        ...

    def all_notes(self, team_id: TeamId) -> list[RecordNote]:
        """Return every filed note of the team (for backups)."""
        ...
