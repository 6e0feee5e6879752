"""Routing beyond the seeds, through the service API on memory:// and sqlite://.

Weighted and least-loaded pools, capacity, availability and fallback,
sequential offers, response windows, dedupe, roles, explanations and custom
method names.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

import teamcrm
import test_routing_service as base
from teamcrm import NotFound, OfferClosed, PermissionDenied, ValidationError
from teamcrm.lead import LeadStatus, OfferStatus
from teamcrm.pool import Capacity
from teamcrm.routing import RoutingOutcome, SkipReason
from teamcrm.service.routing import (
    enforce_response_windows,
    expire_due_offers,
    expire_offers,
    pass_on_unanswered_leads,
)
from test_routing_service import START, World, _pool

crm = base.crm  # the fixtures of the service tests: memory:// and sqlite://
w = base.w


def _owners(w: World, pool_id: str) -> list[str]:
    return [ld.assignee_ids[0] for ld in w.ana.leads(pool_id=pool_id) if ld.assignee_ids]


def _route(w: World, n: int, prefix: str = "P") -> list[teamcrm.Contact]:
    contacts = w.contacts(n, prefix)
    for c in contacts:  # one unit each, a second apart: leads list in the order of adds
        w.clock.advance(timedelta(seconds=1))
        w.ana.add_to_bucket(w.web.id, c.id)
    return contacts


def _skips(exp: teamcrm.RoutingExplanation) -> dict[str, SkipReason]:
    return {s.member_id: s.reason for s in exp.skipped}


# ------------------------------------------------------------------ weighted
def test_weighted_gives_runs_by_weight_and_exact_shares_per_cycle(w: World) -> None:
    bob, cat = w.bob.member_id, w.cat.member_id
    pool = _pool(w, "weighted", member_ids=[bob, cat], weights={bob: 1, cat: 3})
    _route(w, 12)
    assert _owners(w, pool.id) == [bob, cat, cat, cat] * 3
    lead = w.ana.leads(pool_id=pool.id)[-1]
    exp = w.ana.explain(lead.id)
    assert exp.method == "weighted"
    assert dict(exp.weights) == {bob: 1, cat: 3}
    assert (exp.cursor_before, exp.cursor_after) == (3, 0)
    assert "weights:" in exp.describe()


def test_weighted_bulk_add_matches_one_by_one(w: World) -> None:
    bob, cat, dan = w.bob.member_id, w.cat.member_id, w.dan.member_id
    pool = _pool(w, "weighted", weights={bob: 2, cat: 1, dan: 3})
    w.ana.add_to_bucket(w.web.id, [c.id for c in w.contacts(30)])
    assert Counter(_owners(w, pool.id)) == {bob: 10, cat: 5, dan: 15}


def test_weighted_passes_over_the_away_and_resumes(w: World) -> None:
    bob, cat = w.bob.member_id, w.cat.member_id
    pool = _pool(w, "weighted", member_ids=[bob, cat], weights={bob: 2, cat: 1})
    w.ana.set_away(START + timedelta(hours=1), member_id=bob)
    _route(w, 2, "A")
    assert _owners(w, pool.id) == [cat, cat]
    last = w.ana.leads(pool_id=pool.id)[-1]
    assert _skips(w.ana.explain(last.id)) == {bob: SkipReason.AWAY}
    w.clock.advance(timedelta(hours=2))
    _route(w, 3, "B")
    assert Counter(_owners(w, pool.id)[2:]) == {bob: 2, cat: 1}


def test_weights_are_positive_integers(w: World) -> None:
    with pytest.raises(ValidationError):
        _pool(w, "weighted", weights={w.bob.member_id: 0})
    with pytest.raises(ValidationError):
        _pool(w, "weighted", weights={w.bob.member_id: 1.5})


# -------------------------------------------------------------- least loaded
def test_least_loaded_picks_fewest_open_then_longest_ago_then_pool_order(w: World) -> None:
    bob, cat, dan = w.bob.member_id, w.cat.member_id, w.dan.member_id
    pool = _pool(w, "least_loaded")
    _route(w, 1, "A")
    # nobody has any: pool order
    assert _owners(w, pool.id) == [bob]
    w.clock.advance(timedelta(minutes=1))
    _route(w, 2, "B")
    assert _owners(w, pool.id) == [bob, cat, dan]
    # everyone has one; Bob received his longest ago
    w.clock.advance(timedelta(minutes=1))
    _route(w, 1, "C")
    assert _owners(w, pool.id)[-1] == bob
    exp = w.ana.explain(w.ana.leads(pool_id=pool.id)[-1].id)
    assert dict(exp.loads) == {bob: 1, cat: 1, dan: 1}
    # revoking Cat's lead makes her the least loaded
    cat_lead = next(ld for ld in w.ana.leads(pool_id=pool.id) if ld.assignee_ids == (cat,))
    w.ana.revoke(cat_lead.id)
    w.clock.advance(timedelta(minutes=1))
    _route(w, 1, "D")
    assert w.ana.leads(pool_id=pool.id)[-1].assignee_ids == (cat,)


def test_least_loaded_counts_reassignments_and_rejections(w: World) -> None:
    bob, cat = w.bob.member_id, w.cat.member_id
    pool = _pool(w, "least_loaded", member_ids=[bob, cat])
    _route(w, 2, "A")  # one each
    leads = w.ana.leads(pool_id=pool.id)
    w.ana.reassign(leads[0].id, cat)  # Cat 2, Bob 0
    _route(w, 1, "B")
    assert w.ana.leads(pool_id=pool.id)[-1].assignee_ids == (bob,)  # Bob 1, Cat 2
    w.cat.reject_lead(leads[1].id)  # Cat 1
    w.cat.reject_lead(leads[0].id)  # Cat 0
    _route(w, 1, "C")
    assert w.ana.leads(pool_id=pool.id)[-1].assignee_ids == (cat,)


# ------------------------------------------------------------------ capacity
def test_a_full_member_is_skipped_until_the_next_day(w: World) -> None:
    bob, cat = w.bob.member_id, w.cat.member_id
    pool = _pool(
        w,
        "round_robin",
        member_ids=[bob, cat],
        member_capacity={bob: Capacity(per_day=2)},
    )
    _route(w, 6, "A")
    assert Counter(_owners(w, pool.id)) == {bob: 2, cat: 4}
    last = w.ana.leads(pool_id=pool.id)[-1]
    assert _skips(w.ana.explain(last.id)) == {bob: SkipReason.FULL}
    w.clock.advance(timedelta(days=1))
    _route(w, 2, "B")
    assert Counter(_owners(w, pool.id)[6:]) == {bob: 1, cat: 1}


def test_caps_apply_to_every_method_in_bulk_and_zero_opts_out(w: World) -> None:
    bob, cat, dan = w.bob.member_id, w.cat.member_id, w.dan.member_id
    for method in ("round_robin", "weighted", "least_loaded", "everyone"):
        web = w.ana.create_bucket(f"Web {method}")
        pool = w.ana.create_pool(
            method,
            source_bucket_ids=[web.id],
            member_ids=[bob, cat, dan],
            method=method,
            capacity=Capacity(per_day=3, per_30_days=4),
            member_capacity={dan: {"per_day": 0}},
        )
        w.ana.add_to_bucket(web.id, [c.id for c in w.contacts(10, method)])
        counts = Counter(m for ld in w.ana.leads(pool_id=pool.id) for m in ld.assignee_ids)
        assert counts == {bob: 3, cat: 3}, method
        waiting = [ld for ld in w.ana.leads(pool_id=pool.id) if not ld.assignee_ids]
        assert waiting
        assert all(w.ana.explain(ld.id).outcome is RoutingOutcome.NO_ELIGIBLE for ld in waiting)
    # the rolling 30 days: after a day, one more each, then full for the month
    w.clock.advance(timedelta(days=1))
    web = w.ana.create_bucket("Web later")
    w.ana.update_pool(pool.id, source_bucket_ids=[*pool.source_bucket_ids, web.id])
    w.ana.add_to_bucket(web.id, [c.id for c in w.contacts(5, "later")])
    counts = Counter(m for ld in w.ana.leads(pool_id=pool.id) for m in ld.assignee_ids)
    assert counts == {bob: 4, cat: 4}


def test_manual_assignment_and_acceptance_respect_caps(w: World) -> None:
    bob, cat = w.bob.member_id, w.cat.member_id
    pool = _pool(
        w, "first_to_accept", member_ids=[bob, cat], member_capacity={bob: Capacity(per_day=1)}
    )
    _route(w, 2, "A")
    first, second = w.ana.leads(pool_id=pool.id)
    w.bob.accept_offer(next(o.id for o in w.bob.offers() if o.lead_id == first.id))
    with pytest.raises(OfferClosed) as info:
        w.bob.accept_offer(next(o.id for o in w.bob.offers() if o.lead_id == second.id))
    assert info.value.reason == "full"
    with pytest.raises(ValidationError, match="full"):
        w.ana.assign(second.id, bob)
    result = w.ana.multi_assign(second.id, [bob, cat])
    assert result.lead.assignee_ids == (cat,)
    assert _skips(result.explanation) == {bob: SkipReason.FULL}


# ---------------------------------------------------------- availability
def test_manual_assignment_to_an_away_member_is_allowed_with_a_warning(w: World) -> None:
    bob, cat = w.bob.member_id, w.cat.member_id
    _pool(w, "manual", member_ids=[bob, cat])
    _route(w, 1)
    (lead,) = w.ana.leads()
    w.ana.set_away(START + timedelta(days=2), member_id=bob)
    result = w.ana.assign(lead.id, bob)
    assert result.lead.assignee_ids == (bob,)
    assert result.warnings
    assert "away" in result.warnings[0]
    assert w.ana.explain(lead.id).warnings == result.warnings
    assert "warning:" in w.ana.explain(lead.id).describe()
    w.ana.deactivate_member(cat)
    with pytest.raises(ValidationError, match="inactive"):
        w.ana.assign(lead.id, cat)


def test_nobody_eligible_waits_and_tells_the_fallback(w: World) -> None:
    bob, cat = w.bob.member_id, w.cat.member_id
    pool = _pool(w, "least_loaded", member_ids=[bob, cat], fallback_member_id=w.max.member_id)
    for m in (bob, cat):
        w.ana.set_away(START + timedelta(days=1), member_id=m)
    _route(w, 1)
    (lead,) = w.ana.leads(pool_id=pool.id)
    assert lead.status is LeadStatus.UNASSIGNED
    assert _skips(w.ana.explain(lead.id)) == {bob: SkipReason.AWAY, cat: SkipReason.AWAY}
    assert w.kinds(w.max)["no_eligible_member"] == 1


# ---------------------------------------------------------- sequential offers
def test_the_expiry_job_needs_only_a_store_a_time_and_the_reactions(w: World) -> None:
    """Batch jobs take a store and a time, not a whole CRM (a worker can run them alone)."""
    pool = _pool(w, "sequential_offer", offer_window=timedelta(minutes=10))
    _route(w, 1)
    (lead,) = w.ana.leads(pool_id=pool.id)
    later = w.crm.now() + timedelta(minutes=11)
    assert expire_due_offers(w.crm.store, later, w.crm.reactions) == 1
    assert [o.member_id for o in w.ana.lead_offers(lead.id) if o.is_open] == [w.cat.member_id]
    assert pass_on_unanswered_leads(w.crm.store, later, w.crm.reactions) == 0


def test_sequential_offer_passes_on_decline_and_expiry_and_never_returns(w: World) -> None:
    bob, cat, dan = w.bob.member_id, w.cat.member_id, w.dan.member_id
    pool = _pool(
        w,
        "sequential_offer",
        offer_window=timedelta(minutes=10),
        fallback_member_id=w.max.member_id,
    )
    _route(w, 1)
    (lead,) = w.ana.leads(pool_id=pool.id)
    assert [o.member_id for o in w.ana.lead_offers(lead.id)] == [bob]
    w.bob.decline_offer(w.bob.offers()[0].id)
    assert [o.member_id for o in w.ana.lead_offers(lead.id) if o.is_open] == [cat]
    w.clock.advance(timedelta(minutes=11))
    assert expire_offers(w.crm) == 1
    offers = w.ana.lead_offers(lead.id)
    assert [o.member_id for o in offers if o.is_open] == [dan]
    exp = w.ana.explain(lead.id)
    assert _skips(exp) == {bob: SkipReason.DECLINED, cat: SkipReason.ALREADY_OFFERED}
    w.dan.decline_offer(w.dan.offers()[0].id)
    after = w.ana.lead(lead.id)
    assert after.status is LeadStatus.UNASSIGNED
    assert w.ana.explain(lead.id).outcome is RoutingOutcome.NO_ELIGIBLE
    assert w.kinds(w.max)["no_eligible_member"] == 1
    assert Counter(o.member_id for o in w.ana.lead_offers(lead.id)) == {bob: 1, cat: 1, dan: 1}
    # routing it again by hand never offers it to a decliner
    result = w.ana.route_lead(lead.id)
    assert result.explanation.offered == (cat,)


def test_sequential_offer_accept_and_first_offers_rotate(w: World) -> None:
    bob, cat, dan = w.bob.member_id, w.cat.member_id, w.dan.member_id
    pool = _pool(w, "sequential_offer")
    _route(w, 3)
    firsts = [w.ana.lead_offers(ld.id)[0].member_id for ld in w.ana.leads(pool_id=pool.id)]
    assert firsts == [bob, cat, dan]
    result = w.cat.accept_offer(w.cat.offers()[0].id)
    assert result.lead.assignee_ids == (cat,)
    assert result.offers[0].status is OfferStatus.ACCEPTED


# ----------------------------------------------------------- response windows
def test_response_window_reassigns_untouched_leads_once(w: World) -> None:
    bob, cat = w.bob.member_id, w.cat.member_id
    pool = _pool(w, "round_robin", member_ids=[bob, cat], response_window=timedelta(minutes=30))
    a, b = _route(w, 2)
    la, lb = w.ana.leads(pool_id=pool.id)
    assert (la.assignee_ids, lb.assignee_ids) == ((bob,), (cat,))
    assert la.assigned_at is not None
    assert la.respond_by == la.assigned_at + timedelta(minutes=30)
    w.clock.advance(timedelta(minutes=10))
    w.bob.contact(a.id)  # viewing is not a touch
    w.cat.log_interaction("call", contact_ids=[b.id], outcome="connected")
    w.clock.advance(timedelta(minutes=25))
    assert w.crm.enforce_response_windows() == 1  # the CRM method schedulers call
    assert enforce_response_windows(w.crm) == 0
    la, lb = w.ana.leads(pool_id=pool.id)
    assert la.assignee_ids == (cat,)
    assert lb.assignee_ids == (cat,)
    assert lb.respond_by is None
    exp = w.ana.explain(la.id)
    assert _skips(exp) == {bob: SkipReason.NO_RESPONSE}
    assert w.kinds(w.bob)["response_window_missed"] == 1
    assert w.kinds(w.cat)["lead_reassigned_to_you"] == 1
    # the new owner has a fresh window
    assert la.respond_by == w.clock.now() + timedelta(minutes=30)


def test_response_window_with_nobody_else_keeps_the_owner_and_tells_admins(w: World) -> None:
    bob = w.bob.member_id
    pool = _pool(w, "round_robin", member_ids=[bob], response_window=timedelta(minutes=5))
    _route(w, 1)
    w.clock.advance(timedelta(minutes=6))
    assert enforce_response_windows(w.crm) == 0
    (lead,) = w.ana.leads(pool_id=pool.id)
    assert lead.assignee_ids == (bob,)
    assert lead.respond_by is None
    assert w.kinds(w.ana)["response_window_missed"] == 1


# ------------------------------------------------------------------ dedupe
def test_duplicates_join_the_open_lead_unless_dedupe_is_off(w: World) -> None:
    bob = w.bob.member_id
    pool = _pool(w, "round_robin", member_ids=[bob])
    a = w.ana.create_contact("Ann", emails=["Ann@X.com"], phones=["+1 555 010 2030"])
    b = w.ana.create_contact("Ann", "Twin", emails=["ann@x.com"])
    c = w.ana.create_contact("Anne", phones=["+15550102030"])
    w.ana.add_to_bucket(w.web.id, a.id)
    w.ana.add_to_bucket(w.web.id, [b.id, c.id])
    assert [ld.contact_id for ld in w.ana.leads(pool_id=pool.id)] == [a.id]
    assert w.kinds(w.bob)["lead_duplicate"] == 2
    inbound = w.bob.inbound_bucket()
    assert {m.item_id for m in w.bob.bucket_items(inbound.id)} == {a.id, b.id, c.id}
    w.ana.update_pool(pool.id, dedupe=False)
    w.clock.advance(timedelta(seconds=1))
    d = w.ana.create_contact("Ann", "Third", emails=["ann@x.com"])
    w.ana.add_to_bucket(w.web.id, d.id)
    assert [ld.contact_id for ld in w.ana.leads(pool_id=pool.id)] == [a.id, d.id]
    # ... also between the contacts of one bulk add
    w.clock.advance(timedelta(seconds=1))
    e = w.ana.create_contact("Ed", emails=["ed@x.com"])
    f = w.ana.create_contact("Ed", "Twin", emails=["ed@x.com"])
    w.ana.add_to_bucket(w.web.id, [e.id, f.id])
    routed = [ld.contact_id for ld in w.ana.leads(pool_id=pool.id)]
    assert routed[:2] == [a.id, d.id]
    assert sorted(routed[2:]) == sorted([e.id, f.id])  # same instant: ordered by id


# ------------------------------------------------------------------- roles
def test_roles_are_assigned_offered_and_shown_like_leads(w: World) -> None:
    bob, cat = w.bob.member_id, w.cat.member_id
    w.ana.define_role("buyer agent")
    w.ana.define_role("listing agent")
    with pytest.raises(teamcrm.AlreadyExists):
        w.ana.define_role("buyer agent")
    assert [r.name for r in w.bob.roles()] == ["buyer agent", "listing agent"]
    c = w.ana.create_contact("Rae")
    result = w.max.assign_role(c.id, "buyer agent", bob)
    assert result.lead.role == "buyer agent"
    assert result.lead.assignee_ids == (bob,)
    assert result.explanation.role == "buyer agent"
    offered = w.max.assign_role(c.id, "listing agent", cat, offer=True)
    assert offered.lead.status is LeadStatus.OFFERED
    w.cat.accept_offer(w.cat.offers()[0].id)
    assert w.ana.role_holders(c.id) == {"buyer agent": (bob,), "listing agent": (cat,)}
    rows = w.ana.routing_dashboard()
    assert {(r.role, r.assignee_id) for r in rows} == {("buyer agent", bob), ("listing agent", cat)}
    # reassigning a role tells both; the contact's lead routing is separate
    w.ana.assign_role(c.id, "buyer agent", cat)
    assert w.ana.role_holders(c.id)["buyer agent"] == (cat,)
    assert w.kinds(w.bob)["lead_reassigned_away"] == 1
    with pytest.raises(NotFound):
        w.ana.assign_role(c.id, "closer", bob)
    with pytest.raises(PermissionDenied):
        w.bob.assign_role(c.id, "buyer agent", bob)
    w.ana.delete_role("listing agent")
    assert [r.name for r in w.ana.roles()] == ["buyer agent"]


# ------------------------------------------------------------ explanations
@pytest.mark.parametrize(
    "method",
    [
        "manual",
        "round_robin",
        "first_to_accept",
        "everyone",
        "weighted",
        "least_loaded",
        "sequential_offer",
    ],
)
def test_every_routing_call_returns_the_stored_explanation(w: World, method: str) -> None:
    pool = _pool(w, method)
    w.ana.add_to_bucket(w.web.id, [c.id for c in w.contacts(3)])
    for lead in w.ana.leads(pool_id=pool.id):
        exp = w.ana.explain(lead.id)
        assert exp.method == method
        assert exp.pool_id == pool.id
        assert set(exp.chosen) == set(lead.assignee_ids)
        if lead.status is LeadStatus.UNASSIGNED and method != "manual":
            assert exp.outcome is RoutingOutcome.NO_ELIGIBLE  # pragma: no cover
    lead = w.ana.leads(pool_id=pool.id)[0]
    if lead.status is not LeadStatus.UNASSIGNED:
        w.ana.revoke(lead.id)
    result = w.ana.route_lead(lead.id)
    assert result.explanation == w.ana.explain(lead.id) == result.lead.explanation


def test_unknown_methods_are_refused_and_pools_round_trip(w: World) -> None:
    with pytest.raises(ValidationError):
        _pool(w, "no_such_method")
    with pytest.raises(ValidationError):
        _pool(w, "Bad Name!")
    bob = w.bob.member_id
    pool = _pool(
        w,
        "weighted",
        weights={bob: 4},
        capacity=Capacity(per_30_days=9),
        member_capacity={bob: {"per_day": 2}},
        response_window=timedelta(minutes=45),
        dedupe=False,
    )
    again = w.ana.pool(pool.id)
    assert again == pool
    assert again.capacity_of(bob) == Capacity(per_day=2)
    assert again.capacity_of(w.cat.member_id) == Capacity(per_30_days=9)
