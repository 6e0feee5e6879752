"""Reactions declared in one registry, and the reaction bugs of issue 14 fixed through it.

Each test runs on ``memory://``, SQLite and (with a test server) PostgreSQL.

* deleting a contact closes its open leads (offers withdrawn, capacity freed);
* a reassigned lead's pool reminder follows the lead (no reaction needed);
* a routed lead's contact takes the team's ``new_lead_status`` (seed 001);
* linking a contact to a company later, or turning on filing under
  companies, files the contact's earlier notes under the company (seed 002);
* the registry, not a base-class order, decides what runs after a change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import attrs
import pytest

import pg_support
import teamcrm
from teamcrm import OfferClosed
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import TeamId
from teamcrm.ports import UnitOfWork
from teamcrm.service.base import SessionBase
from teamcrm.service.crm import MemberSession
from teamcrm.service.reactions import Occasion, Reactions, default_reactions

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TEAM = TeamId("tm_" + "0" * 26)


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


@attrs.define
class World:
    """Admin Ana, agents Brad and Cat; team bucket 'Web' feeding a pool."""

    crm: teamcrm.CRM
    ana: teamcrm.MemberSession
    brad: teamcrm.MemberSession
    cat: teamcrm.MemberSession
    web: teamcrm.Bucket


@pytest.fixture
def w(crm: teamcrm.CRM) -> World:
    """The world on the parametrised store."""
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    brad = crm.as_member(ana.add_member("Brad").id)
    cat = crm.as_member(ana.add_member("Cat").id)
    return World(crm, ana, brad, cat, ana.create_bucket("Web"))


def _pool(w: World, method: str = "round_robin", **extra: object) -> teamcrm.LeadPool:
    return w.ana.create_pool(
        "Web leads",
        source_bucket_ids=[w.web.id],
        member_ids=[w.brad.member_id, w.cat.member_id],
        method=method,
        **extra,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------ contact.deleted
def test_deleting_a_contact_closes_its_open_assigned_lead(w: World) -> None:
    """The lead leaves its owner's load and the dashboard; it can no longer be reassigned."""
    pool = _pool(w)
    kim = w.ana.create_contacts([{"first_name": "Kim"}], bucket_id=w.web.id)[0]
    lead = w.ana.leads(pool_id=pool.id)[0]
    assert lead.assignee_ids == (w.brad.member_id,)
    w.ana.delete_contact(kim.id)
    closed = w.ana.lead(lead.id)
    assert closed.status is teamcrm.LeadStatus.REMOVED
    assert closed.assignee_ids == ()
    assert w.brad.leads() == []
    assert w.ana.routing_dashboard() == []
    with pytest.raises(teamcrm.ValidationError):
        w.ana.reassign(lead.id, w.cat.member_id)
    # The next lead goes by rotation, as if Brad never held the deleted one.
    lee = w.ana.create_contacts([{"first_name": "Lee"}], bucket_id=w.web.id)[0]
    assert [ld.assignee_ids for ld in w.ana.leads(status="assigned")] == [(w.cat.member_id,)]
    assert lee.id in {ld.contact_id for ld in w.ana.leads(status="assigned")}
    names = [m.event.name for m in w.ana.events()]
    assert EventName.LEAD_REMOVED in names


def test_deleting_a_contact_withdraws_the_open_offers_of_its_lead(w: World) -> None:
    """An offered lead of a deleted contact cannot be accepted."""
    pool = _pool(w, "first_to_accept")
    kim = w.ana.create_contacts([{"first_name": "Kim"}], bucket_id=w.web.id)[0]
    offer = w.brad.offers()[0]
    w.ana.delete_contact(kim.id)
    assert w.ana.leads(pool_id=pool.id)[0].status is teamcrm.LeadStatus.REMOVED
    assert w.brad.offers() == []
    with pytest.raises(OfferClosed):
        w.brad.accept_offer(offer.id)


def test_closing_the_leads_of_a_deleted_contact_is_idempotent(w: World) -> None:
    """Running the reaction again (e.g. after delete_contact closed them itself) changes nothing."""
    _pool(w)
    kim = w.ana.create_contacts([{"first_name": "Kim"}], bucket_id=w.web.id)[0]
    w.ana.delete_contact(kim.id)
    before = w.ana.leads()
    event = teamcrm.DomainEvent(
        name=EventName.CONTACT_DELETED,
        team_id=w.ana.team_id,
        subject_id=kim.id,
        occurred_at=START,
        actor_id=w.ana.member_id,
    )
    with w.crm.store.unit_of_work() as uow:
        w.crm.reactions.emit(uow, event)
        uow.rollback()
    assert w.ana.leads() == before


# ------------------------------------------------------------ lead.reassigned
def test_a_reassigned_leads_pool_reminder_moves_to_the_new_owner(w: World) -> None:
    """No reaction needed: the reminder is read from the lead's current owner."""
    pool = _pool(w, follow_up="1d")
    kim = w.ana.create_contacts([{"first_name": "Kim"}], bucket_id=w.web.id)[0]
    lead = w.ana.leads(pool_id=pool.id)[0]
    later = START.replace(day=9)
    assert [r.contact.id for r in w.brad.follow_ups(at=later)] == [kim.id]
    w.ana.reassign(lead.id, w.cat.member_id)
    assert w.brad.follow_ups(at=later) == []
    assert [(r.kind.value, r.lead_id) for r in w.cat.follow_ups(at=later)] == [("pool", lead.id)]
    assert w.brad.tasks(status="open") == w.cat.tasks(status="open") == []


