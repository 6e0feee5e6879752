"""The storage ports of programs: programs and their enrolments.

Re-exported by :mod:`teamcrm.ports`; every store implements both (the
memory store in :mod:`teamcrm.adapters.memory.programs`, SQLite and
PostgreSQL in ``adapters/sqlite/programs.py`` and
``adapters/postgres/programs.py``).  The rules of :mod:`teamcrm.ports` hold
(team scoping, versions checked by the database), plus:

* at most one **active** enrolment per (program, contact): a unique
  constraint (a partial unique index on SQLite and PostgreSQL) decides it,
  and :meth:`EnrolmentRepository.add_many` skips the rows it refuses;
* deleting a contact or a program deletes its enrolments (foreign keys
  with ``ON DELETE CASCADE``; the memory store does the same);
* :meth:`EnrolmentRepository.claim_due` hands each due enrolment to one
  worker at a time (SQLite: ``UPDATE ... RETURNING`` in a writing unit,
  which holds the write lock; PostgreSQL: ``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from teamcrm.ids import CompanyId, ContactId, TeamId
from teamcrm.program import (
    Enrolment,
    EnrolmentId,
    Program,
    ProgramId,
    StopReason,
    TriggerKind,
)

__all__ = ["EnrolmentRepository", "ProgramRepository"]


class ProgramRepository(Protocol):
    """Programs (personal ones and the team library's)."""

    def get(self, team_id: TeamId, program_id: ProgramId) -> Program:
        """Return the program or raise ``NotFound``."""
        ...

    def add(self, program: Program) -> None:
        """Insert a new program (``AlreadyExists`` for a taken id)."""
        ...

    def update(self, program: Program) -> None:
        """Replace the stored program whose version is ``program.version - 1``."""
        ...

    def delete(self, team_id: TeamId, program_id: ProgramId, version: int) -> None:
        """Delete the program (and its enrolments) if its stored version is *version*."""
        ...

    def all(self, team_id: TeamId) -> list[Program]:
        """Return every program of the team, by id."""
        ...

    def with_trigger(self, kind: TriggerKind) -> list[Program]:
        """Return every program of every team whose trigger is *kind*, by team and id.

        For the runner's scans (``follow_up_overdue``): library templates and
        paused programs are included, the caller keeps those that run.
        """
        ...


class EnrolmentRepository(Protocol):
    """Runs of programs for contacts."""

    def get(self, team_id: TeamId, enrolment_id: EnrolmentId) -> Enrolment:
        """Return the enrolment or raise ``NotFound``."""
        ...

    def add_many(self, enrolments: Sequence[Enrolment]) -> list[Enrolment]:
        """Insert enrolments; skip any whose (program, contact) already has an active one.

        Returns those inserted, in order.
        """
        ...

    def add_new(
        self,
        team_id: TeamId,
        program_id: ProgramId,
        at: datetime,
        ids: Sequence[EnrolmentId],
        contact_ids: Sequence[ContactId],
        company_ids: Sequence[CompanyId | None] | None = None,
    ) -> list[ContactId]:
        """Start runs of one program: ``ids[n]`` for ``contact_ids[n]``, enrolled and due at *at*.

        Each is active at its first step, never tried nor leased, started by
        ``company_ids[n]`` when given (else by none): what
        :meth:`add_many` would insert for those enrolments, without building
        them (a bulk enrolment starts thousands).  Skips those
        :meth:`add_many` would skip; returns the contact ids of the runs
        started, in order.
        """
        ...

    def update(self, enrolment: Enrolment) -> None:
        """Replace the stored enrolment whose version is ``enrolment.version - 1``."""
        ...

    def for_contacts(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> list[Enrolment]:
        """Return every enrolment (any state) of those contacts, by id."""
        ...

    def for_companies(self, team_id: TeamId, company_ids: Iterable[CompanyId]) -> list[Enrolment]:
        """Return every enrolment (any state) started for one of those companies, by id.

        The runs a ``company_bucket_entered`` program started when the
        company entered its bucket (``Enrolment.company_id``).
        """
        ...

    def for_program(self, team_id: TeamId, program_id: ProgramId) -> list[Enrolment]:
        """Return every enrolment (any state) of the program, by id."""
        ...

    def claim_due(
        self, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[Enrolment]:
        """Lease up to *limit* active enrolments due by *now* to *owner* until *until*.

        Any team; oldest due first.  An enrolment whose lease is held by
        someone else until after *now* is not due; one whose lease expired is.
        Each claimed row gets ``lease_owner``/``lease_until`` and version + 1.
        """
        ...

    def stop_active(
        self,
        team_id: TeamId,
        enrolment_ids: Sequence[EnrolmentId],
        reason: StopReason,
        at: datetime,
    ) -> list[Enrolment]:
        """Stop those of the enrolments that are still active; return them as stopped, by id.

        Whatever their version (a worker's claim does not make a stop fail);
        each stopped row's version goes up by one, so a worker running its
        step finds it moved and rolls the step back.
        """
        ...

    def forget_contacts(self, team_id: TeamId, contact_ids: Sequence[ContactId]) -> None:
        """Delete every enrolment of those contacts (they were deleted)."""
        ...
