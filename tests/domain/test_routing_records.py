"""What routing writes without re-checking is exactly what the checked constructors make.

Routing builds its events, notifications and memberships with
``validation.trusted`` (their values come from checked entities), and bulk
calls pause the cyclic garbage collector.  These tests rebuild every record
through its class (which validates and normalises) and compare, after a
scenario that runs every routing action, and pin down the collector pause.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest

import teamcrm
from teamcrm.bucket import BucketMembership
from teamcrm.events import DomainEvent
from teamcrm.notification import Notification
from teamcrm.service.base import BULK_GC_PAUSE, paused_gc


@pytest.fixture(params=["memory://", "sqlite://"])
def crm(request: pytest.FixtureRequest, clock: teamcrm.SettableClock) -> Iterator[teamcrm.CRM]:
    """A CRM on each shipped embedded store."""
    c = teamcrm.open(request.param, clock=clock)
    yield c
    c.close()


def _same_as_checked(entity: object) -> None:
    """The entity equals itself built again through its own (checking) constructor."""
    rebuilt = type(entity)(**attrs.asdict(entity, recurse=False))
    assert rebuilt == entity
    for field in attrs.fields(type(entity)):  # same normalised types (lists, read-only dicts)
        assert type(getattr(rebuilt, field.name)) is type(getattr(entity, field.name)), field


def test_every_routing_record_is_what_the_checked_constructor_makes(
    crm: teamcrm.CRM, clock: teamcrm.SettableClock
) -> None:
    _, admin = crm.create_team("Parkside", admin_name="Ana")
    ana = crm.as_member(admin.id)
    agents = [crm.as_member(ana.add_member(n, role="agent").id) for n in ("Bob", "Cat", "Dan")]
    bob, cat, dan = agents
    web = ana.create_bucket("Web leads")
    hot = ana.create_bucket("Hot leads")
    ids = [a.member_id for a in agents]
    ana.create_pool(
        "Round", source_bucket_ids=[web.id], member_ids=ids, method="round_robin", follow_up="2d"
    )
    ana.create_pool("First", source_bucket_ids=[hot.id], member_ids=ids, method="first_to_accept")
    people = ana.create_contacts(
        [{"first_name": f"P{i}", "emails": [f"p{i}@x.com"]} for i in range(8)]
    )
    ana.add_to_bucket(web.id, [c.id for c in people[:6]])  # routed, notified, placed
    ana.add_to_bucket(hot.id, [c.id for c in people[6:]])  # offered to everyone
    offers = {o.lead_id: o for o in bob.offers()}
    first_hot, second_hot = sorted(offers)
    bob.accept_offer(offers[first_hot].id)
    cat.decline_offer(next(o.id for o in cat.offers() if o.lead_id == second_hot))
    clock.advance(timedelta(days=2))
    crm.expire_offers()
    routed = ana.leads(pool_id=None, status="assigned")
    lead = next(x for x in routed if x.assignee_ids[0] != dan.member_id)
    ana.reassign(lead.id, dan.member_id, note="Dan knows them")
    ana.request_update(lead.id, note="Any news?")
    dan.reject_lead(lead.id, reason="Not mine")
    ana.revoke(routed[-1].id)
    ana.assign(routed[-1].id, cat.member_id, offer=True, note="Yours?")

    events = ana.events()
    assert len(events) > 20
    for message in events:
        assert isinstance(message.event, DomainEvent)
        _same_as_checked(message.event)
    notes = [n for s in (ana, *agents) for n in s.notifications(limit=1000)]
    kinds = {n.kind.value for n in notes}
    assert {"lead_assigned", "lead_offered", "lead_reassigned_away", "update_requested"} <= kinds
    for note in notes:
        assert isinstance(note, Notification)
        _same_as_checked(note)
    placed = [m for s in agents for m in s.bucket_items(s.inbound_bucket().id)]
    assert placed
    for membership in placed + ana.bucket_items(web.id):
        assert isinstance(membership, BucketMembership)
        _same_as_checked(membership)


def test_a_bulk_call_pauses_the_collector_and_restores_it() -> None:
    assert gc.isenabled()
    with paused_gc(BULK_GC_PAUSE - 1):
        assert gc.isenabled()  # small calls change nothing
    with paused_gc(BULK_GC_PAUSE):
        assert not gc.isenabled()
        with paused_gc(BULK_GC_PAUSE):  # nested (or another thread's) bulk call
            assert not gc.isenabled()
        assert not gc.isenabled()  # still paused until the outer call ends
    assert gc.isenabled()


def test_the_collector_comes_back_after_an_error_and_respects_the_application() -> None:
    with pytest.raises(RuntimeError), paused_gc(BULK_GC_PAUSE):
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc(BULK_GC_PAUSE):
            assert not gc.isenabled()
        assert not gc.isenabled()  # the application had turned it off: stays off
    finally:
        gc.enable()


def test_overlapping_bulk_calls_in_threads_leave_the_collector_on() -> None:
    inside = threading.Barrier(4)

    def bulk() -> None:
        with paused_gc(BULK_GC_PAUSE):
            inside.wait(timeout=10)
            assert not gc.isenabled()

    threads = [threading.Thread(target=bulk) for _ in range(3)]
    for t in threads:
        t.start()
    inside.wait(timeout=10)
    for t in threads:
        t.join(timeout=10)
    assert gc.isenabled()


def test_a_bulk_add_runs_with_the_collector_paused(crm: teamcrm.CRM) -> None:
    _, admin = crm.create_team("Bulk", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bucket = ana.create_bucket("All")
    seen: list[bool] = []
    original = crm.store.unit_of_work

    def spying(**kw: bool) -> object:
        seen.append(gc.isenabled())
        return original(**kw)

    people = ana.create_contacts([{"first_name": f"C{i}"} for i in range(BULK_GC_PAUSE)])
    crm.store.unit_of_work = spying  # type: ignore[method-assign]
    try:
        ana.add_to_bucket(bucket.id, [c.id for c in people])
        ana.add_to_bucket(bucket.id, people[0].id)
    finally:
        crm.store.unit_of_work = original  # type: ignore[method-assign]
    assert seen == [False, True]
    assert gc.isenabled()
