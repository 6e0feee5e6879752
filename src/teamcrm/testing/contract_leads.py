"""Contracts of lead pools and leads"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.followup import Cadence
from teamcrm.ids import ContactId, MemberId, new_member_id
from teamcrm.lead import (
    Lead,
    LeadEntries,
    LeadStatus,
    RoutingCursor,
    new_lead_id,
)
from teamcrm.pool import MAX_POOL_MEMBERS, DistributionMethod, LeadPool, new_pool_id
from teamcrm.ports import Store, UnitOfWork
from teamcrm.team import Member, Role
from teamcrm.testing import strategies as tst
from teamcrm.testing.contract_base import (
    add_all,
    at,
    bump,
    call,
    contract_settings,
    fresh,
    new_contact,
    read,
    round_trip_settings,
    write,
)
from teamcrm.testing.contract_routing_base import (
    RoutingSeed,
    _all_or_none,
    _assigned,
    _RoutingBase,
    new_lead,
    new_pool,
    seed_routing,
)


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