def test_a_reassignment_keeps_the_previous_owners_own_tasks(w: World) -> None:
    """A task Brad wrote himself stays his."""
    _pool(w, follow_up="1d")
    kim = w.ana.create_contacts([{"first_name": "Kim"}], bucket_id=w.web.id)[0]
    mine = w.brad.create_task(kim.id, START.replace(day=9), note="Send the brochure")
    w.ana.reassign(w.ana.leads()[0].id, w.cat.member_id)
    assert [t.id for t in _stored_tasks(w, w.brad, teamcrm.TaskStatus.OPEN)] == [mine.id]


def _stored_tasks(
    w: World, member: teamcrm.MemberSession, status: teamcrm.TaskStatus
) -> list[teamcrm.Task]:
    """The member's stored tasks of *status*, whatever the member may see now."""
    with w.crm.store.unit_of_work(write=False) as uow:
        return uow.tasks.for_member(member.team_id, member.member_id, status)


# ------------------------------------------------------------ lead.routed
def test_a_routed_lead_puts_its_contact_in_the_new_lead_status(w: World) -> None:
    """Seed 001: contacts with new leads always appear in the Evaluate status."""
    _pool(w)
    kim = w.ana.create_contact("Kim", status="nurture")
    w.ana.add_to_bucket(w.web.id, kim.id)
    assert w.ana.contact(kim.id).status == "evaluate"
    row = w.ana.agent_grid()[0]
    assert row.contact_id == kim.id
    assert row.status == "evaluate"


def test_new_lead_status_is_the_teams_setting_for_every_new_lead(w: World) -> None:
    """A team whose new leads start in 'priority': new contacts routed at once show it."""
    w.ana.change_settings(new_lead_status="priority")
    _pool(w, "manual")
    kim = w.ana.create_contacts([{"first_name": "Kim"}], bucket_id=w.web.id)[0]
    assert w.ana.contact(kim.id).status == "priority"
    fields = [
        m.event.data.get("fields")
        for m in w.ana.events()
        if m.event.name is EventName.CONTACT_UPDATED and m.event.subject_id == kim.id
    ]
    assert fields == [["status"]]


def test_a_bulk_routed_add_records_each_leads_status_change_right_after_it(w: World) -> None:
    """Contacts not yet in new_lead_status: each ``lead.routed`` is followed by its update.

    The batch of ``lead.routed`` events is not idle, so each event's
    reactions run before the next event is collected (the order of one by one).
    """
    _pool(w)
    kim, lou = w.ana.create_contacts(
        [{"first_name": "Kim", "status": "nurture"}, {"first_name": "Lou", "status": "nurture"}]
    )
    w.ana.add_to_bucket(w.web.id, [kim.id, lou.id])
    names = [
        (m.event.name, m.event.subject_id if m.event.name is EventName.CONTACT_UPDATED else "")
        for m in w.ana.events()
        if m.event.name in (EventName.LEAD_ROUTED, EventName.CONTACT_UPDATED)
    ]
    assert names == [
        (EventName.LEAD_ROUTED, ""),
        (EventName.CONTACT_UPDATED, kim.id),
        (EventName.LEAD_ROUTED, ""),
        (EventName.CONTACT_UPDATED, lou.id),
    ]
    assert {w.ana.contact(c.id).status for c in (kim, lou)} == {"evaluate"}


def test_a_bulk_routed_add_of_contacts_in_new_lead_status_records_one_event_per_lead(
    w: World,
) -> None:
    """An idle batch of ``lead.routed`` events is still collected, each once, in order."""
    _pool(w)
    made = w.ana.create_contacts([{"first_name": f"C{i}"} for i in range(5)])
    w.ana.add_to_bucket(w.web.id, [c.id for c in made])
    routed = [m.event for m in w.ana.events() if m.event.name is EventName.LEAD_ROUTED]
    assert [e.data["contact_id"] for e in routed] == [c.id for c in made]
    assert not [m for m in w.ana.events() if m.event.name is EventName.CONTACT_UPDATED]


