"""Routing strategies: pure decisions about who gets a lead, with their reasons.

Nothing here touches storage.  A strategy is given a :class:`RoutingContext`
(the pool, the team's members, the round-robin cursor read from the store and
the time) and returns a :class:`RoutingDecision` whose
:class:`RoutingExplanation` says which method ran, who was eligible, who was
skipped and why, where the cursor was before and after, and who was chosen
or offered the lead.  The service layer applies the decision in one unit of
work and stores the explanation with the lead.

Eligibility is one rule for every method: a candidate receives a lead only
if it is a member of the team, in the pool (when there is one), active, not
away, and not at its capacity for the pool.  When nobody is eligible the
decision is :attr:`RoutingOutcome.NO_ELIGIBLE` - never an exception.

New methods plug in through :class:`RoutingStrategy` and
:func:`register_strategy`.

This module holds the registry (:class:`StrategyRegistry`,
:data:`DEFAULT_STRATEGIES` and the process-wide functions) and re-exports the
rest from their rooms: :mod:`teamcrm.routing_decision` (the decision and its
explanation), :mod:`teamcrm.routing_strategy` (the context, eligibility, the
protocol and traits) and :mod:`teamcrm.routing_methods` (the built-in methods).
"""

from __future__ import annotations

from collections.abc import Iterable

from teamcrm.errors import ValidationError
from teamcrm.pool import DistributionMethod
from teamcrm.routing_decision import (
    RoutingDecision,
    RoutingExplanation,
    RoutingOutcome,
    Skipped,
    SkipReason,
)
from teamcrm.routing_methods import (
    EveryoneStrategy,
    FirstToAcceptStrategy,
    LeastLoadedStrategy,
    ManualStrategy,
    RoundRobinStrategy,
    SequentialOfferStrategy,
    WeightedStrategy,
)
from teamcrm.routing_methods import _next_in_cycle as _next_in_cycle
from teamcrm.routing_strategy import BY_CURSOR as BY_CURSOR
from teamcrm.routing_strategy import DEFAULT_TRAITS as DEFAULT_TRAITS
from teamcrm.routing_strategy import (
    MemberLoad,
    RoutingContext,
    RoutingStrategy,
    StrategyTraits,
    screen,
)
from teamcrm.routing_strategy import eligible_of as eligible_of
from teamcrm.validation import check_text

__all__ = [
    "DEFAULT_STRATEGIES",
    "EveryoneStrategy",
    "FirstToAcceptStrategy",
    "LeastLoadedStrategy",
    "ManualStrategy",
    "MemberLoad",
    "RoundRobinStrategy",
    "RoutingContext",
    "RoutingDecision",
    "RoutingExplanation",
    "RoutingOutcome",
    "RoutingStrategy",
    "SequentialOfferStrategy",
    "SkipReason",
    "Skipped",
    "StrategyRegistry",
    "StrategyTraits",
    "WeightedStrategy",
    "decide",
    "register_strategy",
    "screen",
    "strategy_for",
    "traits_for",
]


class StrategyRegistry:
    """Routing strategies by method name: what decides for a pool whose method is that name.

    Every :class:`~teamcrm.CRM` holds its own (``crm.strategies``), which
    starts from the process-wide defaults (:data:`DEFAULT_STRATEGIES`: the
    built-in methods and what :func:`register_strategy` added) and may add or
    replace strategies for that CRM alone::

        crm.strategies.register(TerritoryStrategy())

    A name this registry does not hold is looked up in its *parent*, so a
    strategy registered process-wide after the CRM was opened is still found.
    """

    def __init__(
        self,
        strategies: Iterable[RoutingStrategy] = (),
        *,
        parent: StrategyRegistry | None = None,
    ) -> None:
        self._own: dict[str, RoutingStrategy] = {}
        self.parent = parent
        for strategy in strategies:
            self.register(strategy)

    def register(self, strategy: RoutingStrategy) -> None:
        """Make *strategy* the one for pools whose method is ``strategy.method`` (here)."""
        if not isinstance(strategy, RoutingStrategy):
            raise ValidationError("strategy", strategy, "must have a method name and decide()")
        self._own[check_text("strategy.method", strategy.method, max_len=64)] = strategy

    def get(self, method: DistributionMethod | str) -> RoutingStrategy:
        """Return the strategy for *method* (``ValidationError`` if none)."""
        if isinstance(method, str):  # (a DistributionMethod is a str: it finds its value)
            registry: StrategyRegistry | None = self
            while registry is not None:
                found = registry._own.get(method)
                if found is not None:
                    return found
                registry = registry.parent
        raise ValidationError("method", method, "has no registered routing strategy")

    def traits(self, method: DistributionMethod | str) -> StrategyTraits:
        """The traits the strategy for *method* declares (defaults if it declares none)."""
        traits = getattr(self.get(method), "traits", None)
        return traits if isinstance(traits, StrategyTraits) else DEFAULT_TRAITS

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        """Run the strategy of the context's pool."""
        return self.get(ctx.pool.method).decide(ctx)

    def names(self) -> list[str]:
        """Every method name this registry (or a parent) has a strategy for, sorted."""
        names: set[str] = set()
        registry: StrategyRegistry | None = self
        while registry is not None:
            names.update(registry._own)
            registry = registry.parent
        return sorted(names)

    def __contains__(self, method: object) -> bool:
        try:
            self.get(method)  # type: ignore[arg-type]
        except ValidationError:
            return False
        return True


#: The process-wide defaults every CRM's registry falls back to: the
#: built-in methods, and what :func:`register_strategy` adds.
DEFAULT_STRATEGIES = StrategyRegistry(
    (
        ManualStrategy(),
        RoundRobinStrategy(),
        FirstToAcceptStrategy(),
        EveryoneStrategy(),
        WeightedStrategy(),
        LeastLoadedStrategy(),
        SequentialOfferStrategy(),
    )
)


def register_strategy(strategy: RoutingStrategy) -> None:
    """Make *strategy* the one for pools whose method is ``strategy.method``, process-wide.

    Every CRM (opened before or after) finds it unless its own registry
    (``crm.strategies``) holds a strategy of the same name; to add one to a
    single CRM use ``crm.strategies.register(strategy)``.
    """
    DEFAULT_STRATEGIES.register(strategy)


def strategy_for(method: DistributionMethod | str) -> RoutingStrategy:
    """Return the process-wide strategy for *method* (``ValidationError`` if none)."""
    return DEFAULT_STRATEGIES.get(method)


def traits_for(method: DistributionMethod | str) -> StrategyTraits:
    """The traits the process-wide strategy for *method* declares (defaults if none)."""
    return DEFAULT_STRATEGIES.traits(method)


def decide(ctx: RoutingContext) -> RoutingDecision:
    """Run the process-wide strategy of the context's pool."""
    return DEFAULT_STRATEGIES.decide(ctx)
