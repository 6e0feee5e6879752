"""Contract tests of :class:`~teamcrm.ports.RecordRepository` (opportunities and cases).

Part of the public contract suite (:class:`teamcrm.testing.contract.StoreContract`
includes every class here):

* :class:`RecordRepositoryContract` — opportunities and cases round-trip with
  their links in order and an exact decimal value; lists are oldest first and
  filter by stage, owner and status; writes check versions; teams stay apart;
  deleting a contact or company removes its links (versions unchanged) and a
  record naming a missing one is refused with nothing written; notes are
  filed once, listed by id, and go with their record.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from teamcrm.case import Case, CaseStatus
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.ids import (
    PREFIXES,
    CaseId,
    ContactId,
    OpportunityId,
    new_case_id,
    new_interaction_id,
    new_opportunity_id,
)
from teamcrm.interaction import Interaction, InteractionKind
from teamcrm.opportunity import Opportunity, RecordNote, Stage
from teamcrm.ports import Store, UnitOfWork
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    at,
    bump,
    new_contact,
    read,
    seed_team,
    write,
)

__all__ = ["RecordRepositoryContract", "new_case", "new_opportunity"]


def new_opportunity(seed: Seed, seconds: float = 10, **changes: Any) -> Opportunity:
    """Return an unsaved opportunity of *seed*'s team, linked to its contact and company."""
    fields: dict[str, Any] = {
        "id": new_opportunity_id(),
        "team_id": seed.team_id,
        "title": "Pension plan",
        "value": Decimal("1250.50"),
        "currency": "EUR",
        "stage": Stage.PROPOSAL,
        "owner_id": seed.agent.id,
        "created_by": seed.admin.id,
        "created_at": at(seconds),
        "updated_at": at(seconds),
        "contact_ids": (seed.contact.id,),
        "company_ids": (seed.company.id,),
    }
    fields.update(changes)
    return Opportunity(**fields)


def new_case(seed: Seed, seconds: float = 10, **changes: Any) -> Case:
    """Return an unsaved open case of *seed*'s team, linked to its contact."""
    fields: dict[str, Any] = {
        "id": new_case_id(),
        "team_id": seed.team_id,
        "title": "Invoice wrong",
        "status": CaseStatus.OPEN,
        "created_by": seed.agent.id,
        "created_at": at(seconds),
        "updated_at": at(seconds),
        "contact_ids": (seed.contact.id,),
    }
    fields.update(changes)
    return Case(**fields)


