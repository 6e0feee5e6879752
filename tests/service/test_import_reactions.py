"""Imported contacts react like any other add (issue 16): routing and programs.

An import emits ``contact.created`` (and ``contact.updated`` for merged rows)
through the reaction registry exactly as ``create_contacts`` does: the
contacts join their buckets first (routing, bucket programs), then the
creation reactions run.  Every test runs on memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import pg_support
import teamcrm
from teamcrm import Condition, EventName, Step, Trigger
from teamcrm.service.reactions import Occasion

MODES = ["all_or_nothing", "skip_bad_rows"]


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


@attrs.define
class Desk:
    crm: teamcrm.CRM
    ana: teamcrm.MemberSession  # admin
    bob: teamcrm.MemberSession  # agent
    web: teamcrm.Bucket  # a pool's source bucket


@pytest.fixture
def d(crm: teamcrm.CRM) -> Desk:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob", role="agent").id)
    web = ana.create_bucket("Website leads")
    ana.create_pool(
        "Web",
        source_bucket_ids=[web.id],
        member_ids=[ana.member_id, bob.member_id],
        method="round_robin",
    )
    return Desk(crm, ana, bob, web)


def _rows(n: int) -> io.StringIO:
    body = "".join(f"P{i},Person,p{i}@example.com\n" for i in range(n))
    return io.StringIO("first_name,last_name,email\n" + body)


def _runs(d: Desk, program_id: str) -> dict[str, int]:
    """Contact id -> number of runs of the program."""
    out: dict[str, int] = {}
    with d.crm.store.unit_of_work(write=False) as uow:
        for e in uow.enrolments.for_program(d.ana.team_id, program_id):  # type: ignore[arg-type]
            out[e.contact_id] = out.get(e.contact_id, 0) + 1
    return out


@pytest.mark.parametrize("mode", MODES)
def test_imported_contacts_enrol_in_created_and_bucket_programs_and_route_once(
    d: Desk, mode: str
) -> None:
    created = d.ana.create_program(
        "Welcome", Trigger(kind="contact_created"), [Step(kind="notify", text="new")]
    )
    entered = d.ana.create_program(
        "Web intake",
        Trigger(kind="bucket_entered", bucket_id=d.web.id),
        [Step(kind="notify", text="web")],
    )
    report = d.ana.import_contacts(_rows(5), bucket_id=d.web.id, mode=mode, batch=2)  # type: ignore[arg-type]
    assert report.created == 5
    ids = {r.contact.id for r in d.ana.search(limit=50).rows}
    assert len(ids) == 5
    assert _runs(d, created.id) == dict.fromkeys(ids, 1)
    assert _runs(d, entered.id) == dict.fromkeys(ids, 1)
    with d.crm.store.unit_of_work(write=False) as uow:
        leads = list(uow.leads.all(d.ana.team_id))  # type: ignore[arg-type]
    assert sorted(ld.contact_id for ld in leads) == sorted(ids)  # one lead per contact
    assert {ld.assignee_id for ld in leads} == {d.ana.member_id, d.bob.member_id}


def test_creation_reactions_see_the_contact_in_its_buckets(d: Desk) -> None:
    """Same order as create_contacts: buckets first, then contact.created reactions."""
    in_web = d.ana.create_program(
        "Web only",
        Trigger(kind="contact_created"),
        [Step(kind="notify", text="web")],
        conditions=[Condition(kind="in_bucket", bucket_id=d.web.id)],
    )
    seen: list[set[str]] = []

    def look(occasion: Occasion) -> None:
        held = occasion.uow.memberships.buckets_of(occasion.team_id, [occasion.event.subject_id])
        seen.append({m.bucket_id for m in held})

    d.crm.reactions.add(EventName.CONTACT_CREATED, "test", "look at the buckets", look)
    d.ana.import_contacts(_rows(3), bucket_id=d.web.id)
    assert len(seen) == 3
    assert all(d.web.id in held for held in seen)  # (routing may add an inbox too)
    assert len(_runs(d, in_web.id)) == 3
    # Imported outside the bucket: the condition keeps them out.
    d.ana.import_contacts(io.StringIO("name,email\nOut Side,out@example.com\n"))
    assert len(_runs(d, in_web.id)) == 3


def test_a_rolled_back_import_enrols_nobody(d: Desk) -> None:
    created = d.ana.create_program(
        "Welcome", Trigger(kind="contact_created"), [Step(kind="notify", text="new")]
    )
    with pytest.raises(teamcrm.TeamCRMError):
        d.ana.import_contacts(io.StringIO("name,email\nGood One,g@example.com\nBad,x@@y\n"))
    assert _runs(d, created.id) == {}
    d.ana.import_contacts(io.StringIO("name,email\nGood One,g@example.com\n"), dry_run=True)
    assert _runs(d, created.id) == {}


def test_a_merged_row_that_changes_the_status_fires_status_programs(d: Desk) -> None:
    won = d.ana.create_program(
        "Won",
        Trigger(kind="status_changed", status="priority"),
        [Step(kind="notify", text="won!")],
    )
    kim = d.ana.create_contact("Kim", "Lee", emails=["kim@example.com"])
    d.ana.import_contacts(
        io.StringIO("name,email,status\nKim Lee,kim@example.com,priority\n"),
        on_duplicate="overwrite",
    )
    assert d.ana.contact(kim.id).status == "priority"
    assert _runs(d, won.id) == {kim.id: 1}
    # A merge that leaves the status alone does not enrol again, nor anyone else.
    d.ana.import_contacts(
        io.StringIO("name,email,phone\nKim Lee,kim@example.com,+16175550100\n"),
        on_duplicate="fill_empty",
    )
    assert _runs(d, won.id) == {kim.id: 1}
