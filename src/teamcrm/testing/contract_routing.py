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

import contextlib
import functools
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.bucket import Bucket
from teamcrm.contact import Contact
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.followup import Cadence
from teamcrm.ids import ContactId, MemberId, TeamId, new_member_id
from teamcrm.lead import (
    InboundBucket,
    IntakeRecord,
    Lead,
    LeadEntries,
    LeadStatus,
    Offer,
    OfferStatus,
    RoutingCursor,
    new_lead_id,
    new_offer_id,
)
from teamcrm.pool import MAX_POOL_MEMBERS, DistributionMethod, LeadPool, new_pool_id
from teamcrm.ports import Store, UnitOfWork
from teamcrm.routing import RoutingExplanation, RoutingOutcome, Skipped, SkipReason
from teamcrm.team import Member, Role
from teamcrm.testing import strategies as tst
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    add_all,
    at,
    bump,
    call,
    contract_settings,
    discard,
    fresh,
    new_bucket,
    new_contact,
    read,
    round_trip_settings,
    seed_team,
    write,
)
from teamcrm.views import worst_grid_facts

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


@attrs.frozen
class RoutingSeed:
    """A seeded team with two team buckets, a round-robin pool and three more contacts.

    ``pool``: round robin over the admin and the agent, fed by ``buckets[0]``.
    """

    seed: Seed
    buckets: tuple[Bucket, Bucket]
    pool: LeadPool
    contacts: tuple[Contact, ...]

    @property
    def team_id(self) -> TeamId:
        """The team's id."""
        return self.seed.team_id

    @property
    def people(self) -> list[MemberId]:
        """The admin's and the agent's ids."""
        return [self.seed.admin.id, self.seed.agent.id]

    @property
    def contact_ids(self) -> list[ContactId]:
        """The seed contact's id and the three others."""
        return [self.seed.contact.id, *(c.id for c in self.contacts)]


def new_pool(seed: Seed, buckets: list[Bucket], seconds: float = 10, **changes: Any) -> LeadPool:
    """Return an unsaved round-robin pool over the admin and the agent, fed by *buckets*."""
    fields: dict[str, Any] = {
        "id": new_pool_id(),
        "team_id": seed.team_id,
        "name": "Website leads",
        "created_at": at(seconds),
        "source_bucket_ids": tuple(b.id for b in buckets),
        "member_ids": (seed.admin.id, seed.agent.id),
        "method": DistributionMethod.ROUND_ROBIN,
        "created_by": seed.admin.id,
    }
    fields.update(changes)
    return LeadPool(**fields)


def new_lead(
    rs: RoutingSeed, contact_id: str, seconds: float = 20, *, pooled: bool = True, **changes: Any
) -> Lead:
    """Return an unsaved unassigned lead of *contact_id* in the pool (or in none)."""
    fields: dict[str, Any] = {
        "id": new_lead_id(),
        "team_id": rs.team_id,
        "contact_id": ContactId(contact_id),
        "created_at": at(seconds),
        "pool_id": rs.pool.id if pooled else None,
    }
    fields.update(changes)
    return Lead(**fields)


def new_offer(rs: RoutingSeed, lead: Lead, seconds: float = 30, **changes: Any) -> Offer:
    """Return an unsaved open offer of *lead* to the agent, open for an hour."""
    fields: dict[str, Any] = {
        "id": new_offer_id(),
        "team_id": rs.team_id,
        "lead_id": lead.id,
        "member_id": rs.seed.agent.id,
        "created_at": at(seconds),
        "expires_at": at(seconds) + timedelta(hours=1),
    }
    fields.update(changes)
    return Offer(**fields)


def _assigned(lead: Lead, *owners: MemberId, seconds: float = 40) -> Lead:
    """*lead*, version + 1, assigned to *owners* with an explanation."""
    explanation = RoutingExplanation(
        method="round_robin",
        outcome=RoutingOutcome.ASSIGNED,
        decided_at=at(seconds),
        pool_id=lead.pool_id,
        eligible=owners,
        skipped=(Skipped(member_id="mb_gone \u00e9", reason=SkipReason.NOT_IN_TEAM),),
        cursor_before=0,
        cursor_after=1,
        chosen=owners,
    )
    assigned: Lead = bump(
        lead,
        status=LeadStatus.ASSIGNED,
        assignee_ids=owners,
        assigned_at=at(seconds),
        explanation=explanation,
    )
    return assigned


def seed_routing(store: Store, name: str = "Acme") -> RoutingSeed:
    """Write a team with buckets, a pool and contacts (see :class:`RoutingSeed`)."""
    seed = seed_team(store, name)
    buckets = (new_bucket(seed, 5), new_bucket(seed, 6))
    pool = new_pool(seed, [buckets[0]], 7)
    contacts = tuple(new_contact(seed, 8 + i, first_name=f"L{i}") for i in range(3))

    def fill(uow: UnitOfWork) -> None:
        add_all(uow.buckets.add, buckets)
        uow.contacts.add_many(contacts)
        uow.lead_pools.add(pool)

    write(store, fill)
    return RoutingSeed(seed=seed, buckets=buckets, pool=pool, contacts=contacts)


