"""Routing strategies live on each CRM (``crm.strategies``), over the process-wide defaults.

A strategy registered on one CRM decides for that CRM's pools only; another
CRM in the same process never sees it.  A process-wide registration
(``teamcrm.register_strategy``) is found by every CRM that does not hold a
strategy of the same name itself.  The routing reactions, the batch jobs and
pool validation all read the CRM's own registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import teamcrm
from teamcrm import ValidationError
from teamcrm.routing import (
    DEFAULT_STRATEGIES,
    RoutingContext,
    RoutingDecision,
    StrategyRegistry,
    StrategyTraits,
    register_strategy,
)
from teamcrm.service.routing import expire_due_offers

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class _FirstMember:
    """Offers or gives every lead to the first member of the pool; counts its calls."""

    traits: StrategyTraits

    def __init__(self, method: str, base: str = "round_robin") -> None:
        self.method = method
        self.base = base
        self.calls = 0

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        self.calls += 1
        return DEFAULT_STRATEGIES.get(self.base).decide(ctx)


@pytest.fixture
def forget() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        DEFAULT_STRATEGIES._own.pop(name, None)


def _team(crm: teamcrm.CRM) -> tuple[teamcrm.MemberSession, list[teamcrm.MemberId], str]:
    _, admin = crm.create_team("Strategies", admin_name="Ana")
    ana = crm.as_member(admin.id)
    agents = [ana.add_member(f"A{i}", role="agent").id for i in range(2)]
    return ana, agents, ana.create_bucket("Web").id


def test_a_strategy_registered_on_one_crm_is_not_seen_by_another() -> None:
    mine, other = teamcrm.open("memory://"), teamcrm.open("memory://")
    strategy = _FirstMember("only_mine")
    mine.strategies.register(strategy)
    ana, agents, web = _team(mine)
    ana.create_pool("Web", source_bucket_ids=[web], member_ids=agents, method="only_mine")
    ana.create_contacts([{"first_name": f"C{i}"} for i in range(3)], bucket_id=web)
    assert strategy.calls == 3  # the routing reaction decided with this CRM's strategy
    assert len(ana.leads()) == 3

    bob, bob_agents, bob_web = _team(other)
    with pytest.raises(ValidationError) as refused:
        bob.create_pool(
            "Web", source_bucket_ids=[bob_web], member_ids=bob_agents, method="only_mine"
        )
    assert refused.value.field == "method"
    assert "only_mine" not in other.strategies
    assert "only_mine" not in DEFAULT_STRATEGIES


def test_a_process_wide_strategy_is_found_by_crms_opened_before_and_after(
    forget: list[str],
) -> None:
    before = teamcrm.open("memory://")
    strategy = _FirstMember("everywhere")
    register_strategy(strategy)
    forget.append("everywhere")
    after = teamcrm.open("memory://")
    for crm in (before, after):
        assert crm.strategies.get("everywhere") is strategy
        assert "everywhere" in crm.strategies.names()


def test_a_crm_may_replace_a_built_in_method_for_itself() -> None:
    crm, plain = teamcrm.open("memory://"), teamcrm.open("memory://")
    strategy = _FirstMember("round_robin")
    crm.strategies.register(strategy)
    ana, agents, web = _team(crm)
    ana.create_pool("Web", source_bucket_ids=[web], member_ids=agents, method="round_robin")
    ana.create_contacts([{"first_name": "C"}], bucket_id=web)
    assert strategy.calls == 1
    assert plain.strategies.get("round_robin") is DEFAULT_STRATEGIES.get("round_robin")


def test_the_offer_expiry_job_decides_with_the_strategies_it_is_given() -> None:
    crm = teamcrm.open("memory://", clock=teamcrm.SettableClock(START))
    # A plugged-in strategy that declares offers_in_turn gets sequential_offer's
    # rule: on expiry the router asks it again for the next member.
    strategy = _FirstMember("my_offers", base="sequential_offer")
    strategy.traits = StrategyTraits(needs_loads=False, offers_in_turn=True)
    crm.strategies.register(strategy)
    ana, agents, web = _team(crm)
    ana.create_pool(
        "Web",
        source_bucket_ids=[web],
        member_ids=agents,
        method="my_offers",
        offer_window=timedelta(minutes=5),
    )
    ana.create_contacts([{"first_name": "C"}], bucket_id=web)
    assert strategy.calls == 1  # offered to the first member
    later = START + timedelta(hours=1)
    with pytest.raises(ValidationError):  # an empty registry cannot decide: it was asked
        expire_due_offers(crm.store, later, crm.reactions, StrategyRegistry())
    assert expire_due_offers(crm.store, later, crm.reactions, crm.strategies) == 1
    assert strategy.calls == 2  # the next member was offered the lead by this CRM's strategy


def test_an_unknown_method_names_field_and_value() -> None:
    registry = StrategyRegistry()
    with pytest.raises(ValidationError) as refused:
        registry.get("nobody")
    assert (refused.value.field, refused.value.value) == ("method", "nobody")
    with pytest.raises(ValidationError):
        registry.register(object())  # type: ignore[arg-type]
