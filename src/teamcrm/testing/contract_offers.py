"""Contracts of offers, routing cursors and the agent grid"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.errors import ConcurrencyError, NotFound
from teamcrm.lead import (
    Lead,
    LeadStatus,
    Offer,
    OfferStatus,
    RoutingCursor,
)
from teamcrm.ports import Store, UnitOfWork
from teamcrm.testing import strategies as tst
from teamcrm.testing.contract_base import (
    at,
    bump,
    call,
    contract_settings,
    fresh,
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
    new_offer,
    new_pool,
    race,
    seed_routing,
)
from teamcrm.views import worst_grid_facts


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
