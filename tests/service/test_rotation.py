"""Round robin and weighted rotation survive edits of the pool's member list (issue 14, part 3).

The cursor remembers the member served last (:mod:`teamcrm.rotation`): adding
a member in front, removing one who had their turn, or reordering neither
skips nor repeats anyone.  Scenario tests run through the service on
memory:// and sqlite://; the property tests drive the pure cycle with the
strategies' own slot search.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import attrs
from hypothesis import given
from hypothesis import strategies as st

import test_routing_service as base
from teamcrm.pool import LeadPool
from teamcrm.rotation import carry_cursor, cycle_weights
from teamcrm.routing import _next_in_cycle
from test_routing_methods import _owners, _route
from test_routing_service import World, _pool

crm = base.crm  # memory:// and sqlite://
w = base.w


# ------------------------------------------------------------ through the service
def test_removing_a_member_who_had_their_turn_skips_nobody(w: World) -> None:
    bob, cat, dan = w.bob.member_id, w.cat.member_id, w.dan.member_id
    pool = _pool(w, "round_robin", member_ids=[bob, cat, dan])
    _route(w, 2, "A")  # bob, cat
    w.ana.update_pool(pool.id, member_ids=[cat, dan])
    _route(w, 3, "B")
    assert _owners(w, pool.id) == [bob, cat, dan, cat, dan]


def test_adding_a_member_in_front_repeats_nobody(w: World) -> None:
    bob, cat, dan = w.bob.member_id, w.cat.member_id, w.dan.member_id
    pool = _pool(w, "round_robin", member_ids=[bob, cat])
    _route(w, 1, "A")  # bob
    w.ana.update_pool(pool.id, member_ids=[dan, bob, cat])
    _route(w, 4, "B")
    assert _owners(w, pool.id) == [bob, cat, dan, bob, cat]


def test_removing_the_member_whose_turn_is_next_passes_to_the_one_after(w: World) -> None:
    bob, cat, dan = w.bob.member_id, w.cat.member_id, w.dan.member_id
    pool = _pool(w, "round_robin", member_ids=[bob, cat, dan])
    _route(w, 1, "A")  # bob; cat is next
    w.ana.update_pool(pool.id, member_ids=[bob, dan])
    _route(w, 2, "B")
    assert _owners(w, pool.id) == [bob, dan, bob]


def test_reordering_continues_after_the_member_served_last(w: World) -> None:
    bob, cat, dan = w.bob.member_id, w.cat.member_id, w.dan.member_id
    pool = _pool(w, "round_robin", member_ids=[bob, cat, dan])
    _route(w, 2, "A")  # bob, cat
    w.ana.update_pool(pool.id, member_ids=[cat, bob, dan])
    _route(w, 3, "B")
    assert _owners(w, pool.id) == [bob, cat, bob, dan, cat]


def test_weighted_run_in_progress_finishes_after_an_edit(w: World) -> None:
    bob, cat, dan = w.bob.member_id, w.cat.member_id, w.dan.member_id
    pool = _pool(w, "weighted", member_ids=[bob, cat], weights={bob: 1, cat: 3})
    _route(w, 2, "A")  # bob, cat (cat has 2 of its 3 left)
    w.ana.update_pool(pool.id, member_ids=[dan, bob, cat])
    _route(w, 6, "B")
    assert _owners(w, pool.id) == [bob, cat, cat, cat, dan, bob, cat, cat]


# ------------------------------------------------------------ the pure cycle
T0 = datetime(2026, 1, 5, tzinfo=UTC)
TEAM = "tm_" + "0" * 26
BUCKET = "bk_" + "0" * 26
MEMBERS = ["mb_" + f"{i:026x}" for i in range(12)]


def _pool_of(order: list[str], weights: dict[str, int], method: str) -> LeadPool:
    return LeadPool(
        id="lp_" + "1" * 26,
        team_id=TEAM,
        name="P",
        created_at=T0,
        source_bucket_ids=(BUCKET,),
        member_ids=tuple(order),
        method=method,
        weights={m: weights[m] for m in order} if method == "weighted" else {},
    )


def _serve(pool: LeadPool, cursor: int) -> tuple[str, int]:
    """One lead with every member eligible, by the strategies' own slot search."""
    weights = cycle_weights(pool)
    assert weights is not None
    found = _next_in_cycle(pool.member_ids, weights, frozenset(pool.member_ids), cursor)
    assert found is not None
    total, slot, index = found
    return pool.member_ids[index], (slot + 1) % total


