"""Contract tests of the lead-routing ports: pools, leads, offers, cursors, inbound buckets.

Part of the public contract suite (see :mod:`teamcrm.testing.contract`, whose
:class:`~teamcrm.testing.contract.StoreContract` includes these classes):

* :class:`LeadPoolRepositoryContract` - round trips (every method, offer
  windows to the microsecond, cadences, a pool of
  :data:`~teamcrm.pool.MAX_POOL_MEMBERS` members), versions, deletes (with
  the pool's cursor, never its leads), order;
* :class:`LeadRepositoryContract` - round trips (with routing explanations),
  all-or-none inserts, versions, the open-lead lookups (by contact, by key,
  entry numbers), order;
* :class:`OfferRepositoryContract` - round trips, all-or-none inserts,
  versions (of racing acceptances exactly one wins), order, the expiry queue;
* :class:`RoutingCursorRepositoryContract` - a version-0 cursor until stored;
  a put with a stale or skipped version fails; one winner among racing threads;
* :class:`InboundBucketRepositoryContract` - set, replace, per member;
* :class:`RoutingIsolationContract` - another team's routing rows are never
  seen or changed, and a rolled-back unit leaves none of its routing writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.lead import (
    InboundBucket,
    IntakeRecord,
    OfferStatus,
    new_lead_id,
)
from teamcrm.ports import Store, UnitOfWork
from teamcrm.testing.contract_base import (
    at,
    bump,
    discard,
    new_contact,
    read,
    write,
)
from teamcrm.testing.contract_leads import LeadPoolRepositoryContract, LeadRepositoryContract
from teamcrm.testing.contract_offers import (
    AgentGridContract,
    OfferRepositoryContract,
    RoutingCursorRepositoryContract,
)
from teamcrm.testing.contract_routing_base import (
    RoutingSeed,
    _assigned,
    _fill_routing,
    _RoutingBase,
    _snapshot,
    new_lead,
    new_offer,
    new_pool,
    race,
    routing_snapshot,
    seed_routing,
)

__all__ = [
    "AgentGridContract",
    "InboundBucketRepositoryContract",
    "IntakeRepositoryContract",
    "LeadPoolRepositoryContract",
    "LeadRepositoryContract",
    "OfferRepositoryContract",
    "RoutingCursorRepositoryContract",
    "RoutingIsolationContract",
    "RoutingSeed",
    "new_lead",
    "new_offer",
    "new_pool",
    "race",
    "routing_snapshot",
    "seed_routing",
]


# ====================================================================== pools


# ====================================================================== leads


# ===================================================================== offers


# ==================================================================== cursors


# ============================================================ inbound buckets


class IntakeRepositoryContract(_RoutingBase):
    """``uow.intake``: one record per (team, key); listed by key; moved with a merge."""

    def test_intake_keys_are_unique_per_team_and_move_with_a_merge(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        t = rs.team_id
        keep, gone = new_contact(rs.seed, 41), new_contact(rs.seed, 42)
        bucket = rs.pool.source_bucket_ids[0]

        def record(key: str, contact_id: Any) -> IntakeRecord:
            return IntakeRecord(
                team_id=t,
                key=key,
                contact_id=contact_id,
                bucket_id=bucket,
                received_at=at(60),
                created=True,
            )

        first = record(f"<{new_lead_id()}@mail>", gone.id)

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add(keep)
            uow.contacts.add(gone)
            uow.intake.add(first)

        write(store, fill)
        assert read(store, lambda uow: uow.intake.get(t, first.key)) == first
        assert read(store, lambda uow: uow.intake.get(t, "never used")) is None
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.intake.add(record(first.key, keep.id)))
        write(store, lambda uow: uow.intake.move_contact(t, [gone.id], keep.id))
        moved = attrs.evolve(first, contact_id=keep.id)
        assert read(store, lambda uow: uow.intake.get(t, first.key)) == moved
        listed = read(store, lambda uow: uow.intake.all(t))
        assert moved in listed
        assert listed == sorted(listed, key=lambda r: r.key)


class InboundBucketRepositoryContract(_RoutingBase):
    """``uow.inbound_buckets``: one per member; set and replace."""

    def test_inbound_buckets_are_set_and_replaced_per_member(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        t, (admin, agent) = rs.team_id, rs.people
        b0, b1 = rs.buckets
        assert read(store, lambda uow: uow.inbound_buckets.get(t, agent)) is None
        mine = InboundBucket(team_id=t, member_id=agent, bucket_id=b0.id)
        theirs = InboundBucket(team_id=t, member_id=admin, bucket_id=b0.id)

        def fill(uow: UnitOfWork) -> None:
            uow.inbound_buckets.put(mine)
            uow.inbound_buckets.put(theirs)

        write(store, fill)
        assert read(store, lambda uow: uow.inbound_buckets.get(t, agent)) == mine
        moved = attrs.evolve(mine, bucket_id=b1.id)
        write(store, lambda uow: uow.inbound_buckets.put(moved))
        assert read(store, lambda uow: uow.inbound_buckets.get(t, agent)) == moved
        assert read(store, lambda uow: uow.inbound_buckets.get(t, admin)) == theirs

    def test_inbound_row_is_read_with_its_bucket(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        t, (admin, agent) = rs.team_id, rs.people
        b0 = rs.buckets[0]
        assert read(store, lambda uow: uow.inbound_buckets.get_with_bucket(t, agent)) == (
            None,
            None,
        )
        mine = InboundBucket(team_id=t, member_id=agent, bucket_id=b0.id)
        write(store, lambda uow: uow.inbound_buckets.put(mine))
        stored = read(store, lambda uow: uow.buckets.get(t, b0.id))
        got = read(store, lambda uow: uow.inbound_buckets.get_with_bucket(t, agent))
        assert got == (mine, stored)
        assert read(store, lambda uow: uow.inbound_buckets.get_with_bucket(t, admin)) == (
            None,
            None,
        )

    def test_claiming_keeps_the_first_inbound_bucket(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        t, (admin, agent) = rs.team_id, rs.people
        b0, b1 = rs.buckets
        first = InboundBucket(team_id=t, member_id=agent, bucket_id=b0.id)
        second = attrs.evolve(first, bucket_id=b1.id)
        assert write(store, lambda uow: uow.inbound_buckets.claim(first)) == first
        assert write(store, lambda uow: uow.inbound_buckets.claim(second)) == first
        assert read(store, lambda uow: uow.inbound_buckets.get(t, agent)) == first
        assert read(store, lambda uow: uow.inbound_buckets.get(t, admin)) is None

        def both(uow: UnitOfWork) -> InboundBucket:  # within one unit too
            mine = InboundBucket(team_id=t, member_id=admin, bucket_id=b1.id)
            uow.inbound_buckets.claim(mine)
            return uow.inbound_buckets.claim(attrs.evolve(mine, bucket_id=b0.id))

        assert write(store, both).bucket_id == b1.id

    def test_deleting_a_bucket_drops_the_inbound_choices_naming_it(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        t, (admin, agent) = rs.team_id, rs.people
        b0, b1 = rs.buckets

        def choose(uow: UnitOfWork) -> None:
            uow.inbound_buckets.put(InboundBucket(team_id=t, member_id=agent, bucket_id=b0.id))
            uow.inbound_buckets.put(InboundBucket(team_id=t, member_id=admin, bucket_id=b1.id))

        write(store, choose)
        write(store, lambda uow: uow.buckets.delete(t, b0.id, b0.version))
        assert read(store, lambda uow: uow.inbound_buckets.get(t, agent)) is None
        assert read(store, lambda uow: uow.inbound_buckets.get(t, admin)) == InboundBucket(
            team_id=t, member_id=admin, bucket_id=b1.id
        )


# ================================================================ isolation


class RoutingIsolationContract(_RoutingBase):
    """Team isolation and rollback across every routing port."""

    def test_another_teams_routing_rows_are_never_seen_or_changed(self, store: Store) -> None:
        a = seed_routing(store, "A")
        b = seed_routing(store, "B")
        lead_b, offer_b = _fill_routing(store, b)
        before = _snapshot(store, b)
        t, m = a.team_id, b.seed.agent.id

        def listings(uow: UnitOfWork) -> list[Any]:
            return [
                *uow.lead_pools.all(t),
                *uow.lead_pools.for_buckets(t, [bk.id for bk in b.buckets]),
                *uow.leads.all(t),
                *uow.leads.all(t, pool_id=b.pool.id),
                *uow.leads.for_contact(t, b.seed.contact.id),
                *uow.leads.open_for_contacts(t, b.pool.id, b.contact_ids),
                *uow.leads.open_with_keys(t, b.pool.id, ["bea@example.com"]),
                *uow.offers.for_lead(t, lead_b.id),
                *uow.offers.for_member(t, m),
            ]

        rows = read(store, listings)
        assert all(r.team_id == t for r in rows)
        assert read(store, lambda uow: uow.leads.entries(t, b.pool.id, b.contact_ids)) == {}
        assert read(store, lambda uow: uow.inbound_buckets.get(t, m)) is None
        for lookup in (
            lambda uow: uow.lead_pools.get(t, b.pool.id),
            lambda uow: uow.leads.get(t, lead_b.id),
            lambda uow: uow.offers.get(t, offer_b.id),
        ):
            with pytest.raises(NotFound):
                read(store, lookup)
        attempts = [
            lambda uow: uow.lead_pools.update(bump(attrs.evolve(b.pool, team_id=t))),
            lambda uow: uow.lead_pools.delete(t, b.pool.id, 1),
            lambda uow: uow.leads.update(_assigned(attrs.evolve(lead_b, team_id=t), m)),
            lambda uow: uow.offers.update(
                bump(offer_b, team_id=t, status=OfferStatus.ACCEPTED, settled_at=at(90))
            ),
        ]
        for attempt in attempts:
            with pytest.raises((NotFound, ConcurrencyError)):
                write(store, attempt)
        write(
            store,
            lambda uow: uow.inbound_buckets.put(
                InboundBucket(team_id=t, member_id=m, bucket_id=a.buckets[0].id)
            ),
        )
        assert _snapshot(store, b) == before

    def test_a_rolled_back_unit_leaves_no_routing_change(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        lead, offer = _fill_routing(store, rs)
        before = _snapshot(store, rs)
        agent = rs.seed.agent.id

        def changes(uow: UnitOfWork) -> None:
            uow.lead_pools.add(new_pool(rs.seed, [rs.buckets[1]], 60))
            uow.lead_pools.update(bump(rs.pool, active=False))
            uow.leads.update(_assigned(lead, agent))
            uow.leads.add_many([new_lead(rs, rs.contacts[0].id, 61)])
            uow.offers.update(bump(offer, status=OfferStatus.ACCEPTED, settled_at=at(62)))
            uow.offers.add_many([new_offer(rs, lead, 63, member_id=rs.seed.admin.id)])
            cursor = uow.routing_cursors.get(rs.team_id, rs.pool.id)
            uow.routing_cursors.put(bump(cursor, position=1))
            uow.inbound_buckets.put(
                InboundBucket(team_id=rs.team_id, member_id=agent, bucket_id=rs.buckets[0].id)
            )

        discard(store, changes)
        assert _snapshot(store, rs) == before
        write(store, changes)  # and the same changes commit cleanly afterwards
        assert _snapshot(store, rs) != before
