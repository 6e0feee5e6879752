"""Each routing strategy declares its traits; the router trusts them and nothing else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import teamcrm
from teamcrm.routing import (
    BY_CURSOR,
    DEFAULT_TRAITS,
    RoutingContext,
    RoutingDecision,
    StrategyTraits,
    register_strategy,
    strategy_for,
    traits_for,
)


class _Counting:
    """Gives every lead to the first pool member; counts calls and what it was given."""

    def __init__(self, method: str, traits: StrategyTraits | None) -> None:
        self.method = method
        if traits is not None:
            self.traits = traits
        self.calls: list[RoutingContext] = []

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        self.calls.append(ctx)
        return strategy_for("round_robin").decide(ctx)


@pytest.fixture
def plug() -> Iterator[list[str]]:
    """Register strategies under fresh names and forget them afterwards."""
    names: list[str] = []
    yield names
    from teamcrm import routing

    for name in names:
        routing.DEFAULT_STRATEGIES._own.pop(name, None)


def _route_five(method: str) -> None:
    crm = teamcrm.open("memory://")
    _, admin = crm.create_team("Traits", admin_name="Ana")
    ana = crm.as_member(admin.id)
    agents = [ana.add_member(f"A{i}", role="agent").id for i in range(2)]
    web = ana.create_bucket("Web")
    ana.create_pool("Web", source_bucket_ids=[web.id], member_ids=agents, method=method)
    ana.create_contacts([{"first_name": f"C{i}"} for i in range(5)], bucket_id=web.id)
    assert len(ana.leads()) == 5


def test_built_in_strategies_declare_their_traits() -> None:
    assert traits_for("round_robin") == BY_CURSOR
    assert traits_for("least_loaded").needs_loads
    assert not traits_for("least_loaded").cacheable_by_cursor
    assert traits_for("sequential_offer").offers_in_turn
    assert not any(traits_for(m).offers_in_turn for m in ("round_robin", "first_to_accept"))


def test_a_strategy_without_traits_is_asked_for_every_lead_and_given_loads(
    plug: list[str],
) -> None:
    strategy = _Counting("plain_custom", None)
    register_strategy(strategy)
    plug.append("plain_custom")
    assert traits_for("plain_custom") == DEFAULT_TRAITS
    _route_five("plain_custom")
    assert len(strategy.calls) == 5  # nothing reused: it may depend on the contact
    assert all(c.contact is not None for c in strategy.calls)
    assert strategy.calls[-1].loads  # loads were read for it


def test_a_strategy_declaring_it_depends_on_the_cursor_is_reused_and_not_given_loads(
    plug: list[str],
) -> None:
    strategy = _Counting("cursor_custom", BY_CURSOR)
    register_strategy(strategy)
    plug.append("cursor_custom")
    _route_five("cursor_custom")
    # one decision per (cursor, full) state in the bulk call: two agents, two cursor positions
    assert len(strategy.calls) == 2
    assert all(not c.loads for c in strategy.calls)
