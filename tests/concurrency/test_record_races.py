"""Races on opportunities and cases between two real processes (SQLite file, PostgreSQL).

``delete_contact`` / ``delete_company`` in one process while the other links
the same contact or company to an opportunity (``link_record``) or opens a
case about it (``create_case``): afterwards no link of any record names a
deleted contact or company, and every deletion went through.  The links are
held by a foreign key ``ON DELETE CASCADE``; on PostgreSQL the linking unit
first locks the contact or company ``FOR KEY SHARE`` (the delete waits for
it, then removes the new link with the row) and the delete locks it
``FOR UPDATE`` first (a later link waits, then finds it gone: ``NotFound``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import teamcrm
from race_support import STORES, Reader, run_workers, store_url, violations

pytestmark = pytest.mark.slow

ROUNDS = 12

#: Links that must never exist (what it means, SQL returning the offending rows).
DANGLING = {
    "a record linked to a deleted contact": (
        "SELECT l.record_id, l.contact_id FROM record_contacts l"
        " WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = l.contact_id)"
    ),
    "a record linked to a deleted company": (
        "SELECT l.record_id, l.company_id FROM record_companies l"
        " WHERE NOT EXISTS (SELECT 1 FROM companies c WHERE c.id = l.company_id)"
    ),
    "a note filed under a deleted record": (
        "SELECT n.record_id FROM record_notes n WHERE NOT EXISTS"
        " (SELECT 1 FROM opportunities o WHERE o.id = n.record_id)"
        " AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = n.record_id)"
    ),
    "a link of a deleted record": (
        "SELECT l.record_id FROM record_contacts l WHERE NOT EXISTS"
        " (SELECT 1 FROM opportunities o WHERE o.id = l.record_id)"
        " AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = l.record_id)"
    ),
}


def _dangling(url: str) -> dict[str, list[tuple[Any, ...]]]:
    reader = Reader(url)
    try:
        found = {what: reader.rows(sql) for what, sql in DANGLING.items()}
        return {what: rows for what, rows in found.items() if rows}
    finally:
        reader.close()


def _delete_worker(url: str, admin: str, ids: list[str], barrier: Any) -> int:
    """Delete each contact or company, one round at a time; count the deletions."""
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    done = 0
    for target in ids:
        barrier.wait(30)
        try:
            if target.startswith("ct_"):
                session.delete_contact(target)  # type: ignore[arg-type]
            else:
                session.delete_company(target)  # type: ignore[arg-type]
            done += 1
        except (teamcrm.NotFound, teamcrm.ConcurrencyError):
            pass
    crm.close()
    return done


def _link_worker(url: str, admin: str, steps: list[tuple[str, str]], barrier: Any) -> int:
    """Link each target to its opportunity, or open a case about it; count what worked."""
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    done = 0
    for opportunity_id, target in steps:
        barrier.wait(30)
        key = "contact_ids" if target.startswith("ct_") else "company_ids"
        try:
            if opportunity_id:
                session.link_record(opportunity_id, **{key: [target]})  # type: ignore[arg-type]
            else:
                session.create_case("About it", **{key: [target]})  # type: ignore[arg-type]
            done += 1
        except (teamcrm.NotFound, teamcrm.ConcurrencyError):
            pass
    crm.close()
    return done


@pytest.mark.parametrize("kind", STORES)
def test_deleting_a_contact_or_company_while_it_is_linked_to_a_record_leaves_no_link(
    kind: str, tmp_path: Path
) -> None:
    with store_url(kind, tmp_path) as url:
        crm = teamcrm.open(url)
        _, admin = crm.create_team("Records", admin_name="Ana")
        ana = crm.as_member(admin.id)
        deletes: list[str] = []
        steps: list[tuple[str, str]] = []
        for r in range(ROUNDS):
            target = ana.create_contact(f"C{r}").id if r % 2 else ana.create_company(f"Co{r}").id
            keeper = ana.create_contact(f"Keep{r}")  # the record keeps another link
            opp = ana.create_opportunity(f"Deal {r}", contact_ids=[keeper.id])
            deletes.append(target)
            steps.append((opp.id if r % 4 < 2 else "", target))
        results = run_workers(
            [
                (_delete_worker, (url, ana.member_id, deletes)),
                (_link_worker, (url, ana.member_id, steps)),
            ]
        )
        assert results[0] == ROUNDS  # every deletion went through
        assert _dangling(url) == {}
        assert violations(url) == {}
        gone = set(deletes)
        for record in [*ana.opportunities(), *ana.cases()]:
            assert not gone & {*record.contact_ids, *record.company_ids}
        assert len(ana.opportunities()) == ROUNDS
        crm.close()


def _link_many_worker(url: str, admin: str, record_id: str, ids: list[str], barrier: Any) -> int:
    """Link each contact to the one record, one round at a time (errors fail the test)."""
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    for contact_id in ids:
        barrier.wait(30)
        session.link_record(record_id, contact_ids=[contact_id])  # type: ignore[arg-type]
    crm.close()
    return len(ids)


@pytest.mark.parametrize("kind", STORES)
def test_two_processes_linking_to_one_record_lose_nothing(kind: str, tmp_path: Path) -> None:
    """The record is locked from its read to the commit: no ``ConcurrencyError``, no lost link."""
    with store_url(kind, tmp_path) as url:
        crm = teamcrm.open(url)
        _, admin = crm.create_team("Links", admin_name="Ana")
        ana = crm.as_member(admin.id)
        opp = ana.create_opportunity("Shared deal")
        halves = [[ana.create_contact(f"{side}{r}").id for r in range(ROUNDS)] for side in "AB"]
        run_workers([(_link_many_worker, (url, ana.member_id, opp.id, ids)) for ids in halves])
        final = ana.opportunity(opp.id)
        assert set(final.contact_ids) == {*halves[0], *halves[1]}
        assert final.version == 1 + 2 * ROUNDS
        crm.close()


def _delete_records_worker(url: str, admin: str, ids: list[str], barrier: Any) -> int:
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    for record_id in ids:
        barrier.wait(30)
        if record_id.startswith("op_"):
            session.delete_opportunity(record_id)  # type: ignore[arg-type]
        else:
            session.delete_case(record_id)  # type: ignore[arg-type]
    crm.close()
    return len(ids)


def _file_notes_worker(url: str, admin: str, ids: list[str], barrier: Any) -> int:
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    done = 0
    for record_id in ids:
        barrier.wait(30)
        key = "opportunity_id" if record_id.startswith("op_") else "case_id"
        try:
            session.log_interaction("note", body="filed", **{key: record_id})  # type: ignore[arg-type]
            done += 1
        except teamcrm.NotFound:
            pass
    crm.close()
    return done


@pytest.mark.parametrize("kind", STORES)
def test_deleting_a_record_while_a_note_is_filed_under_it_leaves_no_note_behind(
    kind: str, tmp_path: Path
) -> None:
    with store_url(kind, tmp_path) as url:
        crm = teamcrm.open(url)
        _, admin = crm.create_team("Notes", admin_name="Ana")
        ana = crm.as_member(admin.id)
        ids: list[str] = []
        for r in range(ROUNDS):
            contact = ana.create_contact(f"N{r}")
            if r % 2:
                ids.append(ana.create_opportunity(f"D{r}", contact_ids=[contact.id]).id)
            else:
                ids.append(ana.create_case(f"K{r}", contact_ids=[contact.id]).id)
        run_workers(
            [
                (_delete_records_worker, (url, ana.member_id, ids)),
                (_file_notes_worker, (url, ana.member_id, ids)),
            ]
        )
        assert _dangling(url) == {}
        assert ana.opportunities() == []
        assert ana.cases() == []
        crm.close()
