"""Multi-assign: one lead, several members (issue 19 item 5, seed 001).

Seed 001: "You can also multi-assign by selecting multiple agents. The same
options apply, with the additional question of if you want everyone to get it
or only one (first to accept gets it)" and "assign to one, assigned to many;
all can accept / only some can accept".  ``assign_to_several`` names the
choice: ``everyone``, ``all_can_accept``, ``first_to_accept``.  Each test runs
on ``memory://``, SQLite and (with a test server) PostgreSQL; the races between
real processes are in ``tests/concurrency/test_multi_assign_races.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pg_support
import teamcrm
from teamcrm import NotFound, OfferClosed, PermissionDenied, ValidationError
from teamcrm.lead import LeadStatus, OfferStatus
from teamcrm.multi_assign import MultiAssignMode, parse_mode
from teamcrm.notification import NotificationKind


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


@attrs.define
class World:
    """Admin Ana; agents Bob, Cat, Dan in pool 'Web' (manual); contact Kim with an open lead."""

    crm: teamcrm.CRM
    clock: teamcrm.SettableClock
    ana: teamcrm.MemberSession
    bob: teamcrm.MemberSession
    cat: teamcrm.MemberSession
    dan: teamcrm.MemberSession
    web: teamcrm.Bucket
    pool: teamcrm.LeadPool
    kim: teamcrm.Contact
    lead: teamcrm.Lead

    @property
    def agents(self) -> list[str]:
        return [self.bob.member_id, self.cat.member_id, self.dan.member_id]


@pytest.fixture
def w(crm: teamcrm.CRM, clock: teamcrm.SettableClock) -> World:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob, cat, dan = (
        crm.as_member(ana.add_member(n, role="agent").id) for n in ("Bob", "Cat", "Dan")
    )
    web = ana.create_bucket("Web")
    pool = ana.create_pool(
        "Web",
        source_bucket_ids=[web.id],
        member_ids=[bob.member_id, cat.member_id, dan.member_id],
        method="manual",
    )
    kim = ana.create_contact("Kim")
    ana.add_to_bucket(web.id, kim.id)
    (lead,) = ana.leads(pool_id=pool.id)
    return World(crm, clock, ana, bob, cat, dan, web, pool, kim, lead)


def _sees(member: teamcrm.MemberSession, contact_id: str) -> bool:
    try:
        member.contact(contact_id)  # type: ignore[arg-type]
    except NotFound:
        return False
    return True


def _kinds(member: teamcrm.MemberSession) -> list[tuple[NotificationKind, str]]:
    return [(n.kind, n.message) for n in member.notifications()]


# ------------------------------------------------------------------ everyone
def test_everyone_makes_every_named_member_a_co_owner_at_once(w: World) -> None:
    two = [w.bob.member_id, w.cat.member_id]
    (result,) = w.ana.assign_to_several([w.lead.id], two, mode="everyone", note="VIP, call today")
    assert result.lead.status is LeadStatus.ASSIGNED
    assert result.lead.assignee_ids == tuple(two)
    assert result.lead.explanation is not None
    assert result.lead.explanation.method == "everyone"
    for member in (w.bob, w.cat):
        assert _sees(member, w.kim.id)  # like an owner: the contact is in their inbound bucket
        assert member.lead(w.lead.id).assignee_ids == tuple(two)
        kind, message = _kinds(member)[0]
        assert kind is NotificationKind.LEAD_ASSIGNED
        assert message.endswith("note: VIP, call today")
    assert not _sees(w.dan, w.kim.id)
    assert _kinds(w.dan) == []


def test_everyone_counts_the_lead_against_each_co_owners_cap(w: World) -> None:
    w.ana.update_pool(w.pool.id, capacity=teamcrm.Capacity(per_day=1))
    w.ana.assign_to_several([w.lead.id], [w.bob.member_id, w.cat.member_id], mode="everyone")
    other = w.ana.create_contact("Lee")
    w.ana.add_to_bucket(w.web.id, other.id)
    with pytest.raises(ValidationError) as info:
        w.ana.assign_to_several([other.id], [w.dan.member_id, w.cat.member_id], mode="everyone")
    assert (info.value.field, info.value.value) == ("member_id", w.cat.member_id)
    assert w.ana.leads(pool_id=w.pool.id)[-1].status is LeadStatus.UNASSIGNED  # nothing written


# ------------------------------------------------------------------ all can accept
def test_all_can_accept_makes_each_acceptance_a_co_owner(w: World) -> None:
    (result,) = w.ana.assign_to_several(
        [w.kim.id], w.agents, mode="all_can_accept", note="Spanish speaker"
    )
    assert result.lead.status is LeadStatus.OFFERED
    assert sorted(o.member_id for o in result.offers) == sorted(w.agents)
    offers = {m.member_id: m.offers()[0] for m in (w.bob, w.cat, w.dan)}
    assert all(o.note == "Spanish speaker" for o in offers.values())
    first = w.cat.accept_offer(offers[w.cat.member_id].id)
    assert first.lead.assignee_ids == (w.cat.member_id,)
    assert w.bob.offers()[0].status is OfferStatus.OPEN  # the others may still accept
    second = w.bob.accept_offer(offers[w.bob.member_id].id)
    assert second.lead.assignee_ids == (w.cat.member_id, w.bob.member_id)
    assert second.lead.assigned_at == first.lead.assigned_at
    w.dan.decline_offer(offers[w.dan.member_id].id)
    lead = w.ana.lead(w.lead.id)
    assert (lead.status, lead.assignee_ids) == (LeadStatus.ASSIGNED, second.lead.assignee_ids)
    assert [_sees(m, w.kim.id) for m in (w.bob, w.cat, w.dan)] == [True, True, False]
    assert _kinds(w.bob)[0][0] is NotificationKind.LEAD_ASSIGNED
    assert "note: Spanish speaker" in _kinds(w.bob)[0][1]
    with pytest.raises(OfferClosed):  # answered
        w.bob.accept_offer(offers[w.bob.member_id].id)


def test_all_can_accept_offers_are_withdrawn_when_the_lead_is_taken_back(w: World) -> None:
    w.ana.assign_to_several([w.lead.id], w.agents, mode="all_can_accept")
    w.bob.accept_offer(w.bob.offers()[0].id)
    cat_offer = w.cat.offers()[0]
    w.ana.revoke(w.lead.id)
    assert w.cat.offers() == []
    assert w.ana.offers(member_id=w.cat.member_id, status=None)[0].status is OfferStatus.WITHDRAWN
    with pytest.raises(OfferClosed):
        w.cat.accept_offer(cat_offer.id)
    assert w.ana.lead(w.lead.id).status is LeadStatus.UNASSIGNED


def test_a_co_owner_rejecting_leaves_the_other_offers_open(w: World) -> None:
    w.ana.assign_to_several([w.lead.id], w.agents, mode="all_can_accept")
    w.bob.accept_offer(w.bob.offers()[0].id)
    w.bob.reject_lead(w.lead.id, reason="busy")
    assert w.ana.lead(w.lead.id).status is LeadStatus.UNASSIGNED
    result = w.cat.accept_offer(w.cat.offers()[0].id)
    assert result.lead.assignee_ids == (w.cat.member_id,)
    w.ana.remove_lead(w.lead.id)  # closing it withdraws Dan's offer
    assert w.dan.offers() == []


def test_revoking_a_lead_every_co_owner_rejected_withdraws_the_waiting_offers(w: World) -> None:
    w.ana.assign_to_several([w.lead.id], w.agents, mode="all_can_accept")
    w.bob.accept_offer(w.bob.offers()[0].id)
    w.bob.reject_lead(w.lead.id)
    assert len(w.cat.offers()) == 1  # unassigned, Cat's and Dan's offers still wait
    w.ana.revoke(w.lead.id)
    assert w.cat.offers() == []
    assert w.dan.offers() == []
    with pytest.raises(ValidationError):
        w.ana.revoke(w.lead.id)  # now there is nothing left to take back


def test_all_can_accept_with_nobody_accepting_goes_back_to_the_pool(w: World) -> None:
    w.ana.assign_to_several([w.lead.id], w.agents, mode="all_can_accept", window=timedelta(hours=1))
    w.bob.decline_offer(w.bob.offers()[0].id)
    w.clock.advance(timedelta(hours=2))
    assert w.crm.expire_offers() == 2
    assert w.ana.lead(w.lead.id).status is LeadStatus.UNASSIGNED


def test_an_all_can_accept_acceptance_respects_the_cap(w: World) -> None:
    w.ana.update_pool(w.pool.id, capacity=teamcrm.Capacity(per_day=1))
    w.ana.assign_to_several([w.lead.id], w.agents, mode="all_can_accept")
    other = w.ana.create_contact("Lee")
    w.ana.add_to_bucket(w.web.id, other.id)
    w.ana.assign(other.id, w.bob.member_id)  # Bob is at his cap now
    offer = next(o for o in w.bob.offers() if o.lead_id == w.lead.id)
    with pytest.raises(OfferClosed) as info:
        w.bob.accept_offer(offer.id)
    assert info.value.reason == "full"


# ------------------------------------------------------------------ first to accept
def test_first_to_accept_gives_it_to_the_first_and_withdraws_the_others(w: World) -> None:
    w.ana.assign_to_several([w.lead.id], w.agents, mode="first_to_accept", note="hot")
    cat_offer = w.cat.offers()[0]
    won = w.dan.accept_offer(w.dan.offers()[0].id)
    assert won.lead.assignee_ids == (w.dan.member_id,)
    with pytest.raises(OfferClosed) as info:
        w.cat.accept_offer(cat_offer.id)
    assert info.value.reason == "taken"
    assert w.bob.offers() == []


def test_several_leads_and_contacts_in_one_call(w: World) -> None:
    lee = w.ana.create_contact("Lee")  # no pool: a lead without a pool is made
    results = w.ana.assign_to_several(
        [w.lead.id, lee.id], [w.bob.member_id, w.cat.member_id], mode="everyone"
    )
    assert [r.lead.assignee_ids for r in results] == [(w.bob.member_id, w.cat.member_id)] * 2
    assert results[1].lead.pool_id is None


# ------------------------------------------------------------------ refusals
def test_ambiguous_or_unknown_choices_are_refused(w: World) -> None:
    two = [w.bob.member_id, w.cat.member_id]
    with pytest.raises(ValidationError) as info:
        w.ana.assign_to_several([w.lead.id], two, mode="some")
    assert info.value.field == "mode"
    with pytest.raises(ValidationError) as info:
        w.ana.assign_to_several([w.lead.id], [w.bob.member_id], mode="everyone")
    assert info.value.field == "member_ids"
    with pytest.raises(ValidationError) as info:
        w.ana.assign_to_several([w.lead.id], two, mode="everyone", window=timedelta(hours=1))
    assert info.value.field == "window"
    assert parse_mode("first_to_accept") is MultiAssignMode.FIRST_TO_ACCEPT
    assert w.ana.lead(w.lead.id).status is LeadStatus.UNASSIGNED


def test_rights_of_the_actor_and_of_every_named_member_are_checked(w: World) -> None:
    two = [w.bob.member_id, w.cat.member_id]
    with pytest.raises(PermissionDenied):
        w.bob.assign_to_several([w.lead.id], two, mode="everyone")
    _, stranger = w.crm.create_team("Other", admin_name="Oz")
    with pytest.raises(NotFound):
        w.ana.assign_to_several([w.lead.id], [w.bob.member_id, stranger.id], mode="everyone")
    outsider = w.crm.as_member(stranger.id).create_contact("Hidden")
    with pytest.raises(NotFound):
        w.ana.assign_to_several([outsider.id], two, mode="everyone")
    w.ana.deactivate_member(w.cat.member_id)
    with pytest.raises(ValidationError) as info:
        w.ana.assign_to_several([w.lead.id], two, mode="all_can_accept")
    assert info.value.value == w.cat.member_id
    boss = w.ana.add_member("Max", role="manager")  # not in the pool
    with pytest.raises(ValidationError) as info:
        w.ana.assign_to_several([w.lead.id], [w.bob.member_id, boss.id], mode="first_to_accept")
    assert info.value.value == boss.id
    assert w.ana.lead(w.lead.id).status is LeadStatus.UNASSIGNED
    assert w.bob.offers() == []


def test_reassigning_or_deleting_the_contact_withdraws_the_open_offers(w: World) -> None:
    w.ana.assign_to_several([w.lead.id], w.agents, mode="all_can_accept")
    w.bob.accept_offer(w.bob.offers()[0].id)
    w.ana.reassign(w.lead.id, w.dan.member_id)
    assert w.cat.offers() == []
    assert w.dan.offers() == []
    assert w.ana.lead(w.lead.id).assignee_ids == (w.dan.member_id,)
    lee = w.ana.create_contact("Lee")
    w.ana.add_to_bucket(w.web.id, lee.id)
    w.ana.assign_to_several([lee.id], w.agents, mode="all_can_accept")
    w.cat.accept_offer(w.cat.offers()[0].id)
    w.ana.delete_contact(lee.id)
    assert w.bob.offers() == []
    assert w.dan.offers() == []


def test_each_co_owner_has_the_pools_follow_up_reminder(w: World) -> None:
    w.ana.update_pool(w.pool.id, follow_up="2 days")
    w.ana.assign_to_several([w.lead.id], [w.bob.member_id, w.cat.member_id], mode="everyone")
    later = w.clock.now() + timedelta(days=2)
    for member in (w.bob, w.cat):
        assert [(r.kind.value, r.lead_id) for r in member.follow_ups(at=later)] == [
            ("pool", w.lead.id)
        ]
    assert w.dan.follow_ups(at=later) == []


# ------------------------------------------------------------------ property
ANSWERS = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["accept", "decline"])), max_size=8)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=ANSWERS)
def test_all_can_accept_owners_are_exactly_the_acceptors_in_order(
    clock: teamcrm.SettableClock, answers: list[tuple[int, str]]
) -> None:
    """For any order of answers: owners = acceptors (first answer counts), others' offers open."""
    crm = teamcrm.open("memory://", clock=clock)
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    agents = [crm.as_member(ana.add_member(f"A{i}", role="agent").id) for i in range(4)]
    kim = ana.create_contact("Kim")
    (result,) = ana.assign_to_several(
        [kim.id], [a.member_id for a in agents], mode="all_can_accept"
    )
    lead_id = result.lead.id
    answered: dict[int, str] = {}
    for who, answer in answers:
        offer = ana.offers(member_id=agents[who].member_id, status=None)[0]
        if who in answered:
            with pytest.raises(OfferClosed):
                agents[who].accept_offer(offer.id)
            continue
        answered[who] = answer
        if answer == "accept":
            agents[who].accept_offer(offer.id)
        else:
            agents[who].decline_offer(offer.id)
    acceptors = [agents[i].member_id for i, a in answered.items() if a == "accept"]
    lead = ana.lead(lead_id)
    assert lead.assignee_ids == tuple(acceptors)
    if acceptors:
        assert lead.status is LeadStatus.ASSIGNED
    elif len(answered) == len(agents):
        assert lead.status is LeadStatus.UNASSIGNED  # everyone declined: back to the pool
    else:
        assert lead.status is LeadStatus.OFFERED
    for i, agent in enumerate(agents):
        assert bool(agent.offers()) == (i not in answered)
        assert _sees(agent, kim.id) == (agent.member_id in acceptors)
    crm.close()
