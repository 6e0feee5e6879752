"""Authorisation holes of issue 13, each closed on every store.

The rule: every list a member reads holds only what that member may see *at
read time*, and every command naming a *target* member checks the target's
rights too.  A deactivated pool routes nothing.  Each test runs on
``memory://``, SQLite and (with a test server) PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

import pg_support
import teamcrm
from teamcrm import NotFound, RowKind, ValidationError

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


@attrs.define
class World:
    """Admin Ana, manager Max, agents Brad and Cat; team bucket 'Past clients'."""

    crm: teamcrm.CRM
    clock: teamcrm.SettableClock
    ana: teamcrm.MemberSession
    max: teamcrm.MemberSession
    brad: teamcrm.MemberSession
    cat: teamcrm.MemberSession
    past: teamcrm.Bucket


@pytest.fixture
def w(crm: teamcrm.CRM, clock: teamcrm.SettableClock) -> World:
    """The world on the parametrised store."""
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    max_ = crm.as_member(ana.add_member("Max", role="manager").id)
    brad = crm.as_member(ana.add_member("Brad").id)
    cat = crm.as_member(ana.add_member("Cat").id)
    past = ana.create_bucket("Past clients")
    return World(crm, clock, ana, max_, brad, cat, past)


def days(n: float) -> timedelta:
    """*n* days."""
    return timedelta(days=n)


# ------------------------------------------------------------ follow-up list
def test_follow_ups_drop_a_contact_once_the_grant_is_revoked(w: World) -> None:
    """The issue's repro: viewer grant, policy, contact, revoke: nothing is listed any more."""
    w.ana.grant_access(w.past.id, w.brad.member_id)
    w.ana.create_follow_up_policy(w.past.id, "7 days", member_id=w.brad.member_id)
    kim = w.ana.create_contact("Kim", emails=["kim@x.com"], phones=["+15550100001"])
    w.ana.add_to_bucket(w.past.id, kim.id)
    at = START + days(8)
    assert [r.contact.id for r in w.brad.follow_ups(at=at)] == [kim.id]

    w.ana.revoke_access(w.past.id, w.brad.member_id)
    assert w.brad.follow_ups(at=at) == []
    assert w.ana.follow_ups(w.brad.member_id, at=at) == []  # the manager's view of it too
    assert w.brad.due(at=at).rows == ()
    with pytest.raises(NotFound):
        w.brad.contact(kim.id)

    w.ana.grant_access(w.past.id, w.brad.member_id)  # rights come back: so does the row
    assert [r.contact.id for r in w.brad.follow_ups(at=at)] == [kim.id]


def test_follow_ups_drop_a_demoted_managers_policy_rows(w: World) -> None:
    """A manager follows a bucket without a grant; once an agent, the rows go."""
    w.ana.create_follow_up_policy(w.past.id, "7 days", member_id=w.max.member_id)
    kim = w.ana.create_contact("Kim")
    w.ana.add_to_bucket(w.past.id, kim.id)
    at = START + days(8)
    assert [r.contact.id for r in w.max.follow_ups(at=at)] == [kim.id]
    w.ana.change_role(w.max.member_id, "agent")
    assert w.max.follow_ups(at=at) == []


def test_follow_ups_and_tasks_hide_a_task_whose_contact_left_the_members_sight(
    w: World,
) -> None:
    """A task on a contact the member no longer sees is not listed (nor readable)."""
    w.ana.grant_access(w.past.id, w.brad.member_id)
    kim = w.ana.create_contact("Kim", emails=["kim@x.com"])
    w.ana.add_to_bucket(w.past.id, kim.id)
    task = w.ana.create_task(kim.id, START + days(1), "call", member_id=w.brad.member_id)
    at = START + days(2)
    assert [(r.kind, r.contact.id) for r in w.brad.follow_ups(at=at)] == [(RowKind.TASK, kim.id)]
    assert [t.id for t in w.brad.tasks()] == [task.id]

    w.ana.revoke_access(w.past.id, w.brad.member_id)
    assert w.brad.follow_ups(at=at) == []
    assert w.brad.tasks() == []
    assert w.ana.tasks(w.brad.member_id) == []  # Brad's list, as a manager reads it
    with pytest.raises(NotFound):
        w.brad.task(task.id)
    with pytest.raises(NotFound):
        w.brad.complete_task(task.id)
    assert w.ana.task(task.id).id == task.id  # the manager still reaches it, to cancel it
    w.ana.cancel_task(task.id)


def test_a_task_for_another_member_needs_that_member_to_see_the_contact(w: World) -> None:
    """The issue's second repro: a manager gives Brad a task on a contact Brad cannot see."""
    kim = w.ana.create_contact("Kim")
    before = w.ana.tasks(w.brad.member_id, status=None)
    with pytest.raises(ValidationError) as err:
        w.max.create_task(kim.id, START + days(1), "call", member_id=w.brad.member_id)
    assert err.value.field == "member_id"
    assert err.value.value == w.brad.member_id
    assert w.ana.tasks(w.brad.member_id, status=None) == before
    w.ana.grant_access(w.past.id, w.brad.member_id)
    w.ana.add_to_bucket(w.past.id, kim.id)
    task = w.max.create_task(kim.id, START + days(1), "call", member_id=w.brad.member_id)
    assert task.member_id == w.brad.member_id


