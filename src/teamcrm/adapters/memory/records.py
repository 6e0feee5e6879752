"""The in-memory store's repository of opportunities and cases.

Links are kept inside the stored records; a link to a contact or company
that no longer exists is left out whenever a record is read (the effect of
the SQL stores' ``ON DELETE CASCADE``: a record read back never names a
deleted contact or company).  Writing a record that names a missing contact
or company raises ``NotFound``, as the SQL stores' foreign keys do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from teamcrm.case import Case, CaseStatus
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.ids import CaseId, InteractionId, MemberId, OpportunityId, TeamId
from teamcrm.opportunity import Opportunity, RecordNote, Stage

if TYPE_CHECKING:
    from teamcrm.adapters.memory.tables import MemoryTables, _Table

__all__ = ["MemoryRecords"]

_R = TypeVar("_R", Opportunity, Case)


class MemoryRecords:
    """Opportunities and cases of a :class:`~teamcrm.adapters.memory.MemoryStore`."""

    def __init__(
        self,
        opportunities: _Table[str, Opportunity],
        cases: _Table[str, Case],
        notes: _Table[tuple[str, str], RecordNote],
        contacts: _Table[str, Any],
        companies: _Table[str, Any],
    ) -> None:
        self._o = opportunities
        self._c = cases
        self._n = notes
        self._contacts = contacts
        self._companies = companies

    # ---------------------------------------------------------------- shared
    def _exists(self, table: _Table[str, Any], team_id: str, key: str) -> bool:
        row = table.get(key)
        return row is not None and row.team_id == team_id

    def _live(self, record: _R) -> _R:
        """*record* without links to deleted contacts or companies."""
        t = record.team_id
        contacts = tuple(c for c in record.contact_ids if self._exists(self._contacts, t, c))
        companies = tuple(c for c in record.company_ids if self._exists(self._companies, t, c))
        if contacts == record.contact_ids and companies == record.company_ids:
            return record
        return attrs.evolve(record, contact_ids=contacts, company_ids=companies)

    def _check_links(self, record: Opportunity | Case) -> None:
        t = record.team_id
        for c in record.contact_ids:
            if not self._exists(self._contacts, t, c):
                raise NotFound("contact", c)
        for co in record.company_ids:
            if not self._exists(self._companies, t, co):
                raise NotFound("company", co)

    def _get(self, table: _Table[str, _R], kind: str, team_id: str, key: str) -> _R:
        row = table.get(key)
        if row is None or row.team_id != team_id:
            raise NotFound(kind, key)
        return self._live(row)

    def _add(self, table: _Table[str, _R], kind: str, record: _R) -> None:
        if record.id in table:
            raise AlreadyExists(kind, record.id)
        self._check_links(record)
        table.put(record.id, record)

    def _update(self, table: _Table[str, _R], kind: str, record: _R) -> None:
        stored = table.get(record.id)
        if stored is None or stored.team_id != record.team_id:
            raise NotFound(kind, record.id)
        if stored.version != record.version - 1:
            raise ConcurrencyError(kind, record.id, record.version - 1)
        self._check_links(record)
        table.put(record.id, record)

    def _delete(
        self, table: _Table[str, _R], kind: str, team_id: str, key: str, version: int
    ) -> None:
        stored = self._get(table, kind, team_id, key)
        if stored.version != version:
            raise ConcurrencyError(kind, key, version)
        table.pop(key)
        for note_key in [k for k in self._n.rows if k[0] == key]:
            self._n.pop(note_key)

    def _team(self, table: _Table[str, _R], team_id: str) -> list[_R]:
        rows = [self._live(r) for r in table.values() if r.team_id == team_id]
        return sorted(rows, key=lambda r: (r.created_at, r.id))

    def lock(self, team_id: TeamId, record_id: str) -> None:
        pass  # writing units already run one at a time

    # ---------------------------------------------------------- opportunities
    def get_opportunity(self, team_id: TeamId, opportunity_id: OpportunityId) -> Opportunity:
        return self._get(self._o, "opportunity", team_id, opportunity_id)

    def add_opportunity(self, opportunity: Opportunity) -> None:
        self._add(self._o, "opportunity", opportunity)

    def update_opportunity(self, opportunity: Opportunity) -> None:
        self._update(self._o, "opportunity", opportunity)

    def delete_opportunity(
        self, team_id: TeamId, opportunity_id: OpportunityId, version: int
    ) -> None:
        self._delete(self._o, "opportunity", team_id, opportunity_id, version)

    def opportunities(
        self,
        team_id: TeamId,
        *,
        stage: Stage | None = None,
        owner_id: MemberId | None = None,
    ) -> list[Opportunity]:
        wanted = None if stage is None else Stage(stage)
        return [
            o
            for o in self._team(self._o, team_id)
            if (wanted is None or o.stage is wanted)
            and (owner_id is None or o.owner_id == owner_id)
        ]

    # ------------------------------------------------------------------ cases
    def get_case(self, team_id: TeamId, case_id: CaseId) -> Case:
        return self._get(self._c, "case", team_id, case_id)

    def add_case(self, case: Case) -> None:
        self._add(self._c, "case", case)

    def update_case(self, case: Case) -> None:
        self._update(self._c, "case", case)

    def delete_case(self, team_id: TeamId, case_id: CaseId, version: int) -> None:
        self._delete(self._c, "case", team_id, case_id, version)

    def cases(self, team_id: TeamId, *, status: CaseStatus | None = None) -> list[Case]:
        wanted = None if status is None else CaseStatus(status)
        return [c for c in self._team(self._c, team_id) if wanted is None or c.status is wanted]

    # ------------------------------------------------------------ links, notes
    def linking(self, team_id: TeamId, target_ids: Iterable[str]) -> list[Opportunity | Case]:
        wanted = set(target_ids)
        found: list[Opportunity | Case] = [
            *self._team(self._o, team_id),
            *self._team(self._c, team_id),
        ]
        hits = [r for r in found if wanted & {*r.contact_ids, *r.company_ids}]
        return sorted(hits, key=lambda r: r.id)

    def file_note(self, note: RecordNote) -> None:
        key = (note.record_id, note.interaction_id)
        if key not in self._n:
            self._n.put(key, note)

    def note_ids(self, team_id: TeamId, record_id: str) -> list[InteractionId]:
        return sorted(
            n.interaction_id
            for n in self._n.values()
            if n.team_id == team_id and n.record_id == record_id
        )

    def all_notes(self, team_id: TeamId) -> list[RecordNote]:
        rows = [n for n in self._n.values() if n.team_id == team_id]
        return sorted(rows, key=lambda n: (n.record_id, n.interaction_id))


def memory_records(t: MemoryTables) -> MemoryRecords:
    """``uow.records`` of a memory unit."""
    return MemoryRecords(
        t.table("opportunities"),
        t.table("cases"),
        t.table("record_notes"),
        t.table("contacts"),
        t.table("companies"),
    )