# An edit: insert a new member at a position, or remove the member at a position.
edits = st.lists(
    st.one_of(
        st.tuples(st.just("serve"), st.integers(1, 5)),
        st.tuples(st.just("add"), st.integers(0, 11)),
        st.tuples(st.just("remove"), st.integers(0, 11)),
    ),
    max_size=25,
)


def _run(method: str, start: int, steps: list[tuple[str, int]], weights: dict[str, int]) -> None:
    """Serve and edit as *steps* say; check that nobody is skipped or repeated.

    Between two serves of a member X (with someone else served in between, for
    weighted runs), everyone who was in the pool the whole time was served.
    """
    order = MEMBERS[:start]
    spare = MEMBERS[start:]
    pool = _pool_of(order, weights, method)
    cursor = 0
    served: Counter[str] = Counter()
    present_throughout = set(order)
    # For each member served so far: who was served since, and who stayed in the pool since.
    served_since: dict[str, set[str]] = {}
    stayed_since: dict[str, set[str]] = {}
    for kind, arg in steps:
        if kind == "serve":
            for _ in range(arg):
                member, cursor = _serve(pool, cursor)
                served[member] += 1
                if member in served_since and (served_since[member] or method == "round_robin"):
                    missed = stayed_since[member] - served_since[member] - {member}
                    assert not missed, f"{member} served again before {sorted(missed)}"
                served_since[member] = set()
                stayed_since[member] = set(order)
                for other, seen in served_since.items():
                    if other != member:
                        seen.add(member)
            continue
        new_order = list(order)
        if kind == "add" and spare:
            new_order.insert(arg % (len(order) + 1), spare.pop())
        elif kind == "remove" and len(order) > 1:
            gone = new_order.pop(arg % len(order))
            present_throughout.discard(gone)
            for stayed in stayed_since.values():
                stayed.discard(gone)
        else:
            continue
        new_pool = _pool_of(new_order, weights, method)
        moved = carry_cursor(pool, new_pool, cursor)
        assert moved is not None
        assert 0 <= moved < sum(cycle_weights(new_pool) or [1])
        pool, order, cursor = new_pool, new_order, moved
    # Members in the pool from start to end stay within one turn of each other
    # (per unit of weight).
    shares = [served[m] / weights.get(m, 1) for m in present_throughout]
    if shares:
        assert max(shares) - min(shares) <= 1, (served, shares)


@given(st.integers(1, 6), edits)
def test_round_robin_spread_stays_within_one_across_edits(start: int, steps: list) -> None:  # type: ignore[type-arg]
    _run("round_robin", start, steps, {})


@given(
    st.integers(1, 6),
    edits,
    st.lists(st.integers(1, 4), min_size=12, max_size=12),
)
def test_weighted_keeps_its_ratio_across_edits(start: int, steps: list, ws: list[int]) -> None:  # type: ignore[type-arg]
    weights = dict(zip(MEMBERS, ws, strict=True))
    _run("weighted", start, steps, weights)


def test_methods_without_a_cycle_leave_the_cursor_alone() -> None:
    a = _pool_of(MEMBERS[:3], {}, "least_loaded")
    assert cycle_weights(a) is None
    assert carry_cursor(a, attrs.evolve(a, member_ids=tuple(MEMBERS[1:3])), 2) is None


def test_an_emptied_pool_restarts_at_zero() -> None:
    a = _pool_of(MEMBERS[:3], {}, "round_robin")
    assert carry_cursor(a, attrs.evolve(a, member_ids=()), 2) == 0