def routing_snapshot(uow: UnitOfWork, rs: RoutingSeed) -> dict[str, Any]:
    """Everything the routing ports can list for *rs*'s team, as comparable data."""
    t = rs.team_id
    pools = uow.lead_pools.all(t)
    leads = uow.leads.all(t)
    return {
        "pools": pools,
        "leads": leads,
        "offers": [uow.offers.for_member(t, m) for m in rs.people],
        "offers_by_lead": [uow.offers.for_lead(t, lead.id) for lead in leads],
        "cursors": [uow.routing_cursors.get(t, p.id) for p in [rs.pool, *pools]],
        "inbound": [uow.inbound_buckets.get(t, m) for m in rs.people],
        "entries": uow.leads.entries(t, rs.pool.id, rs.contact_ids),
        "entry_states": uow.leads.entry_states(t, rs.pool.id, rs.contact_ids),
    }


def _snapshot(store: Store, rs: RoutingSeed) -> dict[str, Any]:
    return read(store, lambda uow: routing_snapshot(uow, rs))


def race(store: Store, workers: int, attempt: Callable[[int], Any]) -> list[str]:
    """Run ``attempt(n)`` in *workers* threads at once; return "won", "lost" or the error of each.

    ``ConcurrencyError`` counts as lost; any other exception is reported, not swallowed.
    """
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            attempt(n)
            result = "won"
        except ConcurrencyError:
            result = "lost"
        except Exception as exc:  # reported by the caller's assertion
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(outcomes)


class _RoutingBase(StoreContractBase):
    @pytest.fixture
    def routing_seed(self, store: Store) -> Callable[[], RoutingSeed]:
        """Returns a team with buckets, a pool and contacts, written to *store* on first call.

        Seeded lazily, in the test itself, so that an adapter failing to store
        the seed fails the test (which a known-failure mark can cover).
        """
        return functools.cache(lambda: seed_routing(store))


def _all_or_none(store: Store, add_many: Callable[[UnitOfWork], None]) -> None:
    """Run *add_many*, expect ``AlreadyExists``, then commit the unit anyway."""
    with store.unit_of_work() as uow:
        with pytest.raises(AlreadyExists):
            add_many(uow)
        uow.commit()  # even if the caller goes on and commits, nothing was added


# ====================================================================== pools


