"""Lead routing through the service API, on memory:// and sqlite://."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest

import teamcrm
from teamcrm import (
    AccessLevel,
    NotFound,
    OfferClosed,
    PermissionDenied,
    ValidationError,
)
from teamcrm.lead import LeadStatus, OfferStatus
from teamcrm.routing import RoutingOutcome, SkipReason
from teamcrm.service.routing import UNASSIGNED

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory://", "sqlite://"])
def crm(request: pytest.FixtureRequest, clock: teamcrm.SettableClock) -> Iterator[teamcrm.CRM]:
    """A CRM on each shipped embedded store."""
    c = teamcrm.open(request.param, clock=clock)
    yield c
    c.close()


@attrs.define
class World:
    """A team: admin Ana, manager Max, agents Bob, Cat, Dan; a team bucket 'Web leads'."""

    crm: teamcrm.CRM
    clock: teamcrm.SettableClock
    ana: teamcrm.MemberSession
    max: teamcrm.MemberSession
    bob: teamcrm.MemberSession
    cat: teamcrm.MemberSession
    dan: teamcrm.MemberSession
    web: teamcrm.Bucket

    def contacts(self, n: int, prefix: str = "P") -> list[teamcrm.Contact]:
        return self.ana.create_contacts(
            [
                {"first_name": f"{prefix}{i}", "emails": [f"{prefix.lower()}{i}@x.com"]}
                for i in range(n)
            ]
        )

    def kinds(self, session: teamcrm.MemberSession) -> Counter[str]:
        return Counter(n.kind.value for n in session.notifications(limit=1000))


@pytest.fixture
def w(crm: teamcrm.CRM, clock: teamcrm.SettableClock) -> World:
    _, admin = crm.create_team("Parkside", admin_name="Ana")
    ana = crm.as_member(admin.id)
    mx = ana.add_member("Max", role="manager")
    sessions = [crm.as_member(ana.add_member(n, role="agent").id) for n in ("Bob", "Cat", "Dan")]
    web = ana.create_bucket("Web leads")
    return World(crm, clock, ana, crm.as_member(mx.id), *sessions, web)


def _pool(w: World, method: str, **kw: object) -> teamcrm.LeadPool:
    members = kw.pop("member_ids", [w.bob.member_id, w.cat.member_id, w.dan.member_id])
    return w.ana.create_pool(
        f"Pool {method}",
        source_bucket_ids=[w.web.id],
        member_ids=members,  # type: ignore[arg-type]
        method=method,
        **kw,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------ pools
def test_only_admins_create_and_edit_pools(w: World) -> None:
    with pytest.raises(PermissionDenied):
        w.max.create_pool("X", source_bucket_ids=[w.web.id])
    pool = _pool(w, "manual")
    with pytest.raises(PermissionDenied):
        w.bob.update_pool(pool.id, name="Y")
    renamed = w.ana.update_pool(pool.id, name="Renamed", method="round_robin")
    assert (renamed.name, renamed.method.value, renamed.version) == ("Renamed", "round_robin", 2)
    with pytest.raises(ValidationError) as err:
        w.ana.update_pool(pool.id, colour="red")
    assert err.value.field == "pool"


def test_sources_must_be_team_buckets_of_the_team(w: World, crm: teamcrm.CRM) -> None:
    mine = w.ana.create_bucket("Mine", personal=True)
    with pytest.raises(ValidationError) as err:
        w.ana.create_pool("X", source_bucket_ids=[mine.id])
    assert err.value.field == "source_bucket_ids"
    _, other_admin = crm.create_team("Other", admin_name="Olga")
    foreign = crm.as_member(other_admin.id).create_bucket("Theirs")
    with pytest.raises(NotFound):
        w.ana.create_pool("X", source_bucket_ids=[foreign.id])
    with pytest.raises(NotFound):
        w.ana.create_pool("X", source_bucket_ids=[w.web.id], member_ids=[other_admin.id])
    with pytest.raises(ValidationError):
        w.ana.create_pool("X", source_bucket_ids=[])
    with pytest.raises(ValidationError):
        w.ana.create_pool("X", source_bucket_ids=[w.web.id], offer_window=timedelta(0))
    with pytest.raises(ValidationError):
        w.ana.create_pool("X", source_bucket_ids=[w.web.id], method="lottery")
    assert w.ana.pools() == []


def test_delete_needs_an_inactive_pool(w: World) -> None:
    pool = _pool(w, "round_robin")
    with pytest.raises(ValidationError):
        w.ana.delete_pool(pool.id)
    w.ana.deactivate_pool(pool.id)
    w.ana.delete_pool(pool.id)
    with pytest.raises(NotFound):
        w.ana.pool(pool.id)


# ------------------------------------------------------------------ round robin
def test_round_robin_bulk_add_spreads_evenly_and_keeps_its_place(w: World) -> None:
    pool = _pool(w, "round_robin")
    first = w.contacts(7)
    w.ana.add_to_bucket(w.web.id, [c.id for c in first])
    leads = w.ana.leads(pool_id=pool.id)
    assert len(leads) == 7
    assert all(ld.status is LeadStatus.ASSIGNED for ld in leads)
    counts = Counter(ld.assignee_id for ld in leads)
    assert sorted(counts.values()) == [2, 2, 3]
    # the cursor lives in the store: the next single add continues the cycle
    more = w.contacts(2, prefix="Q")
    for c in more:
        w.ana.add_to_bucket(w.web.id, c.id)
    counts = Counter(ld.assignee_id for ld in w.ana.leads(pool_id=pool.id))
    assert sorted(counts.values()) == [3, 3, 3]


def test_round_robin_skips_away_inactive_and_explains(w: World) -> None:
    pool = _pool(w, "round_robin")
    w.ana.set_away(START + timedelta(days=1), member_id=w.bob.member_id)
    w.ana.deactivate_member(w.cat.member_id)
    contacts = w.contacts(3)
    w.ana.add_to_bucket(w.web.id, [c.id for c in contacts])
    leads = w.ana.leads(pool_id=pool.id)
    assert {ld.assignee_id for ld in leads} == {w.dan.member_id}
    exp = w.ana.explain(leads[0].id)
    assert exp.method == "round_robin"
    assert exp.eligible == (w.dan.member_id,)
    assert {(s.member_id, s.reason) for s in exp.skipped} == {
        (w.bob.member_id, SkipReason.AWAY),
        (w.cat.member_id, SkipReason.INACTIVE),
    }
    assert exp.cursor_before is not None
    assert exp.cursor_after is not None
    assert "away" in exp.describe()


def test_all_away_pool_waits_and_tells_the_fallback(w: World) -> None:
    until = START + timedelta(days=2)
    for s in (w.bob, w.cat, w.dan):
        w.ana.set_away(until, member_id=s.member_id)
    _pool(w, "round_robin", fallback_member_id=w.max.member_id)
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    (lead,) = w.ana.leads()
    assert lead.status is LeadStatus.UNASSIGNED
    assert lead.explanation is not None
    assert lead.explanation.outcome is RoutingOutcome.NO_ELIGIBLE
    assert w.kinds(w.max)["no_eligible_member"] == 1
    assert w.kinds(w.ana)["no_eligible_member"] == 0


def test_empty_pool_tells_the_admins(w: World) -> None:
    _pool(w, "first_to_accept", member_ids=[])
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    assert w.ana.leads()[0].status is LeadStatus.UNASSIGNED
    assert w.kinds(w.ana)["no_eligible_member"] == 1


# ------------------------------------------------------------------ once per entry
def test_a_contact_is_routed_once_per_entry(w: World) -> None:
    second = w.ana.create_bucket("Referrals")
    pool = w.ana.create_pool(
        "Both",
        source_bucket_ids=[w.web.id, second.id],
        member_ids=[w.bob.member_id],
        method="round_robin",
    )
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    w.ana.add_to_bucket(w.web.id, c.id)  # already there
    w.ana.update_contact(c.id, last_name="Smith")
    w.ana.add_to_bucket(second.id, c.id)  # second source bucket of the same pool
    w.ana.remove_from_bucket(w.web.id, c.id)
    w.ana.add_to_bucket(w.web.id, c.id)  # re-added while its lead is open
    (lead,) = w.ana.leads(pool_id=pool.id)
    assert lead.entry == 1
    assert w.kinds(w.bob)["lead_assigned"] == 1
    # once the lead is removed, entering again is a new entry
    w.ana.remove_lead(lead.id)
    w.ana.remove_from_bucket(w.web.id, c.id)
    w.ana.add_to_bucket(w.web.id, c.id)
    leads = sorted(w.ana.leads(pool_id=pool.id), key=lambda ld: ld.entry)
    assert [ld.entry for ld in leads] == [1, 2]
    assert [ld.status for ld in leads] == [LeadStatus.REMOVED, LeadStatus.ASSIGNED]


def test_same_email_is_not_a_second_lead(w: World) -> None:
    pool = _pool(w, "manual")
    a = w.ana.create_contact("Ann", emails=["ann@x.com"])
    b = w.ana.create_contact("Ann", "Again", emails=["ANN@x.com"])
    w.ana.add_to_bucket(w.web.id, [a.id, b.id])
    assert [ld.contact_id for ld in w.ana.leads(pool_id=pool.id)] == [a.id]
    names = [e.event.name for e in w.ana.events()]
    assert teamcrm.EventName.LEAD_DUPLICATE_SKIPPED in names


def test_deactivated_pool_routes_nothing(w: World) -> None:
    pool = _pool(w, "round_robin")
    w.ana.deactivate_pool(pool.id)
    w.ana.add_to_bucket(w.web.id, [c.id for c in w.contacts(3)])
    assert w.ana.leads() == []
    w.ana.activate_pool(pool.id)
    assert w.ana.leads() == []  # contacts already in the bucket are not routed


def test_manual_pool_waits(w: World) -> None:
    _pool(w, "manual")
    w.ana.add_to_bucket(w.web.id, [c.id for c in w.contacts(2)])
    leads = w.ana.leads()
    assert [ld.status for ld in leads] == [LeadStatus.UNASSIGNED] * 2
    assert all(ld.explanation and ld.explanation.outcome is RoutingOutcome.WAITING for ld in leads)
    assert sum(w.kinds(s).total() for s in (w.bob, w.cat, w.dan)) == 0


def test_routing_happens_in_the_same_unit_as_the_bucket_change(w: World) -> None:
    _pool(w, "round_robin")
    (c,) = w.contacts(1)
    with pytest.raises(NotFound):
        w.ana.add_to_bucket(w.web.id, [c.id, "ct_" + "0" * 26])
    assert w.ana.leads() == []
    assert w.kinds(w.bob).total() == 0


# ------------------------------------------------------------------ first to accept
def test_first_to_accept(w: World) -> None:
    _pool(w, "first_to_accept", offer_window=timedelta(minutes=30))
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    (lead,) = w.ana.leads()
    assert lead.status is LeadStatus.OFFERED
    offers = {s.member_id: s.offers() for s in (w.bob, w.cat, w.dan)}
    assert all(len(o) == 1 for o in offers.values())
    assert offers[w.bob.member_id][0].expires_at == START + timedelta(minutes=30)
    with pytest.raises(PermissionDenied):
        w.bob.accept_offer(offers[w.cat.member_id][0].id)
    won = w.cat.accept_offer(offers[w.cat.member_id][0].id)
    assert won.lead.assignee_ids == (w.cat.member_id,)
    with pytest.raises(OfferClosed) as err:
        w.bob.accept_offer(offers[w.bob.member_id][0].id)
    assert err.value.reason == "taken"
    statuses = sorted(o.status.value for o in w.ana.lead_offers(lead.id))
    assert statuses == ["accepted", "withdrawn", "withdrawn"]
    assert w.kinds(w.cat)["lead_assigned"] == 1
    assert w.kinds(w.bob)["offer_withdrawn"] == 1
    assert c.id in [x.id for x in w.cat.bucket_contacts(w.cat.inbound_bucket().id)]


def test_offers_cannot_be_accepted_after_expiry_and_expiry_returns_the_lead(w: World) -> None:
    _pool(w, "first_to_accept", fallback_member_id=w.max.member_id)
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    (offer,) = w.bob.offers()
    w.clock.advance(timedelta(hours=1))
    with pytest.raises(OfferClosed) as err:
        w.bob.accept_offer(offer.id)
    assert err.value.reason == "expired"
    assert w.crm.expire_offers() == 3
    assert w.crm.expire_offers() == 0  # idempotent
    (lead,) = w.ana.leads()
    assert lead.status is LeadStatus.UNASSIGNED
    assert w.kinds(w.bob)["offer_expired"] == 1
    assert w.kinds(w.max)["lead_unassigned"] == 1
    assert {o.status for o in w.ana.lead_offers(lead.id)} == {OfferStatus.EXPIRED}


def test_declines_are_recorded_and_all_declined_goes_back(w: World) -> None:
    pool = _pool(w, "first_to_accept")
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    for s in (w.bob, w.cat):
        declined = s.decline_offer(s.offers()[0].id, reason="busy")
        assert declined.status is OfferStatus.DECLINED
    assert w.ana.leads()[0].status is LeadStatus.OFFERED
    with pytest.raises(OfferClosed):
        w.bob.decline_offer(w.bob.offers(status=None)[0].id)
    w.dan.decline_offer(w.dan.offers()[0].id)
    (lead,) = w.ana.leads(pool_id=pool.id)
    assert lead.status is LeadStatus.UNASSIGNED
    assert set(lead.declined_by) == {w.bob.member_id, w.cat.member_id, w.dan.member_id}
    assert w.kinds(w.ana)["offer_declined"] == 3
    assert w.kinds(w.ana)["lead_unassigned"] == 1
    # routing it again never offers it to those who declined
    again = w.ana.route_lead(lead.id)
    assert again.explanation.outcome is RoutingOutcome.NO_ELIGIBLE
    assert {s.reason for s in again.explanation.skipped} == {SkipReason.DECLINED}


def test_member_outside_the_pool_cannot_accept(w: World) -> None:
    pool = _pool(w, "first_to_accept")
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    (offer,) = w.bob.offers()
    (cat_offer,) = w.cat.offers()
    w.ana.update_pool(pool.id, member_ids=[w.cat.member_id, w.dan.member_id])
    with pytest.raises(PermissionDenied):
        w.bob.accept_offer(offer.id)
    w.ana.deactivate_member(w.cat.member_id)
    with pytest.raises(PermissionDenied):
        w.cat.accept_offer(cat_offer.id)
    assert w.ana.leads()[0].status is LeadStatus.OFFERED


# ------------------------------------------------------------------ everyone
def test_everyone_assigns_every_eligible_member(w: World) -> None:
    w.ana.set_away(START + timedelta(hours=3), member_id=w.dan.member_id)
    _pool(w, "everyone")
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    (lead,) = w.ana.leads()
    assert lead.status is LeadStatus.ASSIGNED
    assert set(lead.assignee_ids) == {w.bob.member_id, w.cat.member_id}
    rows = w.ana.routing_dashboard()
    assert {r.assignee_id for r in rows} == {w.bob.member_id, w.cat.member_id}
    for s in (w.bob, w.cat):
        assert w.kinds(s)["lead_assigned"] == 1
    assert w.kinds(w.dan).total() == 0
    # one of them rejects: the other keeps it
    w.bob.reject_lead(lead.id)
    assert w.ana.lead(lead.id).assignee_ids == (w.cat.member_id,)


# ------------------------------------------------------------------ actions
def test_agents_cannot_assign_or_reassign(w: World) -> None:
    _pool(w, "manual")
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    (lead,) = w.ana.leads()
    for call in (
        lambda: w.bob.assign(lead.id, w.bob.member_id),
        lambda: w.bob.reassign(lead.id, w.cat.member_id),
        lambda: w.bob.revoke(lead.id),
        lambda: w.bob.remove_lead(lead.id),
        lambda: w.bob.request_update(lead.id),
        lambda: w.bob.routing_dashboard(),
        lambda: w.bob.bulk_assign([lead.id], [w.bob.member_id]),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_the_assignment_note_is_in_the_notification_text_and_the_digest(w: World) -> None:
    # Seed 001: "you can make a note about the assignment" - the assignee reads it.
    _pool(w, "manual")
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    (lead,) = w.ana.leads()
    w.ana.update_member(w.bob.member_id, email="bob@example.com")
    w.max.assign(lead.id, w.bob.member_id, note="Hot one:\n<call> before noon")
    (told,) = [n for n in w.bob.notifications() if n.kind.value == "lead_assigned"]
    assert told.message.endswith("- note: Hot one: <call> before noon")
    assert told.data["note"] == "Hot one:\n<call> before noon"
    w.max.request_update(lead.id, note="any news?")
    (asked,) = [n for n in w.bob.notifications() if n.kind.value == "update_requested"]
    assert asked.message.count("any news?") == 1
    sender = teamcrm.MemorySender()
    w.crm.send_digests(w.clock.now() + timedelta(hours=2), sender)
    (email,) = sender.to("bob@example.com")
    assert "note: Hot one: <call> before noon" in email.text
    assert email.html is not None
    assert "note: Hot one: &lt;call&gt; before noon" in email.html


def test_assign_reassign_revoke_remove_and_request_update(w: World) -> None:
    pool = _pool(w, "manual")
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    (lead,) = w.ana.leads()
    r = w.max.assign(lead.id, w.bob.member_id, note="hot one")
    assert r.lead.assignee_ids == (w.bob.member_id,)
    assert r.explanation.method == "assign"
    assert r.explanation.note == "hot one"
    assert w.kinds(w.bob)["lead_assigned"] == 1
    w.clock.advance(timedelta(minutes=5))
    r = w.max.reassign(lead.id, w.cat.member_id)
    assert r.lead.assignee_ids == (w.cat.member_id,)
    assert r.lead.assigned_at == START + timedelta(minutes=5)
    assert w.kinds(w.bob)["lead_reassigned_away"] == 1
    assert w.kinds(w.cat)["lead_reassigned_to_you"] == 1
    # the contact moved from Bob's inbound bucket to Cat's
    assert w.bob.bucket_contacts(w.bob.inbound_bucket().id) == []
    w.max.request_update(lead.id, note="call them?")
    assert w.kinds(w.cat)["update_requested"] == 1
    r = w.max.revoke(lead.id)
    assert r.lead.status is LeadStatus.UNASSIGNED
    assert r.lead.assignee_ids == ()
    assert w.kinds(w.cat)["lead_revoked"] == 1
    with pytest.raises(ValidationError):
        w.max.request_update(lead.id)
    r = w.max.remove_lead(lead.id)
    assert r.lead.status is LeadStatus.REMOVED
    assert w.ana.contact(c.id).id == c.id  # the contact stays
    assert lead.id not in [row.lead_id for row in w.ana.routing_dashboard()]
    assert w.ana.routing_dashboard(include_removed=True)[0].pool_id == pool.id


def test_assign_refuses_ineligible_members(w: World) -> None:
    _pool(w, "manual", member_ids=[w.bob.member_id, w.cat.member_id])
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    (lead,) = w.ana.leads()
    with pytest.raises(ValidationError, match="not_in_pool"):
        w.ana.assign(lead.id, w.dan.member_id)
    w.ana.deactivate_member(w.cat.member_id)
    with pytest.raises(ValidationError, match="inactive"):
        w.ana.assign(lead.id, w.cat.member_id)
    with pytest.raises(ValidationError):
        w.ana.multi_assign(lead.id, [w.cat.member_id, w.dan.member_id])
    assert w.ana.lead(lead.id).status is LeadStatus.UNASSIGNED


def test_offer_one_member_with_a_window_and_multi_assign(w: World) -> None:
    _pool(w, "manual")
    a, b = w.contacts(2)
    w.ana.add_to_bucket(w.web.id, [a.id, b.id])
    la, lb = w.ana.leads()
    r = w.ana.assign(la.id, w.bob.member_id, offer=True, window=timedelta(minutes=10))
    assert r.lead.status is LeadStatus.OFFERED
    assert r.offers[0].expires_at == START + timedelta(minutes=10)
    assert r.offers[0].offered_by == w.ana.member_id
    r = w.ana.multi_assign(lb.id, [w.bob.member_id, w.cat.member_id], first_to_accept=True)
    assert {o.member_id for o in r.offers} == {w.bob.member_id, w.cat.member_id}
    r = w.ana.multi_assign(lb.id, [w.bob.member_id, w.cat.member_id])
    assert set(r.lead.assignee_ids) == {w.bob.member_id, w.cat.member_id}
    assert {o.status for o in w.ana.lead_offers(lb.id)} == {OfferStatus.WITHDRAWN}


def test_ambiguous_multi_assign_calls_are_refused_and_change_nothing(w: World) -> None:
    # Seed 001: several agents get the lead (everyone) or only one (first to accept);
    # a call that does not say which is refused instead of guessed.
    contacts = w.contacts(2)
    ids = [c.id for c in contacts]
    two = [w.bob.member_id, w.cat.member_id]
    with pytest.raises(ValidationError, match="multi=False takes one member"):
        w.ana.bulk_assign(ids, two, multi=False)
    with pytest.raises(ValidationError, match="to offer to one, use offer=True"):
        w.ana.bulk_assign(ids, [w.bob.member_id], first_to_accept=True)
    with pytest.raises(ValidationError, match="choose first_to_accept=True"):
        w.ana.bulk_assign(ids, two, offer=True)
    with pytest.raises(ValidationError, match="must be True, False or None"):
        w.ana.bulk_assign(ids, two, multi="yes")  # type: ignore[arg-type]
    assert w.ana.leads() == []
    everyone = w.ana.bulk_assign(ids, two)
    assert [set(r.lead.assignee_ids) for r in everyone] == [set(two)] * 2
    first = w.ana.bulk_assign([w.contacts(1, "F")[0].id], two, first_to_accept=True)
    assert {o.member_id for o in first[0].offers} == set(two)


def test_bulk_assign_and_direct_contact_assignment(w: World) -> None:
    contacts = w.contacts(4)
    results = w.ana.bulk_assign([c.id for c in contacts], [w.dan.member_id])
    assert [r.lead.assignee_ids for r in results] == [(w.dan.member_id,)] * 4
    assert all(r.lead.pool_id is None for r in results)
    assert w.kinds(w.dan)["lead_assigned"] == 4
    again = w.ana.assign(contacts[0].id, w.bob.member_id)
    assert again.lead.id == results[0].lead.id  # the contact's open lead
    assert w.kinds(w.bob)["lead_reassigned_to_you"] == 1


def test_reject_returns_the_lead_and_tells_admins(w: World) -> None:
    _pool(w, "round_robin", member_ids=[w.bob.member_id])
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    (lead,) = w.bob.leads()
    with pytest.raises(NotFound):
        w.cat.reject_lead(lead.id)
    r = w.bob.reject_lead(lead.id, reason="not my area")
    assert r.lead.status is LeadStatus.UNASSIGNED
    assert w.kinds(w.ana)["lead_rejected"] == 1
    assert w.bob.leads() == []


def test_each_assignment_gives_exactly_one_notification(w: World) -> None:
    _pool(w, "round_robin")
    w.ana.add_to_bucket(w.web.id, [c.id for c in w.contacts(9)])
    for s in (w.bob, w.cat, w.dan):
        owned = len(s.leads())
        assert w.kinds(s)["lead_assigned"] == owned == 3


# ------------------------------------------------------------------ inbound bucket, follow-up
def test_inbound_bucket_is_created_and_can_be_changed(w: World) -> None:
    _pool(w, "round_robin", member_ids=[w.bob.member_id])
    (a,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, a.id)
    inbound = w.bob.inbound_bucket()
    assert inbound.is_personal
    assert inbound.owner_id == w.bob.member_id
    assert [x.id for x in w.bob.bucket_contacts(inbound.id)] == [a.id]
    other = w.bob.create_bucket("My hot leads", personal=True)
    w.bob.set_inbound_bucket(other.id)
    (b,) = w.contacts(1, prefix="Z")
    w.ana.add_to_bucket(w.web.id, b.id)
    assert [x.id for x in w.bob.bucket_contacts(other.id)] == [b.id]
    with pytest.raises(NotFound):
        w.bob.set_inbound_bucket(w.web.id)  # Bob cannot see it
    w.ana.grant_access(w.web.id, w.bob.member_id, level=AccessLevel.VIEWER)
    with pytest.raises(PermissionDenied):
        w.bob.set_inbound_bucket(w.web.id)  # a viewer cannot add to it
    with pytest.raises(NotFound):
        w.cat.set_inbound_bucket(other.id)


def test_pool_follow_up_cadence_is_a_reminder_not_a_task(w: World) -> None:
    """The pool's reminder is computed for the owner (tests/service/test_pool_reminders.py)."""
    _pool(w, "round_robin", member_ids=[w.bob.member_id], follow_up="3 days")
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    assert w.bob.tasks() == []
    (row,) = w.bob.follow_ups(at=datetime(2026, 1, 8, tzinfo=UTC))
    assert (row.kind.value, row.contact.id) == ("pool", c.id)