def test_snooze_and_done_for_another_member_need_that_member_to_see_the_contact(
    w: World,
) -> None:
    """Snoozing or marking done on a member's behalf checks the member's sight of the contact."""
    kim = w.ana.create_contact("Kim")
    with pytest.raises(ValidationError, match="member_id"):
        w.ana.snooze_follow_up(kim.id, START + days(3), member_id=w.brad.member_id)
    with pytest.raises(ValidationError, match="member_id"):
        w.ana.mark_follow_up_done(kim.id, member_id=w.brad.member_id)
    w.ana.grant_access(w.past.id, w.brad.member_id)
    w.ana.add_to_bucket(w.past.id, kim.id)
    w.ana.snooze_follow_up(kim.id, START + days(3), member_id=w.brad.member_id)
    w.ana.mark_follow_up_done(kim.id, member_id=w.brad.member_id)


# ------------------------------------------------------------------ routing
def _pool(w: World, method: str = "round_robin") -> teamcrm.LeadPool:
    return w.ana.create_pool(
        "Web",
        source_bucket_ids=[w.past.id],
        member_ids=[w.brad.member_id, w.cat.member_id],
        method=method,
    )


def test_route_lead_refuses_a_deactivated_pool(w: World) -> None:
    """'A deactivated pool routes nothing' holds for route_lead too; a person may still assign."""
    pool = _pool(w, "manual")
    kim = w.ana.create_contacts([{"first_name": "Kim"}], bucket_id=w.past.id)[0]
    lead = w.ana.leads(pool_id=pool.id)[0]
    w.ana.update_pool(pool.id, method="round_robin")
    w.ana.deactivate_pool(pool.id)
    with pytest.raises(ValidationError, match="deactivated") as err:
        w.ana.route_lead(lead.id)
    assert err.value.field == "lead_id"
    assert w.ana.lead(lead.id).status is teamcrm.LeadStatus.UNASSIGNED
    # New entries are not routed either, and a person's assignment still works.
    w.ana.create_contacts([{"first_name": "Lee"}], bucket_id=w.past.id)
    assert [ld.contact_id for ld in w.ana.leads(pool_id=pool.id)] == [kim.id]
    assert w.ana.assign(lead.id, w.cat.member_id).lead.assignee_ids == (w.cat.member_id,)
    w.ana.activate_pool(pool.id)
    w.ana.revoke(lead.id)
    assert w.ana.route_lead(lead.id).lead.status is teamcrm.LeadStatus.ASSIGNED


def test_a_lead_never_lands_in_an_inbound_bucket_its_member_cannot_add_to(w: World) -> None:
    """Brad chose a team bucket as inbound, then lost his grant: the next lead goes elsewhere."""
    inbox = w.ana.create_bucket("Brad's inbox")
    w.ana.grant_access(inbox.id, w.brad.member_id, level="editor")
    w.brad.set_inbound_bucket(inbox.id)
    w.ana.revoke_access(inbox.id, w.brad.member_id)
    kim = w.ana.create_contact("Kim", emails=["kim@x.com"])
    result = w.ana.assign(kim.id, w.brad.member_id)
    assert result.lead.assignee_ids == (w.brad.member_id,)
    assert w.brad.contact(kim.id).id == kim.id  # the new owner sees the lead's contact
    assert kim.id not in {m.item_id for m in w.ana.bucket_items(inbox.id)}
    bucket = w.brad.inbound_bucket()
    assert bucket.is_personal
    assert bucket.owner_id == w.brad.member_id


def test_agents_leads_list_only_leads_whose_contact_they_see(w: World) -> None:
    """An owner who took the contact out of their inbound bucket no longer lists its lead."""
    kim = w.ana.create_contact("Kim", emails=["kim@x.com"])
    lead = w.ana.assign(kim.id, w.brad.member_id).lead
    assert [ld.id for ld in w.brad.leads()] == [lead.id]
    w.brad.remove_from_bucket(w.brad.inbound_bucket().id, kim.id)
    with pytest.raises(NotFound):
        w.brad.contact(kim.id)
    assert w.brad.leads() == []
    assert [ld.id for ld in w.ana.leads()] == [lead.id]


def test_role_holders_needs_sight_of_the_contact(w: World) -> None:
    """role_holders is NotFound on a contact the member cannot see (no existence oracle)."""
    kim = w.ana.create_contact("Kim")
    w.ana.define_role("buyer agent")
    w.ana.assign_role(kim.id, "buyer agent", w.cat.member_id)
    with pytest.raises(NotFound):
        w.brad.role_holders(kim.id)
    assert w.cat.role_holders(kim.id) == {"buyer agent": (w.cat.member_id,)}


# -------------------------------------------------------------- record, views
def test_contact_record_leaves_out_companies_out_of_sight(w: World) -> None:
    """A company linked to a visible contact is shown only if the viewer may see the company."""
    hidden = w.ana.create_company("Hidden Corp", domain="hidden.example")
    shown = w.ana.create_company("Shown Inc")
    kim = w.ana.create_contact("Kim", company_ids=[hidden.id, shown.id])
    w.ana.add_to_bucket(w.past.id, [kim.id, shown.id])
    w.ana.grant_access(w.past.id, w.brad.member_id)
    record = w.brad.contact_record(kim.id)
    assert [c.id for c in record.companies] == [shown.id]
    assert [c.id for c in w.ana.contact_record(kim.id).companies] == [hidden.id, shown.id]


def test_search_by_a_company_out_of_sight_is_not_found(w: World) -> None:
    """search(company_id=...) is no existence oracle for companies."""
    hidden = w.ana.create_company("Hidden Corp")
    with pytest.raises(NotFound):
        w.brad.search(company_id=hidden.id)
    missing = "co_" + "0" * 26
    with pytest.raises(NotFound):
        w.brad.search(company_id=missing)
    assert w.ana.search(company_id=hidden.id).rows == ()