class LeadPoolRepositoryContract(_RoutingBase):
    """``uow.lead_pools``: round trips, versions, deletes, order."""

    @round_trip_settings
    @given(data=st.data())
    def test_pool_round_trips(
        self, store: Store, routing_seed: Callable[[], RoutingSeed], data: st.DataObject
    ) -> None:
        rs = routing_seed()
        people = rs.people
        pool = data.draw(
            tst.lead_pools(
                team_id=rs.team_id,
                source_bucket_ids=st.lists(
                    st.sampled_from([b.id for b in rs.buckets]), min_size=1, unique=True
                ).map(tuple),
                member_ids=st.lists(st.sampled_from(people), unique=True).map(tuple),
                fallback_member_id=st.sampled_from([None, *people]),
                created_by=st.sampled_from([None, *people]),
            )
        )
        pool = fresh(pool)
        write(store, lambda uow: uow.lead_pools.add(pool))

        def lookups(uow: UnitOfWork) -> tuple[Any, ...]:
            return (
                uow.lead_pools.get(rs.team_id, pool.id),
                uow.lead_pools.all(rs.team_id),
                uow.lead_pools.for_buckets(rs.team_id, pool.source_bucket_ids[-1:]),
            )

        got, everything, by_bucket = read(store, lookups)
        assert got == pool
        assert (got.offer_window, got.follow_up) == (pool.offer_window, pool.follow_up)
        assert pool in everything
        assert pool in by_bucket

    def test_a_pool_of_the_most_members_round_trips_in_order(self, store: Store) -> None:
        rs = seed_routing(store)
        extra = [
            Member(
                id=new_member_id(),
                team_id=rs.team_id,
                name=f"Agent {i} \u00e9",
                role=Role.AGENT,
                created_at=at(20),
            )
            for i in range(MAX_POOL_MEMBERS - 2)
        ]
        members = tuple(reversed([*rs.people, *(m.id for m in extra)]))
        pool = new_pool(rs.seed, list(rs.buckets), 30, member_ids=members)

        def fill(uow: UnitOfWork) -> None:
            add_all(uow.members.add, extra)
            uow.lead_pools.add(pool)

        write(store, fill)
        got = read(store, lambda uow: uow.lead_pools.get(rs.team_id, pool.id))
        assert got == pool
        assert got.member_ids == members

    def test_pool_duplicates_missing_and_versions(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.lead_pools.add(attrs.evolve(rs.pool, name="Twin")))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.lead_pools.get(rs.team_id, new_pool_id()))
        v2 = bump(
            rs.pool,
            name="Renamed \U0001f680",
            method=DistributionMethod.FIRST_TO_ACCEPT,
            active=False,
            offer_window=timedelta(days=2, microseconds=7),
            follow_up=Cadence.business_days(3),
            member_ids=(rs.seed.agent.id,),
            source_bucket_ids=(rs.buckets[1].id, rs.buckets[0].id),
            fallback_member_id=rs.seed.admin.id,
        )
        write(store, lambda uow: uow.lead_pools.update(v2))
        assert read(store, lambda uow: uow.lead_pools.get(rs.team_id, rs.pool.id)) == v2
        for bad in (bump(rs.pool, name="Stale"), v2, attrs.evolve(rs.pool, version=9)):
            with pytest.raises(ConcurrencyError):
                write(store, call("lead_pools", "update", bad))
        ghost = bump(new_pool(rs.seed, [rs.buckets[0]]))
        with pytest.raises((NotFound, ConcurrencyError)):
            write(store, lambda uow: uow.lead_pools.update(ghost))
        assert read(store, lambda uow: uow.lead_pools.get(rs.team_id, rs.pool.id)) == v2

    def test_deleting_a_pool_needs_its_version_drops_its_cursor_and_keeps_its_leads(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        lead = new_lead(rs, rs.seed.contact.id)
        cursor = RoutingCursor(team_id=rs.team_id, pool_id=rs.pool.id, position=1, version=1)

        def fill(uow: UnitOfWork) -> None:
            uow.leads.add_many([lead])
            uow.routing_cursors.put(cursor)

        write(store, fill)
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.lead_pools.delete(rs.team_id, rs.pool.id, 2))
        assert read(store, lambda uow: uow.routing_cursors.get(rs.team_id, rs.pool.id)) == cursor
        write(store, lambda uow: uow.lead_pools.delete(rs.team_id, rs.pool.id, 1))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.lead_pools.get(rs.team_id, rs.pool.id))
        with pytest.raises(NotFound):
            write(store, lambda uow: uow.lead_pools.delete(rs.team_id, rs.pool.id, 1))
        assert read(store, lambda uow: uow.routing_cursors.get(rs.team_id, rs.pool.id)) == (
            RoutingCursor(team_id=rs.team_id, pool_id=rs.pool.id)
        )
        assert read(store, lambda uow: uow.leads.get(rs.team_id, lead.id)) == lead

    @contract_settings
    @given(
        specs=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["a", "b", "ab"])), max_size=6)
    )
    def test_pools_are_listed_by_created_at_then_id(
        self, store: Store, specs: list[tuple[int, str]]
    ) -> None:
        rs = seed_routing(store)
        a, b = rs.buckets
        sources = {"a": [a], "b": [b], "ab": [a, b]}
        rows = [new_pool(rs.seed, sources[which], 100 + s) for s, which in specs]
        write(store, lambda uow: add_all(uow.lead_pools.add, rows))
        ordered = sorted([rs.pool, *rows], key=lambda p: (p.created_at, p.id))

        def listings(uow: UnitOfWork) -> tuple[list[LeadPool], ...]:
            repo = uow.lead_pools
            return (
                repo.all(rs.team_id),
                repo.for_buckets(rs.team_id, [b.id]),
                repo.for_buckets(rs.team_id, [a.id, b.id, a.id]),
                repo.for_buckets(rs.team_id, []),
            )

        everything, from_b, either, none = read(store, listings)
        assert everything == ordered
        assert from_b == [p for p in ordered if b.id in p.source_bucket_ids]
        assert either == ordered
        assert none == []


# ====================================================================== leads