# ---------------------------------------------- conversations after reassignment
def test_new_owner_sees_old_conversations_only_through_a_shared_bucket(w: World) -> None:
    _pool(w, "manual")
    (c,) = w.contacts(1)
    w.ana.add_to_bucket(w.web.id, c.id)
    (lead,) = w.ana.leads()
    w.ana.assign(lead.id, w.bob.member_id)
    call = w.bob.log_interaction("call", contact_ids=[c.id], body="first call")
    w.ana.reassign(lead.id, w.cat.member_id)
    assert call.id not in [i.id for i in w.cat.interactions_for_contact(c.id)]
    shared = w.ana.create_bucket("Shared")
    for s in (w.bob, w.cat):
        w.ana.grant_access(
            shared.id, s.member_id, level=AccessLevel.VIEWER, can_view_conversations=True
        )
    w.ana.add_to_bucket(shared.id, c.id)
    assert call.id in [i.id for i in w.cat.interactions_for_contact(c.id)]


# ------------------------------------------------------------------ dashboard
def test_routing_dashboard_filters_and_sorts(w: World) -> None:
    rr = _pool(w, "round_robin", member_ids=[w.bob.member_id, w.cat.member_id])
    other = w.ana.create_bucket("Open house")
    manual = w.ana.create_pool("Manual", source_bucket_ids=[other.id])
    a, b = w.contacts(2)
    w.ana.add_to_bucket(w.web.id, a.id)
    w.clock.advance(timedelta(hours=1))
    w.ana.add_to_bucket(w.web.id, b.id)
    (m,) = w.contacts(1, prefix="M")
    w.ana.add_to_bucket(other.id, m.id)
    w.clock.advance(timedelta(hours=1))
    lead_a = next(ld for ld in w.ana.leads() if ld.contact_id == a.id)
    owner = w.crm.as_member(lead_a.assignee_ids[0])
    owner.log_interaction("call", contact_ids=[a.id], occurred_at=START + timedelta(minutes=30))
    w.ana.log_interaction("note", contact_ids=[a.id])  # not by the owner

    rows = w.ana.routing_dashboard()
    assert [r.contact_name for r in rows] == ["P0", "P1", "M0"]  # unassigned last
    assert rows[0].last_contacted_at == START + timedelta(minutes=30)
    assert rows[1].last_contacted_at is None
    assert rows[0].assigned_at == START
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        rows[0].contact_name = "x"  # type: ignore[misc]
    assert [r.contact_name for r in w.ana.routing_dashboard(pool_id=manual.id)] == ["M0"]
    assert [r.contact_name for r in w.ana.routing_dashboard(assignee=UNASSIGNED)] == ["M0"]
    assert [r.pool_id for r in w.ana.routing_dashboard(assignee=owner.member_id)] == [rr.id]
    desc = w.ana.routing_dashboard(sort_by="contact_name", descending=True)
    assert [r.contact_name for r in desc] == ["P1", "P0", "M0"]
    with pytest.raises(ValidationError):
        w.ana.routing_dashboard(sort_by="colour")
    with pytest.raises(ValidationError):
        w.ana.routing_dashboard(assignee="bob")


