"""The routing repositories behave alike on memory:// and sqlite://."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest

import teamcrm
from teamcrm import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.ids import BucketId, ContactId, MemberId, TeamId
from teamcrm.lead import (
    InboundBucket,
    Lead,
    LeadStatus,
    Offer,
    OfferStatus,
    RoutingCursor,
    new_lead_id,
    new_offer_id,
)
from teamcrm.pool import LeadPool, PoolId, new_pool_id
from teamcrm.routing import RoutingExplanation, RoutingOutcome, Skipped, SkipReason

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TEAM = TeamId("tm_" + "1" * 26)
OTHER = TeamId("tm_" + "2" * 26)
MB = MemberId("mb_" + "3" * 26)


@pytest.fixture(params=["memory://", "sqlite://"])
def store(request: pytest.FixtureRequest) -> Iterator[teamcrm.ports.Store]:
    s = teamcrm.open_store(request.param)
    yield s
    s.close()


def _pool(**kw: object) -> LeadPool:
    base: dict[str, object] = {
        "id": new_pool_id(),
        "team_id": TEAM,
        "name": "Web",
        "created_at": NOW,
        "source_bucket_ids": (BucketId("bk_" + "4" * 26),),
        "member_ids": (MB,),
        "method": "first_to_accept",
        "offer_window": timedelta(minutes=7),
        "follow_up": "3 months",
        "fallback_member_id": MB,
    }
    base.update(kw)
    return LeadPool(**base)  # type: ignore[arg-type]


def _lead(pool_id: PoolId | None, contact: int, **kw: object) -> Lead:
    return Lead(
        id=new_lead_id(),
        team_id=TEAM,
        contact_id=ContactId(f"ct_{contact:026x}"),
        created_at=NOW,
        pool_id=pool_id,
        **kw,  # type: ignore[arg-type]
    )


def test_pools_round_trip_and_check_versions(store: teamcrm.ports.Store) -> None:
    pool = _pool()
    with store.unit_of_work() as uow:
        uow.lead_pools.add(pool)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.lead_pools.get(TEAM, pool.id) == pool
        assert uow.lead_pools.for_buckets(TEAM, pool.source_bucket_ids) == [pool]
        assert uow.lead_pools.for_buckets(TEAM, [BucketId("bk_" + "5" * 26)]) == []
        with pytest.raises(NotFound):
            uow.lead_pools.get(OTHER, pool.id)
        with pytest.raises(AlreadyExists):
            uow.lead_pools.add(pool)
        with pytest.raises(ConcurrencyError):
            uow.lead_pools.update(attrs.evolve(pool, name="X", version=3))
        uow.lead_pools.update(attrs.evolve(pool, active=False, version=2))
        uow.commit()
    with store.unit_of_work() as uow:
        with pytest.raises(ConcurrencyError):
            uow.lead_pools.delete(TEAM, pool.id, 1)
        uow.lead_pools.delete(TEAM, pool.id, 2)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.lead_pools.all(TEAM) == []


def test_leads_offers_and_indexes(store: teamcrm.ports.Store) -> None:
    pool = _pool()
    exp = RoutingExplanation(
        method="first_to_accept",
        outcome=RoutingOutcome.OFFERED,
        decided_at=NOW,
        pool_id=pool.id,
        offered=(MB,),
        skipped=(Skipped(member_id="mb_" + "6" * 26, reason=SkipReason.AWAY),),
        offer_expires_at=NOW + timedelta(minutes=7),
    )
    lead = _lead(pool.id, 1, status=LeadStatus.OFFERED, keys=("email:a@x.com",), explanation=exp)
    direct = _lead(None, 1, entry=3)
    offer = Offer(
        id=new_offer_id(),
        team_id=TEAM,
        lead_id=lead.id,
        member_id=MB,
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=7),
    )
    with store.unit_of_work() as uow:
        uow.lead_pools.add(pool)
        uow.leads.add_many([lead, direct])
        uow.offers.add_many([offer])
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.leads.get(TEAM, lead.id) == lead
        assert uow.leads.open_for_contacts(TEAM, pool.id, [lead.contact_id]) == [lead]
        assert uow.leads.open_for_contacts(TEAM, None, [lead.contact_id]) == [direct]
        assert uow.leads.open_with_keys(TEAM, pool.id, ["email:a@x.com"]) == [lead]
        assert uow.leads.entries(TEAM, pool.id, [lead.contact_id]) == {lead.contact_id: 1}
        assert uow.leads.entries(TEAM, None, [lead.contact_id]) == {lead.contact_id: 3}
        assert uow.leads.all(TEAM, status=LeadStatus.OFFERED) == [lead]
        assert {x.id for x in uow.leads.for_contact(TEAM, lead.contact_id)} == {lead.id, direct.id}
        assert uow.offers.for_lead(TEAM, lead.id) == [offer]
        assert uow.offers.for_member(TEAM, MB, OfferStatus.OPEN) == [offer]
        assert uow.offers.due(NOW + timedelta(minutes=6), 10) == []
        assert uow.offers.due(NOW + timedelta(minutes=7), 10) == [offer]
        with pytest.raises(NotFound):
            uow.leads.get(OTHER, lead.id)
        removed = attrs.evolve(lead, status=LeadStatus.REMOVED, version=2)
        uow.leads.update(removed)
        with pytest.raises(ConcurrencyError):
            uow.leads.update(attrs.evolve(lead, version=2))
        settled = attrs.evolve(offer, status=OfferStatus.EXPIRED, settled_at=NOW, version=2)
        uow.offers.update(settled)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.leads.open_for_contacts(TEAM, pool.id, [lead.contact_id]) == []
        assert uow.leads.open_with_keys(TEAM, pool.id, ["email:a@x.com"]) == []
        assert uow.offers.due(NOW + timedelta(days=1), 10) == []
        assert uow.offers.get(TEAM, offer.id) == settled


def test_cursor_is_compare_and_set(store: teamcrm.ports.Store) -> None:
    pid = new_pool_id()
    with store.unit_of_work() as uow:
        cursor = uow.routing_cursors.get(TEAM, pid)
        assert (cursor.position, cursor.version) == (0, 0)
        uow.routing_cursors.put(RoutingCursor(team_id=TEAM, pool_id=pid, position=2, version=1))
        with pytest.raises(ConcurrencyError):
            uow.routing_cursors.put(RoutingCursor(team_id=TEAM, pool_id=pid, position=3, version=1))
        uow.routing_cursors.put(RoutingCursor(team_id=TEAM, pool_id=pid, position=3, version=2))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.routing_cursors.get(TEAM, pid).position == 3
        assert uow.routing_cursors.get(OTHER, pid).version == 0


def test_inbound_buckets_and_rollback(store: teamcrm.ports.Store) -> None:
    row = InboundBucket(team_id=TEAM, member_id=MB, bucket_id=BucketId("bk_" + "7" * 26))
    with store.unit_of_work() as uow:
        uow.inbound_buckets.put(row)
        uow.leads.add_many([_lead(None, 9)])
        uow.rollback()
    with store.unit_of_work() as uow:
        assert uow.inbound_buckets.get(TEAM, MB) is None
        assert uow.leads.all(TEAM) == []
        uow.inbound_buckets.put(row)
        uow.inbound_buckets.put(attrs.evolve(row, bucket_id=BucketId("bk_" + "8" * 26)))
        uow.commit()
    with store.unit_of_work() as uow:
        found = uow.inbound_buckets.get(TEAM, MB)
        assert found is not None
        assert found.bucket_id == "bk_" + "8" * 26


def refuse_a_second_open_lead_alone(store: teamcrm.ports.Store) -> None:
    """A lone lead that would be a contact's second open lead in a pool is refused.

    Stores with a database guard (SQLite, PostgreSQL) insert a single lead
    with ``ON CONFLICT DO NOTHING`` instead of a savepoint: the refusal must
    still be ``AlreadyExists`` and leave the unit usable, so its other
    writes commit (PostgreSQL would abort the transaction on a failed
    statement).
    """
    pool = _pool()
    first = _lead(pool.id, 7)
    with store.unit_of_work() as uow:
        uow.lead_pools.add(pool)
        uow.leads.add_many([first])
        uow.commit()
    twin = _lead(pool.id, 7)  # a new id, same pool and contact, open
    later = _lead(pool.id, 8)
    with store.unit_of_work() as uow:
        with pytest.raises(AlreadyExists, match=twin.id):
            uow.leads.add_many([twin])
        uow.leads.add_many([later])  # the unit goes on
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.leads.all(TEAM, pool_id=pool.id) == [first, later]
        assert uow.leads.open_for_contacts(TEAM, pool.id, [first.contact_id]) == [first]
    closed = attrs.evolve(first, status=LeadStatus.REMOVED, version=2)
    with store.unit_of_work() as uow:  # once the first is closed the twin is welcome
        uow.leads.update(closed)
        uow.leads.add_many([twin])
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.leads.open_for_contacts(TEAM, pool.id, [first.contact_id]) == [twin]


def test_a_second_open_lead_alone_is_refused_and_the_unit_goes_on() -> None:
    store = teamcrm.open_store("sqlite://")
    try:
        refuse_a_second_open_lead_alone(store)
    finally:
        store.close()