class RecordRepositoryContract(StoreContractBase):
    """Opportunities and cases: round trip, lists, versions, cascades, notes."""

    def test_records_round_trip_with_links_in_order(self, store: Store, seed: Seed) -> None:
        second = new_contact(seed, 5)
        write(store, lambda uow: uow.contacts.add(second))
        t = seed.team_id
        won = new_opportunity(
            seed, 30, stage=Stage.WON, value=Decimal("0.0001"), owner_id=seed.admin.id
        )
        early = new_opportunity(seed, 20, contact_ids=(second.id, seed.contact.id))
        bare = new_case(seed, 20, contact_ids=(), status=CaseStatus.PENDING)
        open_ = new_case(seed, 10, company_ids=(seed.company.id,))

        def fill(uow: UnitOfWork) -> None:
            uow.records.add_opportunity(won)
            uow.records.add_opportunity(early)
            uow.records.add_case(bare)
            uow.records.add_case(open_)

        write(store, fill)
        assert read(store, lambda uow: uow.records.get_opportunity(t, early.id)) == early
        assert read(store, lambda uow: uow.records.get_case(t, bare.id)) == bare
        assert read(store, lambda uow: uow.records.opportunities(t)) == [early, won]
        assert read(store, lambda uow: uow.records.opportunities(t, stage=Stage.WON)) == [won]
        mine = read(store, lambda uow: uow.records.opportunities(t, owner_id=seed.agent.id))
        assert mine == [early]
        assert read(store, lambda uow: uow.records.cases(t)) == [open_, bare]
        pending = read(store, lambda uow: uow.records.cases(t, status=CaseStatus.PENDING))
        assert pending == [bare]
        linked = read(store, lambda uow: uow.records.linking(t, [second.id]))
        assert linked == [early]
        by_company = read(store, lambda uow: uow.records.linking(t, [seed.company.id]))
        assert sorted(r.id for r in by_company) == sorted([won.id, early.id, open_.id])
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.records.add_opportunity(won))
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.records.add_case(bare))
        other = seed_team(store, "Other")
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.records.get_opportunity(other.team_id, won.id))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.records.get_case(other.team_id, bare.id))
        assert read(store, lambda uow: uow.records.opportunities(other.team_id)) == []
        assert read(store, lambda uow: uow.records.cases(other.team_id)) == []
        assert read(store, lambda uow: uow.records.linking(other.team_id, [second.id])) == []

    def test_record_writes_need_the_stored_version(self, store: Store, seed: Seed) -> None:
        t = seed.team_id
        opp = new_opportunity(seed)
        case = new_case(seed)

        def fill(uow: UnitOfWork) -> None:
            uow.records.add_opportunity(opp)
            uow.records.add_case(case)

        write(store, fill)
        moved = bump(opp, stage=Stage.LOST, value=Decimal("7"), company_ids=(), updated_at=at(50))
        write(store, lambda uow: uow.records.update_opportunity(moved))
        assert read(store, lambda uow: uow.records.get_opportunity(t, opp.id)) == moved
        closed = bump(case, status=CaseStatus.CLOSED, contact_ids=(), title="Done")
        write(store, lambda uow: uow.records.update_case(closed))
        assert read(store, lambda uow: uow.records.get_case(t, case.id)) == closed
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.records.update_opportunity(bump(opp, title="stale")))
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.records.update_case(bump(case, title="stale")))
        with pytest.raises(NotFound):
            write(store, lambda uow: uow.records.update_case(new_case(seed, version=2)))
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.records.delete_opportunity(t, opp.id, 1))
        with pytest.raises(NotFound):
            write(
                store,
                lambda uow: uow.records.delete_case(t, CaseId(PREFIXES["case"] + "0" * 26), 1),
            )
        write(store, lambda uow: uow.records.delete_opportunity(t, opp.id, 2))
        write(store, lambda uow: uow.records.delete_case(t, case.id, 2))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.records.get_opportunity(t, opp.id))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.records.get_case(t, case.id))

    def test_deleting_a_contact_or_company_removes_its_links(
        self, store: Store, seed: Seed
    ) -> None:
        t = seed.team_id
        opp = new_opportunity(seed)
        case = new_case(seed, company_ids=(seed.company.id,))

        def fill(uow: UnitOfWork) -> None:
            uow.records.add_opportunity(opp)
            uow.records.add_case(case)

        write(store, fill)
        write(store, lambda uow: uow.contacts.delete(t, seed.contact.id, seed.contact.version))
        left = read(store, lambda uow: uow.records.get_opportunity(t, opp.id))
        assert left.contact_ids == ()
        assert left.company_ids == (seed.company.id,)
        assert left.version == opp.version
        assert read(store, lambda uow: uow.records.linking(t, [seed.contact.id])) == []
        write(store, lambda uow: uow.companies.delete(t, seed.company.id, seed.company.version))
        gone = read(store, lambda uow: uow.records.get_case(t, case.id))
        assert (gone.contact_ids, gone.company_ids) == ((), ())
        assert read(store, lambda uow: uow.records.cases(t)) == [gone]  # the record is kept

    def test_a_record_naming_a_missing_contact_is_refused(self, store: Store, seed: Seed) -> None:
        t = seed.team_id
        ghost = ContactId(PREFIXES["contact"] + "0" * 26)
        bad = new_opportunity(seed, contact_ids=(seed.contact.id, ghost))
        with pytest.raises((NotFound, ConcurrencyError)):
            write(store, lambda uow: uow.records.add_opportunity(bad))
        assert read(store, lambda uow: uow.records.opportunities(t)) == []
        case = new_case(seed)
        write(store, lambda uow: uow.records.add_case(case))
        with pytest.raises((NotFound, ConcurrencyError)):
            write(store, lambda uow: uow.records.update_case(bump(case, contact_ids=(ghost,))))
        assert read(store, lambda uow: uow.records.get_case(t, case.id)) == case

    def test_notes_are_filed_once_and_go_with_their_record(self, store: Store, seed: Seed) -> None:
        t = seed.team_id
        opp = new_opportunity(seed)
        case = new_case(seed)
        notes = [
            Interaction(
                id=new_interaction_id(),
                team_id=t,
                kind=InteractionKind.NOTE,
                author_id=seed.agent.id,
                occurred_at=at(100 + i),
                logged_at=at(100 + i),
                contact_ids=(seed.contact.id,),
                body=f"note {i}",
            )
            for i in range(3)
        ]

        def fill(uow: UnitOfWork) -> None:
            uow.records.add_opportunity(opp)
            uow.records.add_case(case)
            for note in notes:
                uow.interactions.add(note)
            for note in reversed(notes):
                uow.records.file_note(
                    RecordNote(team_id=t, record_id=opp.id, interaction_id=note.id)
                )
            uow.records.file_note(
                RecordNote(team_id=t, record_id=opp.id, interaction_id=notes[0].id)
            )
            uow.records.file_note(
                RecordNote(team_id=t, record_id=case.id, interaction_id=notes[1].id)
            )

        write(store, fill)
        ids = sorted(n.id for n in notes)
        assert read(store, lambda uow: uow.records.note_ids(t, opp.id)) == ids
        assert read(store, lambda uow: uow.records.note_ids(t, case.id)) == [notes[1].id]
        every = read(store, lambda uow: uow.records.all_notes(t))
        assert len(every) == 4
        assert {(n.record_id, n.interaction_id) for n in every} == {
            *((opp.id, i) for i in ids),
            (case.id, notes[1].id),
        }
        other = seed_team(store, "Other")
        assert read(store, lambda uow: uow.records.note_ids(other.team_id, opp.id)) == []
        assert read(store, lambda uow: uow.records.all_notes(other.team_id)) == []
        write(store, lambda uow: uow.records.delete_opportunity(t, OpportunityId(opp.id), 1))
        assert read(store, lambda uow: uow.records.note_ids(t, opp.id)) == []
        assert read(store, lambda uow: uow.records.note_ids(t, case.id)) == [notes[1].id]
        assert read(store, lambda uow: uow.interactions.get(t, notes[0].id)) == notes[0]