def test_routing_is_scoped_to_the_team(w: World, crm: teamcrm.CRM) -> None:
    pool = _pool(w, "round_robin")
    w.ana.add_to_bucket(w.web.id, [c.id for c in w.contacts(1)])
    (lead,) = w.ana.leads()
    _, olga = crm.create_team("Other", admin_name="Olga")
    other = crm.as_member(olga.id)
    with pytest.raises(NotFound):
        other.pool(pool.id)
    with pytest.raises(NotFound):
        other.lead(lead.id)
    with pytest.raises(NotFound):
        other.explain(lead.id)
    assert other.routing_dashboard() == []


def test_the_demo_shows_routing() -> None:
    from teamcrm.demo import DEMO_START, run_demo

    clock = teamcrm.SettableClock(DEMO_START)
    lines: list[str] = []
    with teamcrm.open("memory://", clock=clock) as crm:
        run_demo(crm, clock, lines.append)
    text = "\n".join(lines)
    assert "== Lead routing ==" in text
    assert "Routing dashboard (Alice)" in text
    assert "is closed: taken" in text
    assert "method: round_robin" in text


def test_a_pools_source_bucket_is_not_deleted_while_it_feeds_the_pool(w: World) -> None:
    spare = w.ana.create_bucket("Spare")
    pool = w.ana.create_pool("Two", source_bucket_ids=[w.web.id, spare.id])
    w.ana.deactivate_pool(pool.id)  # an inactive pool still names its sources
    with pytest.raises(ValidationError, match=r"source of lead pool.*'Two'"):
        w.ana.delete_bucket(spare.id)
    assert w.ana.bucket(spare.id).id == spare.id
    w.ana.update_pool(pool.id, source_bucket_ids=[w.web.id])
    w.ana.delete_bucket(spare.id)
    assert w.ana.update_pool(pool.id, name="Renamed").name == "Renamed"
    assert w.ana.pool(pool.id).source_bucket_ids == (w.web.id,)