class LeadRepositoryContract(_RoutingBase):
    """``uow.leads``: round trips, all-or-none inserts, versions, lookups, order."""

    def test_move_contact_gives_every_lead_to_the_survivor(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        keep, gone = new_contact(rs.seed, 31), new_contact(rs.seed, 32)
        t, pool = rs.team_id, rs.pool.id

        def lead(contact_id: Any, status: LeadStatus, entry: int) -> Lead:
            return Lead(
                id=new_lead_id(),
                team_id=t,
                contact_id=contact_id,
                created_at=at(40 + entry),
                pool_id=pool,
                status=status,
                entry=entry,
            )

        mine = lead(keep.id, LeadStatus.REMOVED, 1)
        theirs = [lead(gone.id, LeadStatus.REMOVED, 1), lead(gone.id, LeadStatus.UNASSIGNED, 2)]

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add(keep)
            uow.contacts.add(gone)
            uow.leads.add_many([mine, *theirs])

        write(store, fill)
        write(store, lambda uow: uow.leads.move_contact(t, [gone.id], keep.id))

        def lookups(uow: UnitOfWork) -> tuple[Any, ...]:
            repo = uow.leads
            return (
                repo.for_contact(t, keep.id),
                repo.for_contact(t, gone.id),
                repo.open_for_contacts(t, pool, [keep.id, gone.id]),
                repo.entries(t, pool, [keep.id, gone.id]),
            )

        moved, left, open_leads, entries = read(store, lookups)
        want = [mine, *(attrs.evolve(ld, contact_id=keep.id, version=2) for ld in theirs)]
        assert moved == want
        assert left == []
        assert open_leads == [want[2]]
        assert entries == {keep.id: 2}
        # A second open lead of the survivor in one pool is refused.
        other = new_contact(rs.seed, 33)

        def clash(uow: UnitOfWork) -> None:
            uow.contacts.add(other)
            uow.leads.add_many([lead(other.id, LeadStatus.UNASSIGNED, 1)])
            uow.leads.move_contact(t, [other.id], keep.id)

        with pytest.raises(AlreadyExists):
            write(store, clash)

    @round_trip_settings
    @given(data=st.data())
    def test_lead_round_trips(
        self, store: Store, routing_seed: Callable[[], RoutingSeed], data: st.DataObject
    ) -> None:
        rs = routing_seed()
        contact = new_contact(rs.seed, 30)
        lead = fresh(
            data.draw(
                tst.leads(
                    team_id=rs.team_id,
                    contact_id=contact.id,
                    pool_id=st.sampled_from([None, rs.pool.id]),
                    member_ids=st.sampled_from(rs.people),
                )
            )
        )

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add(contact)
            uow.leads.add_many([lead])

        write(store, fill)

        def lookups(uow: UnitOfWork) -> tuple[Any, ...]:
            repo = uow.leads
            return (
                repo.get(rs.team_id, lead.id),
                repo.for_contact(rs.team_id, contact.id),
                repo.all(rs.team_id, pool_id=lead.pool_id, status=lead.status),
                repo.open_for_contacts(rs.team_id, lead.pool_id, [contact.id]),
                repo.entries(rs.team_id, lead.pool_id, [contact.id]),
            )

        got, by_contact, listed, open_leads, entries = read(store, lookups)
        assert got == lead
        assert got.explanation == lead.explanation
        assert by_contact == [lead]
        assert lead in listed
        assert open_leads == ([lead] if lead.is_open else [])
        assert entries == {contact.id: lead.entry}

    @pytest.mark.parametrize("clash", ["stored", "in-batch", "alone"])
    def test_add_many_leads_is_all_or_nothing(
        self, store: Store, routing_seed: Callable[[], RoutingSeed], clash: str
    ) -> None:
        rs = routing_seed()
        stored = new_lead(rs, rs.seed.contact.id)
        write(store, lambda uow: uow.leads.add_many([stored]))
        batch = [new_lead(rs, c, pooled=False) for c in rs.contact_ids]
        dup = stored if clash != "in-batch" else batch[0]
        bad = [] if clash == "alone" else list(batch)  # "alone": a batch of one clashing lead
        bad.append(attrs.evolve(dup, status=LeadStatus.REMOVED))
        _all_or_none(store, lambda uow: uow.leads.add_many(bad))
        assert read(store, lambda uow: uow.leads.all(rs.team_id)) == [stored]
        write(store, lambda uow: uow.leads.add_many(batch))
        assert read(store, lambda uow: uow.leads.all(rs.team_id, pool_id=None)) == sorted(
            [stored, *batch], key=lambda ld: (ld.created_at, ld.id)
        )

    def test_lead_update_needs_the_previous_version(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        lead = new_lead(rs, rs.seed.contact.id, keys=("bea@example.com", "+48123456789"))
        write(store, lambda uow: uow.leads.add_many([lead]))
        v2 = _assigned(lead, rs.seed.agent.id, rs.seed.admin.id)
        write(store, lambda uow: uow.leads.update(v2))
        assert read(store, lambda uow: uow.leads.get(rs.team_id, lead.id)) == v2
        v3 = bump(
            v2,
            status=LeadStatus.UNASSIGNED,
            assignee_ids=(),
            assigned_at=None,
            declined_by=(rs.seed.agent.id,),
            explanation=None,
        )
        write(store, lambda uow: uow.leads.update(v3))
        assert read(store, lambda uow: uow.leads.get(rs.team_id, lead.id)) == v3
        for bad in (_assigned(lead, rs.seed.admin.id), v3, attrs.evolve(lead, version=7)):
            with pytest.raises(ConcurrencyError):
                write(store, call("leads", "update", bad))
        ghost = bump(new_lead(rs, rs.seed.contact.id))
        with pytest.raises((NotFound, ConcurrencyError)):
            write(store, lambda uow: uow.leads.update(ghost))
        assert read(store, lambda uow: uow.leads.get(rs.team_id, lead.id)) == v3

    def test_open_lead_lookups_by_contact_key_and_entry(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        c = rs.contact_ids
        other_pool = new_pool(rs.seed, [rs.buckets[1]], 11)
        first = new_lead(rs, c[0], 20, keys=("a@x.example", "+4811"), status=LeadStatus.REMOVED)
        second = new_lead(rs, c[0], 21, keys=("a@x.example",), entry=2)
        offered = new_lead(rs, c[1], 22, keys=("+4822",), status=LeadStatus.OFFERED, entry=4)
        elsewhere = new_lead(rs, c[2], 23, keys=("+4822",), pool_id=other_pool.id)
        no_pool = new_lead(rs, c[3], 24, keys=("+4822",), pooled=False, entry=9)

        def fill(uow: UnitOfWork) -> None:
            uow.lead_pools.add(other_pool)
            uow.leads.add_many([first, second, offered, elsewhere, no_pool])

        write(store, fill)
        assigned = _assigned(second, rs.seed.agent.id)
        write(store, lambda uow: uow.leads.update(assigned))
        removed = bump(offered, status=LeadStatus.REMOVED)
        t, p = rs.team_id, rs.pool.id

        def lookups(uow: UnitOfWork) -> dict[str, Any]:
            repo = uow.leads
            return {
                "open": repo.open_for_contacts(t, p, [*c, ContactId("ct_missing")]),
                "open_no_pool": repo.open_for_contacts(t, None, c),
                "by_a": repo.open_with_keys(t, p, ["a@x.example"]),
                "by_4811": repo.open_with_keys(t, p, ["+4811"]),
                "by_4822": repo.open_with_keys(t, p, ["+4822", "a@x.example", "nobody"]),
                "entries": repo.entries(t, p, c),
                "entries_no_pool": repo.entries(t, None, c),
                "none": repo.open_with_keys(t, p, []),
                "states": repo.entry_states(t, p, [*c, ContactId("ct_missing")]),
                "states_none": repo.entry_states(t, p, []),
            }

        got = read(store, lookups)

        def ids(rows: list[Lead]) -> list[str]:
            return sorted(ld.id for ld in rows)

        assert ids(got["open"]) == ids([assigned, offered])
        assert got["open_no_pool"] == [no_pool]
        assert got["by_a"] == [assigned]
        assert got["by_4811"] == []  # the lead that had it was removed
        assert ids(got["by_4822"]) == ids([assigned, offered])
        assert got["entries"] == {c[0]: 2, c[1]: 4}
        assert got["entries_no_pool"] == {c[3]: 9}
        assert got["none"] == []
        # entry_states says what entries and open_for_contacts say, in one read
        assert got["states"] == {
            c[0]: LeadEntries(last_entry=2, has_open=True),
            c[1]: LeadEntries(last_entry=4, has_open=True),
        }
        assert got["states_none"] == {}
        write(store, lambda uow: uow.leads.update(removed))
        after = read(store, lookups)
        assert after["open"] == [assigned]
        assert after["by_4822"] == [assigned]
        assert after["entries"] == {c[0]: 2, c[1]: 4}
        assert after["states"] == {
            c[0]: LeadEntries(last_entry=2, has_open=True),
            c[1]: LeadEntries(last_entry=4, has_open=False),
        }

    def test_owned_leads_are_the_members_assigned_leads_of_the_pools(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        """``owned``: assigned to the member now, in the pools asked for, by id."""
        rs = routing_seed()
        c = rs.contact_ids
        agent, admin = rs.seed.agent.id, rs.seed.admin.id
        other_pool = new_pool(rs.seed, [rs.buckets[1]], 11)
        mine = new_lead(rs, c[0], 20)
        shared = new_lead(rs, c[1], 21)
        theirs = new_lead(rs, c[2], 22)
        elsewhere = new_lead(rs, c[3], 23, pool_id=other_pool.id)

        def fill(uow: UnitOfWork) -> None:
            uow.lead_pools.add(other_pool)
            uow.leads.add_many([mine, shared, theirs, elsewhere])

        write(store, fill)
        updates = [
            _assigned(mine, agent),
            _assigned(shared, admin, agent),
            _assigned(theirs, admin),
            _assigned(elsewhere, agent),
        ]

        def update_all(uow: UnitOfWork) -> None:
            for ld in updates:
                uow.leads.update(ld)

        write(store, update_all)
        t, p = rs.team_id, rs.pool.id

        def owned(member: MemberId, pools: list[Any]) -> list[str]:
            return [ld.id for ld in read(store, lambda uow: uow.leads.owned(t, member, pools))]

        assert owned(agent, [p]) == sorted([mine.id, shared.id])
        assert owned(agent, [p, other_pool.id]) == sorted([mine.id, shared.id, elsewhere.id])
        assert owned(admin, [p]) == sorted([shared.id, theirs.id])
        assert owned(agent, []) == []
        # the lead moves from the agent to the admin: only the admin owns it now
        moved = bump(updates[0], assignee_ids=(admin,))
        write(store, lambda uow: uow.leads.update(moved))
        assert owned(agent, [p]) == [shared.id]
        assert owned(admin, [p]) == sorted([mine.id, shared.id, theirs.id])
        closed = bump(updates[1], status=LeadStatus.REMOVED, assignee_ids=(), assigned_at=None)
        write(store, lambda uow: uow.leads.update(closed))
        assert owned(agent, [p]) == []

    @contract_settings
    @given(
        specs=st.lists(
            st.tuples(
                st.integers(0, 3), st.integers(0, 3), st.booleans(), st.sampled_from(LeadStatus)
            ),
            min_size=1,
            max_size=8,
        )
    )
    def test_leads_are_listed_by_created_at_then_id(
        self, store: Store, specs: list[tuple[int, int, bool, LeadStatus]]
    ) -> None:
        rs = seed_routing(store)
        c = rs.contact_ids
        rows: list[Lead] = []
        for offset, ci, in_pool, status in specs:
            assigned = status is LeadStatus.ASSIGNED
            rows.append(
                new_lead(
                    rs,
                    c[ci],
                    100 + offset,
                    pooled=in_pool,
                    status=status,
                    assignee_ids=(rs.seed.agent.id,) if assigned else (),
                    assigned_at=at(200) if assigned else None,
                    # one open lead per (pool, contact): the others are removed
                    entry=len(rows) + 1,
                )
            )
        seen: set[tuple[bool, str]] = set()
        for i, lead in enumerate(rows):
            key = (lead.pool_id is None, lead.contact_id)
            if lead.is_open and key in seen:
                rows[i] = attrs.evolve(
                    lead, status=LeadStatus.REMOVED, assignee_ids=(), assigned_at=None
                )
            elif lead.is_open:
                seen.add(key)
        write(store, lambda uow: uow.leads.add_many(rows))
        ordered = sorted(rows, key=lambda ld: (ld.created_at, ld.id))

        def listings(uow: UnitOfWork) -> tuple[list[Lead], ...]:
            repo = uow.leads
            t = rs.team_id
            return (
                repo.all(t),
                repo.all(t, pool_id=rs.pool.id),
                *(repo.all(t, status=s) for s in LeadStatus),
                repo.all(t, pool_id=rs.pool.id, status=LeadStatus.REMOVED),
                repo.for_contact(t, c[0]),
            )

        everything, pooled, *by_status, pooled_removed, first_contact = read(store, listings)
        assert everything == ordered
        assert pooled == [ld for ld in ordered if ld.pool_id == rs.pool.id]
        for status, listed in zip(LeadStatus, by_status, strict=True):
            assert listed == [ld for ld in ordered if ld.status is status]
        assert pooled_removed == [
            ld for ld in ordered if ld.pool_id == rs.pool.id and ld.status is LeadStatus.REMOVED
        ]
        assert first_contact == [ld for ld in ordered if ld.contact_id == c[0]]


# ================================================================ agent grid
class AgentGridContract(_RoutingBase):
    """``views.grid_facts`` lists each open lead once per owner; ``grid_page`` ranks them."""

    def test_grid_page_is_the_reference_ranking_of_grid_facts(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        c = rs.contact_ids
        admin, agent = rs.seed.admin.id, rs.seed.agent.id
        leads = [
            _assigned(new_lead(rs, c[0], 20), agent, seconds=30),
            _assigned(new_lead(rs, c[1], 21), admin, agent, seconds=60),
            new_lead(rs, c[2], 22),
            _assigned(new_lead(rs, c[3], 23, pooled=False), agent, seconds=90),
            new_lead(rs, c[2], 24, pooled=False, status=LeadStatus.REMOVED),
        ]
        write(store, lambda uow: uow.leads.add_many(leads))

        def check(uow: UnitOfWork) -> None:
            t = rs.team_id
            first = uow.teams.get(t).settings.new_lead_status
            everything = uow.views.grid_facts(
                t, status=None, assignee_id=None, pool_id=None, now=at(100)
            )
            pairs = sorted((f.lead_id, f.assignee_id or "") for f in everything)
            owners = [agent, admin, agent, "", agent]  # lead 1 has two owners, lead 4 is closed
            assert pairs == sorted(zip([leads[i].id for i in (0, 1, 1, 2, 3)], owners, strict=True))
            filters: list[dict[str, Any]] = [
                {},
                {"pool_id": rs.pool.id},
                {"assignee_id": agent},
                {"status": first},
                {"status": "no such status"},
            ]
            for picked in filters:
                query = {"status": None, "assignee_id": None, "pool_id": None, **picked}
                for now in (at(100), at(100) + timedelta(days=3)):
                    facts = uow.views.grid_facts(t, now=now, **query)
                    for limit in (1, 2, 10):
                        for window in (timedelta(minutes=1), timedelta(days=1)):
                            want = worst_grid_facts(
                                facts, first_status=first, now=now, window=window, limit=limit
                            )
                            got = uow.views.grid_page(
                                t,
                                now=now,
                                window=window,
                                first_status=first,
                                limit=limit,
                                **query,
                            )
                            assert got == want, (picked, now, limit, window)

        read(store, check)


# ===================================================================== offers


class OfferRepositoryContract(_RoutingBase):
    """``uow.offers``: round trips, all-or-none inserts, versions, order, expiry queue."""

    @pytest.fixture
    def offered_lead(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> Callable[[], Lead]:
        """Returns an offered lead of the seed contact, written to *store* on first call."""

        def make() -> Lead:
            rs = routing_seed()
            lead = new_lead(rs, rs.seed.contact.id, status=LeadStatus.OFFERED)
            write(store, lambda uow: uow.leads.add_many([lead]))
            return lead

        return functools.cache(make)

    @round_trip_settings
    @given(data=st.data())
    def test_offer_round_trips(
        self,
        store: Store,
        routing_seed: Callable[[], RoutingSeed],
        offered_lead: Callable[[], Lead],
        data: st.DataObject,
    ) -> None:
        rs = routing_seed()
        lead = offered_lead()
        offer = fresh(
            data.draw(
                tst.offers(
                    team_id=rs.team_id,
                    lead_id=lead.id,
                    member_id=st.sampled_from(rs.people),
                    offered_by=st.sampled_from([None, *rs.people]),
                )
            )
        )
        write(store, lambda uow: uow.offers.add_many([offer]))

        def lookups(uow: UnitOfWork) -> tuple[Any, ...]:
            repo = uow.offers
            return (
                repo.get(rs.team_id, offer.id),
                repo.for_lead(rs.team_id, lead.id),
                repo.for_member(rs.team_id, offer.member_id, offer.status),
            )

        got, by_lead, by_member = read(store, lookups)
        assert got == offer
        assert offer in by_lead
        assert offer in by_member

    @pytest.mark.parametrize("clash", ["stored", "in-batch"])
    def test_add_many_offers_is_all_or_nothing(
        self,
        store: Store,
        routing_seed: Callable[[], RoutingSeed],
        offered_lead: Callable[[], Lead],
        clash: str,
    ) -> None:
        rs = routing_seed()
        lead = offered_lead()
        stored = new_offer(rs, lead)
        write(store, lambda uow: uow.offers.add_many([stored]))
        batch = [new_offer(rs, lead, 31, member_id=m) for m in rs.people]
        dup = stored if clash == "stored" else batch[0]
        _all_or_none(store, lambda uow: uow.offers.add_many([*batch, dup]))
        assert read(store, lambda uow: uow.offers.for_lead(rs.team_id, lead.id)) == [stored]
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.offers.get(rs.team_id, batch[0].id))

    def test_offer_update_needs_the_previous_version(
        self,
        store: Store,
        routing_seed: Callable[[], RoutingSeed],
        offered_lead: Callable[[], Lead],
    ) -> None:
        rs = routing_seed()
        lead = offered_lead()
        offer = new_offer(rs, lead, note="first come \u2014 first served")
        write(store, lambda uow: uow.offers.add_many([offer]))
        v2 = bump(
            offer,
            status=OfferStatus.ACCEPTED,
            settled_at=at(100),
            expires_at=at(5_000),
            note="taken",
        )
        write(store, lambda uow: uow.offers.update(v2))
        assert read(store, lambda uow: uow.offers.get(rs.team_id, offer.id)) == v2
        declined = bump(offer, status=OfferStatus.DECLINED, settled_at=at(101))
        for bad in (declined, v2, attrs.evolve(offer, version=4)):
            with pytest.raises(ConcurrencyError):
                write(store, call("offers", "update", bad))
        ghost = bump(new_offer(rs, lead))
        with pytest.raises((NotFound, ConcurrencyError)):
            write(store, lambda uow: uow.offers.update(ghost))
        assert read(store, lambda uow: uow.offers.get(rs.team_id, offer.id)) == v2

    def test_racing_acceptances_of_one_offer_have_one_winner(
        self,
        store: Store,
        routing_seed: Callable[[], RoutingSeed],
        offered_lead: Callable[[], Lead],
    ) -> None:
        rs = routing_seed()
        lead = offered_lead()
        offer = new_offer(rs, lead)
        write(store, lambda uow: uow.offers.add_many([offer]))
        seen = read(store, lambda uow: uow.offers.get(rs.team_id, offer.id))

        def accept(n: int) -> None:
            won = bump(seen, status=OfferStatus.ACCEPTED, settled_at=at(100 + n))
            write(store, lambda uow: uow.offers.update(won))

        workers = 6
        assert race(store, workers, accept) == ["lost"] * (workers - 1) + ["won"]
        got = read(store, lambda uow: uow.offers.get(rs.team_id, offer.id))
        assert (got.status, got.version) == (OfferStatus.ACCEPTED, 2)

    @contract_settings
    @given(
        specs=st.lists(
            st.tuples(st.integers(0, 3), st.booleans(), st.sampled_from(OfferStatus)),
            min_size=1,
            max_size=8,
        )
    )
    def test_offers_are_listed_by_created_at_then_id(
        self, store: Store, specs: list[tuple[int, bool, OfferStatus]]
    ) -> None:
        rs = seed_routing(store)
        leads = [new_lead(rs, c, pooled=False, status=LeadStatus.OFFERED) for c in rs.contact_ids]
        write(store, lambda uow: uow.leads.add_many(leads[:2]))
        rows = [
            new_offer(
                rs,
                leads[i % 2],
                100 + offset,
                member_id=rs.seed.admin.id if admin else rs.seed.agent.id,
                status=status,
                settled_at=None if status is OfferStatus.OPEN else at(300),
            )
            for i, (offset, admin, status) in enumerate(specs)
        ]
        write(store, lambda uow: uow.offers.add_many(rows))
        ordered = sorted(rows, key=lambda o: (o.created_at, o.id))
        agent = rs.seed.agent.id

        def listings(uow: UnitOfWork) -> tuple[list[Offer], ...]:
            repo = uow.offers
            return (
                repo.for_lead(rs.team_id, leads[0].id),
                repo.for_member(rs.team_id, agent),
                *(repo.for_member(rs.team_id, agent, s) for s in OfferStatus),
            )

        by_lead, mine, *by_status = read(store, listings)
        assert by_lead == [o for o in ordered if o.lead_id == leads[0].id]
        assert mine == [o for o in ordered if o.member_id == agent]
        for status, listed in zip(OfferStatus, by_status, strict=True):
            assert listed == [o for o in mine if o.status is status]

    def test_due_offers_are_open_expired_ones_of_every_team_by_expiry_then_id(
        self, store: Store
    ) -> None:
        teams = [seed_routing(store, "A"), seed_routing(store, "B")]
        rows: list[Offer] = []
        for rs in teams:
            lead = new_lead(rs, rs.seed.contact.id, status=LeadStatus.OFFERED)
            write(store, call("leads", "add_many", [lead]))
            rows += [
                new_offer(rs, lead, 0, expires_at=at(100)),
                new_offer(rs, lead, 0, expires_at=at(100)),
                new_offer(rs, lead, 0, expires_at=at(50)),
                new_offer(rs, lead, 0, expires_at=at(101)),
                new_offer(
                    rs, lead, 0, expires_at=at(60), status=OfferStatus.DECLINED, settled_at=at(10)
                ),
            ]
        write(store, lambda uow: uow.offers.add_many(rows))
        expired = sorted(
            (o for o in rows if o.is_open and o.expires_at <= at(100)),
            key=lambda o: (o.expires_at, o.id),
        )
        assert read(store, lambda uow: uow.offers.due(at(100), 100)) == expired
        assert read(store, lambda uow: uow.offers.due(at(100), 3)) == expired[:3]
        assert read(store, lambda uow: uow.offers.due(at(49), 100)) == []


# ==================================================================== cursors


class RoutingCursorRepositoryContract(_RoutingBase):
    """``uow.routing_cursors``: version-0 default; puts need the previous version."""

    @contract_settings
    @given(
        steps=st.lists(
            st.tuples(st.integers(0, 2**62), st.sampled_from([-1, 0, 1, 1, 2])),
            min_size=1,
            max_size=6,
        )
    )
    def test_a_put_succeeds_only_on_the_previous_version(
        self, store: Store, routing_seed: Callable[[], RoutingSeed], steps: list[tuple[int, int]]
    ) -> None:
        rs = routing_seed()
        pool = new_pool(rs.seed, [rs.buckets[0]], 50)
        write(store, lambda uow: uow.lead_pools.add(pool))
        stored = RoutingCursor(team_id=rs.team_id, pool_id=pool.id)
        assert read(store, lambda uow: uow.routing_cursors.get(rs.team_id, pool.id)) == stored
        for position, step in steps:
            version = stored.version + step
            if version < 0:
                continue
            cursor = RoutingCursor(
                team_id=rs.team_id, pool_id=pool.id, position=position, version=version
            )
            if step == 1:
                write(store, call("routing_cursors", "put", cursor))
                stored = cursor
            else:
                with pytest.raises(ConcurrencyError):
                    write(store, call("routing_cursors", "put", cursor))
            got = read(store, lambda uow: uow.routing_cursors.get(rs.team_id, pool.id))
            assert got == stored

    def test_racing_cursor_moves_have_one_winner(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        t, p = rs.team_id, rs.pool.id
        write(
            store,
            lambda uow: uow.routing_cursors.put(RoutingCursor(team_id=t, pool_id=p, version=1)),
        )
        seen = read(store, lambda uow: uow.routing_cursors.get(t, p))

        def move(n: int) -> None:
            moved = attrs.evolve(seen, position=n + 1, version=seen.version + 1)
            write(store, lambda uow: uow.routing_cursors.put(moved))

        workers = 6
        assert race(store, workers, move) == ["lost"] * (workers - 1) + ["won"]
        got = read(store, lambda uow: uow.routing_cursors.get(t, p))
        assert got.version == 2
        assert 1 <= got.position <= workers

    def test_racing_first_puts_have_one_winner(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        t, p = rs.team_id, rs.pool.id

        def first(n: int) -> None:
            cursor = RoutingCursor(team_id=t, pool_id=p, position=n, version=1)
            write(store, lambda uow: uow.routing_cursors.put(cursor))

        workers = 6
        assert race(store, workers, first) == ["lost"] * (workers - 1) + ["won"]
        assert read(store, lambda uow: uow.routing_cursors.get(t, p)).version == 1

    def test_another_teams_cursor_is_never_seen_or_changed(self, store: Store) -> None:
        a = seed_routing(store, "A")
        b = seed_routing(store, "B")
        theirs = RoutingCursor(team_id=b.team_id, pool_id=b.pool.id, position=5, version=1)
        write(store, lambda uow: uow.routing_cursors.put(theirs))
        assert read(store, lambda uow: uow.routing_cursors.get(a.team_id, b.pool.id)) == (
            RoutingCursor(team_id=a.team_id, pool_id=b.pool.id)
        )
        mine = RoutingCursor(team_id=a.team_id, pool_id=b.pool.id, position=9, version=1)
        # Refusing a cursor for another team's pool is fine too.
        with contextlib.suppress(NotFound, ConcurrencyError):
            write(store, lambda uow: uow.routing_cursors.put(mine))
        assert read(store, lambda uow: uow.routing_cursors.get(b.team_id, b.pool.id)) == theirs


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


def _fill_routing(store: Store, rs: RoutingSeed) -> tuple[Lead, Offer]:
    """Give *rs*'s team a row in every routing port; return its lead and offer."""
    lead = new_lead(rs, rs.seed.contact.id, keys=("bea@example.com",), status=LeadStatus.OFFERED)
    offer = new_offer(rs, lead)

    def fill(uow: UnitOfWork) -> None:
        uow.leads.add_many([lead])
        uow.offers.add_many([offer])
        uow.routing_cursors.put(RoutingCursor(team_id=rs.team_id, pool_id=rs.pool.id, version=1))
        uow.inbound_buckets.put(
            InboundBucket(
                team_id=rs.team_id, member_id=rs.seed.agent.id, bucket_id=rs.buckets[1].id
            )
        )

    write(store, fill)
    return lead, offer


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