class _Collecting:
    """A stand-in unit of work that records what is collected (and handlers' calls)."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def collect(self, *events: DomainEvent) -> None:
        self.log.extend(f"collect {e.subject_id}" for e in events)


def _events(*subjects: tuple[EventName, str]) -> list[DomainEvent]:
    return [
        DomainEvent(name=name, team_id=TEAM, subject_id=subject, occurred_at=START)
        for name, subject in subjects
    ]


@pytest.mark.parametrize("idle", [True, False])
def test_emit_all_skips_the_handlers_of_an_idle_run_and_keeps_the_order_otherwise(
    idle: bool,
) -> None:
    """A run whose reactions all say idle is only collected; else one event at a time."""
    log: list[str] = []

    def handler(occasion: Occasion) -> None:
        log.append(f"react {occasion.event.subject_id}")

    def says(occasion: Occasion, events: Sequence[DomainEvent]) -> bool:
        log.append(f"idle? {len(events)}")
        return idle

    registry = Reactions()
    registry.add(EventName.LEAD_ROUTED, "test", "react", handler, idle=says)
    registry.add(EventName.LEAD_ASSIGNED, "test", "react", handler)  # no idle check
    events = _events(
        (EventName.LEAD_ROUTED, "a"),
        (EventName.LEAD_ROUTED, "b"),
        (EventName.LEAD_ASSIGNED, "c"),
        (EventName.LEAD_ASSIGNED, "d"),
        (EventName.LEAD_ROUTED, "e"),
    )
    registry.emit_all(cast(UnitOfWork, _Collecting(log)), events)
    first = (
        ["idle? 2", "collect a", "collect b"]
        if idle
        else ["idle? 2", "collect a", "react a", "collect b", "react b"]
    )
    assert log == [
        *first,
        "collect c",
        "react c",
        "collect d",
        "react d",
        "collect e",  # a run of one: emitted as emit() would
        "react e",
    ]


# ------------------------------------------------------------ filing notes under companies
def test_linking_a_company_later_files_the_contacts_earlier_notes_under_it(w: World) -> None:
    """Seed 002: the company shows every note filed under its contacts."""
    kim = w.ana.create_contact("Kim")
    note = w.ana.log_interaction("note", contact_ids=[kim.id], body="Wants a loft")
    acme = w.ana.create_company("Acme Lofts")
    assert w.ana.company_interactions(acme.id) == []
    w.ana.link_company(kim.id, acme.id)
    assert [i.id for i in w.ana.company_interactions(acme.id)] == [note.id]
    assert w.ana.interactions_for_contact(kim.id)[0].company_ids == (acme.id,)
    w.ana.unlink_company(kim.id, acme.id)
    w.ana.link_company(kim.id, acme.id)  # again: still filed once
    assert [i.id for i in w.ana.company_interactions(acme.id)] == [note.id]


def test_linking_a_company_files_nothing_while_the_setting_is_off(w: World) -> None:
    """The team chose not to file contact notes under companies."""
    w.ana.change_settings(file_notes_under_companies=False)
    kim = w.ana.create_contact("Kim")
    w.ana.log_interaction("note", contact_ids=[kim.id], body="Wants a loft")
    acme = w.ana.create_company("Acme Lofts")
    w.ana.link_company(kim.id, acme.id)
    assert w.ana.company_interactions(acme.id) == []


def test_turning_filing_on_files_every_earlier_note_under_the_companies(w: World) -> None:
    """Notes logged while the setting was off appear under the company once it is on."""
    w.ana.change_settings(file_notes_under_companies=False)
    acme = w.ana.create_company("Acme Lofts")
    kim = w.ana.create_contact("Kim", company_ids=[acme.id])
    lee = w.ana.create_contact("Lee")
    first = w.ana.log_interaction("note", contact_ids=[kim.id], body="Wants a loft")
    w.ana.log_interaction("note", contact_ids=[lee.id], body="No company")
    assert w.ana.company_interactions(acme.id) == []
    w.ana.change_settings(file_notes_under_companies=True)
    assert [i.id for i in w.ana.company_interactions(acme.id)] == [first.id]


# ------------------------------------------------------------ the registry
def test_what_runs_after_items_are_added_is_declared_in_the_registry() -> None:
    """Follow-up clocks, then routing, then programs (contacts, then companies' contacts).

    No mixin overrides the add any more.
    """
    table = default_reactions()
    assert [r.area for r in table.for_event(EventName.BUCKET_ITEMS_ADDED)] == [
        "follow-ups",
        "routing",
        "programs",
        "programs",
    ]
    owners = [c for c in MemberSession.__mro__ if "_add_items" in vars(c)]
    assert owners == [SessionBase]


def test_each_crm_has_its_own_registry_and_an_added_reaction_runs_in_the_unit(
    w: World, crm: teamcrm.CRM
) -> None:
    """An application's reaction runs after teamcrm's, inside the same unit of work."""
    seen: list[tuple[str, int]] = []

    def count_memberships(occasion: Occasion) -> None:
        items = occasion.uow.memberships.items(occasion.team_id, w.web.id)
        seen.append((occasion.event.subject_id, len(items)))

    crm.reactions.add(EventName.BUCKET_ITEMS_ADDED, "app", "count", count_memberships)
    kim = w.ana.create_contact("Kim")
    w.ana.add_to_bucket(w.web.id, kim.id)
    assert seen == [(w.web.id, 1)]
    other = teamcrm.open("memory://")
    assert len(list(other.reactions)) == len(list(default_reactions()))
    other.close()


def test_architecture_page_lists_exactly_the_registry() -> None:
    """docs/architecture.md's reactions table is the registry, row for row."""
    page = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()
    rows = re.findall(r"^\| `([a-z_.]+)` \| ([a-z-]+) \| (.+?) \|$", page, re.MULTILINE)
    assert rows == default_reactions().table()
