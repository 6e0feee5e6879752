"""The memory store's programs and enrolments (the reference behaviour).

Kept apart from :mod:`teamcrm.adapters.memory` (which builds them into its
units of work): the same rules as the SQL stores - one active enrolment per
(program, contact), a program's enrolments deleted with it, claims that
skip leases still held.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.ids import CompanyId, ContactId, TeamId
from teamcrm.program import (
    Enrolment,
    EnrolmentId,
    EnrolmentState,
    Program,
    ProgramId,
    StopReason,
    TriggerKind,
)

if TYPE_CHECKING:
    from teamcrm.adapters.memory.tables import MemoryTables, _Table

__all__ = ["MemoryEnrolments", "MemoryPrograms"]


class MemoryPrograms:
    """Programs by id; deleting one deletes its enrolments."""

    def __init__(self, table: _Table[str, Program], enrolments: _Table[str, Enrolment]) -> None:
        self._t = table
        self._enrolments = enrolments

    def get(self, team_id: TeamId, program_id: ProgramId) -> Program:
        found = self._t.get(program_id)
        if found is None or found.team_id != team_id:
            raise NotFound("program", program_id)
        return found

    def add(self, program: Program) -> None:
        if program.id in self._t:
            raise AlreadyExists("program", program.id)
        self._t.put(program.id, program)

    def update(self, program: Program) -> None:
        stored = self.get(program.team_id, program.id)
        if stored.version != program.version - 1:
            raise ConcurrencyError("program", program.id, program.version - 1)
        self._t.put(program.id, program)

    def delete(self, team_id: TeamId, program_id: ProgramId, version: int) -> None:
        stored = self.get(team_id, program_id)
        if stored.version != version:
            raise ConcurrencyError("program", program_id, version)
        self._t.pop(program_id)
        for e in [e for e in self._enrolments.values() if e.program_id == program_id]:
            self._enrolments.pop(e.id)

    def all(self, team_id: TeamId) -> list[Program]:
        return sorted((p for p in self._t.values() if p.team_id == team_id), key=lambda p: p.id)

    def with_trigger(self, kind: TriggerKind) -> list[Program]:
        found = (p for p in self._t.values() if p.trigger.kind is kind)
        return sorted(found, key=lambda p: (p.team_id, p.id))


class MemoryEnrolments:
    """Enrolments by id, with the one-active-per-(program, contact) rule."""

    def __init__(self, table: _Table[str, Enrolment]) -> None:
        self._t = table

    def get(self, team_id: TeamId, enrolment_id: EnrolmentId) -> Enrolment:
        found = self._t.get(enrolment_id)
        if found is None or found.team_id != team_id:
            raise NotFound("enrolment", enrolment_id)
        return found

    def add_many(self, enrolments: Sequence[Enrolment]) -> list[Enrolment]:
        active = {
            (e.program_id, e.contact_id)
            for e in self._t.values()
            if e.state is EnrolmentState.ACTIVE
        }
        added = []
        for e in enrolments:
            if e.id in self._t:
                continue
            key = (e.program_id, e.contact_id)
            if e.state is EnrolmentState.ACTIVE:
                if key in active:
                    continue
                active.add(key)
            self._t.put(e.id, e)
            added.append(e)
        return added

    def add_new(
        self,
        team_id: TeamId,
        program_id: ProgramId,
        at: datetime,
        ids: Sequence[EnrolmentId],
        contact_ids: Sequence[ContactId],
        company_ids: Sequence[CompanyId | None] | None = None,
    ) -> list[ContactId]:
        companies = [None] * len(ids) if company_ids is None else company_ids
        runs = [
            Enrolment(
                id=eid,
                team_id=team_id,
                program_id=program_id,
                contact_id=cid,
                enrolled_at=at,
                due_at=at,
                company_id=company,
            )
            for eid, cid, company in zip(ids, contact_ids, companies, strict=True)
        ]
        return [e.contact_id for e in self.add_many(runs)]

    def update(self, enrolment: Enrolment) -> None:
        stored = self.get(enrolment.team_id, enrolment.id)
        if stored.version != enrolment.version - 1:
            raise ConcurrencyError("enrolment", enrolment.id, enrolment.version - 1)
        if enrolment.state is EnrolmentState.ACTIVE and stored.state is not EnrolmentState.ACTIVE:
            for e in self._t.values():
                same = (e.program_id, e.contact_id) == (enrolment.program_id, enrolment.contact_id)
                if same and e.id != enrolment.id and e.state is EnrolmentState.ACTIVE:
                    raise AlreadyExists("enrolment", enrolment.id)
        self._t.put(enrolment.id, enrolment)

    def for_contacts(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> list[Enrolment]:
        wanted = set(contact_ids)
        return sorted(
            (e for e in self._t.values() if e.team_id == team_id and e.contact_id in wanted),
            key=lambda e: e.id,
        )

    def for_companies(self, team_id: TeamId, company_ids: Iterable[CompanyId]) -> list[Enrolment]:
        wanted = set(company_ids)
        return sorted(
            (e for e in self._t.values() if e.team_id == team_id and e.company_id in wanted),
            key=lambda e: e.id,
        )

    def for_program(self, team_id: TeamId, program_id: ProgramId) -> list[Enrolment]:
        return sorted(
            (e for e in self._t.values() if e.team_id == team_id and e.program_id == program_id),
            key=lambda e: e.id,
        )

    def claim_due(
        self, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[Enrolment]:
        due = sorted(
            (
                e
                for e in self._t.values()
                if e.state is EnrolmentState.ACTIVE
                and e.due_at <= now
                and (e.lease_until is None or e.lease_until <= now)
            ),
            key=lambda e: (e.due_at, e.id),
        )[:limit]
        claimed = []
        for e in due:
            leased = attrs.evolve(e, lease_owner=owner, lease_until=until, version=e.version + 1)
            self._t.put(e.id, leased)
            claimed.append(leased)
        return claimed

    def stop_active(
        self,
        team_id: TeamId,
        enrolment_ids: Sequence[EnrolmentId],
        reason: StopReason,
        at: datetime,
    ) -> list[Enrolment]:
        stopped = []
        for enrolment_id in sorted(set(enrolment_ids)):
            e = self._t.get(enrolment_id)
            if e is None or e.team_id != team_id or not e.active:
                continue
            done = e.stopped(reason, at)
            self._t.put(e.id, done)
            stopped.append(done)
        return stopped

    def forget_contacts(self, team_id: TeamId, contact_ids: Sequence[ContactId]) -> None:
        gone = set(contact_ids)
        for e in [e for e in self._t.values() if e.team_id == team_id and e.contact_id in gone]:
            self._t.pop(e.id)


def memory_programs(t: MemoryTables) -> MemoryPrograms:
    """``uow.programs`` of a memory unit."""
    return MemoryPrograms(t.table("programs"), t.table("enrolments"))


def memory_enrolments(t: MemoryTables) -> MemoryEnrolments:
    """``uow.enrolments`` of a memory unit."""
    return MemoryEnrolments(t.table("enrolments"))
