"""The built-in distribution methods: one :class:`~teamcrm.routing.RoutingStrategy` each.

``manual``, ``round_robin``, ``first_to_accept``, ``everyone``, ``weighted``,
``least_loaded`` and ``sequential_offer``; each is pure (context in, decision
out) and registered in :data:`teamcrm.routing.DEFAULT_STRATEGIES`.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Sequence
from datetime import datetime

from teamcrm.pool import DistributionMethod, check_window
from teamcrm.routing_decision import RoutingDecision, RoutingOutcome
from teamcrm.routing_strategy import (
    BY_CURSOR,
    MemberLoad,
    RoutingContext,
    StrategyTraits,
    _candidates,
    _explain,
    eligible_of,
)

__all__ = [
    "EveryoneStrategy",
    "FirstToAcceptStrategy",
    "LeastLoadedStrategy",
    "ManualStrategy",
    "RoundRobinStrategy",
    "SequentialOfferStrategy",
    "WeightedStrategy",
]


class ManualStrategy:
    """``manual``: the lead waits unassigned for an admin or manager."""

    method = DistributionMethod.MANUAL.value
    traits = BY_CURSOR

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        """Leave the lead waiting; list who could take it."""
        eligible, skipped = eligible_of(ctx)
        return _explain(ctx, self.method, RoutingOutcome.WAITING, eligible, skipped)


class RoundRobinStrategy:
    """``round_robin``: the next eligible member from the cursor, wrapping around.

    The cursor is an index into the pool's ordered member list: the search
    starts there, and after a choice the cursor moves just past the chosen
    member.  So, with a fixed set of eligible members, each gets one lead
    per turn and counts never differ by more than one.
    """

    method = DistributionMethod.ROUND_ROBIN.value
    traits = BY_CURSOR

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        """Choose one member and advance the cursor."""
        order = _candidates(ctx)
        eligible, skipped = eligible_of(ctx)
        size = len(order)
        before = ctx.cursor % size if size else 0
        if not eligible:
            return _explain(
                ctx,
                self.method,
                RoutingOutcome.NO_ELIGIBLE,
                eligible,
                skipped,
                cursor_before=before,
            )
        ok = frozenset(eligible)
        for step in range(size):
            index = (before + step) % size
            if order[index] in ok:
                return _explain(
                    ctx,
                    self.method,
                    RoutingOutcome.ASSIGNED,
                    eligible,
                    skipped,
                    cursor_before=before,
                    cursor_after=(index + 1) % size,
                    chosen=(order[index],),
                )
        raise AssertionError("unreachable: an eligible member is in the order")  # pragma: no cover


class FirstToAcceptStrategy:
    """``first_to_accept``: offer to every eligible member; the first to accept owns it."""

    method = DistributionMethod.FIRST_TO_ACCEPT.value
    traits = BY_CURSOR

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        """Offer the lead to everyone eligible for the offer window."""
        eligible, skipped = eligible_of(ctx)
        if not eligible:
            return _explain(ctx, self.method, RoutingOutcome.NO_ELIGIBLE, eligible, skipped)
        window = check_window("window", ctx.offer_window)
        return _explain(
            ctx,
            self.method,
            RoutingOutcome.OFFERED,
            eligible,
            skipped,
            offered=eligible,
            offer_expires_at=ctx.now + window,
        )


class EveryoneStrategy:
    """``everyone``: every eligible member is assigned the lead."""

    method = DistributionMethod.EVERYONE.value
    traits = BY_CURSOR

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        """Assign the lead to everyone eligible."""
        eligible, skipped = eligible_of(ctx)
        if not eligible:
            return _explain(ctx, self.method, RoutingOutcome.NO_ELIGIBLE, eligible, skipped)
        return _explain(
            ctx, self.method, RoutingOutcome.ASSIGNED, eligible, skipped, chosen=eligible
        )


def _next_in_cycle(
    order: Sequence[str], weights: Sequence[int], eligible: Collection[str], cursor: int
) -> tuple[int, int, int] | None:
    """Find the first eligible *slot* from *cursor* in the cycle of weighted slots.

    Member ``i`` of *order* owns ``weights[i]`` consecutive slots.  Returns
    (cycle length, chosen slot, member index), or ``None`` if nobody is eligible.
    """
    starts: list[int] = []
    total = 0
    for weight in weights:
        starts.append(total)
        total += weight
    if total == 0 or not eligible:
        return None
    before = cursor % total
    index = bisect.bisect_right(starts, before) - 1
    slot = before
    for _ in range(len(order) + 1):
        if order[index] in eligible and weights[index] > 0:
            return total, slot, index
        index = (index + 1) % len(order)
        slot = starts[index]
    return None  # pragma: no cover - an eligible member owns a slot


class WeightedStrategy:
    """``weighted``: a deterministic cycle honouring each member's integer weight.

    The pool's members, in order, own consecutive *slots* of a cycle: a
    member of weight 3 owns three slots in a row.  The stored cursor is a slot
    index; each lead goes to the owner of the first slot at or after the
    cursor whose owner is eligible, and the cursor moves just past that slot.
    So with weights 1 and 3, A gets one lead, then B three, repeating; with
    the eligible members fixed, *any* run of as many leads as their weights
    add up to gives each exactly its weight.  Ineligible members' slots are
    passed over (their share goes to the others while they are away or
    full).  A member joining or leaving changes the cycle; the cursor keeps
    its slot index, so only the pass in progress is shortened or lengthened.
    """

    method = DistributionMethod.WEIGHTED.value
    traits = BY_CURSOR

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        """Choose the owner of the next eligible slot and advance the cursor."""
        order = _candidates(ctx)
        eligible, skipped = eligible_of(ctx)
        weights = [ctx.pool.weight_of(m) for m in order]
        found = _next_in_cycle(order, weights, frozenset(eligible), ctx.cursor)
        shares = {m: ctx.pool.weight_of(m) for m in eligible}
        if found is None:
            total = sum(weights)
            return _explain(
                ctx,
                self.method,
                RoutingOutcome.NO_ELIGIBLE,
                eligible,
                skipped,
                cursor_before=ctx.cursor % total if total else 0,
                weights=shares,
            )
        total, slot, index = found
        return _explain(
            ctx,
            self.method,
            RoutingOutcome.ASSIGNED,
            eligible,
            skipped,
            cursor_before=ctx.cursor % total,
            cursor_after=(slot + 1) % total,
            chosen=(order[index],),
            weights=shares,
        )


class LeastLoadedStrategy:
    """``least_loaded``: the eligible member with the fewest open leads of the pool.

    Ties go to the member who received a lead of the pool longest ago (never
    counts as longest), then to the pool's order.
    """

    method = DistributionMethod.LEAST_LOADED.value
    traits = StrategyTraits(needs_loads=True, cacheable_by_cursor=False)

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        """Choose the least loaded eligible member."""
        eligible, skipped = eligible_of(ctx)
        empty = MemberLoad()
        loads = {m: ctx.loads.get(m, empty) for m in eligible}
        if not eligible:
            return _explain(ctx, self.method, RoutingOutcome.NO_ELIGIBLE, eligible, skipped)
        never = datetime.min.replace(tzinfo=ctx.now.tzinfo)
        chosen = min(
            range(len(eligible)),
            key=lambda i: (
                loads[eligible[i]].open_leads,
                loads[eligible[i]].last_assigned_at or never,
                i,
            ),
        )
        return _explain(
            ctx,
            self.method,
            RoutingOutcome.ASSIGNED,
            eligible,
            skipped,
            chosen=(eligible[chosen],),
            loads={m: load.open_leads for m, load in loads.items()},
        )


class SequentialOfferStrategy:
    """``sequential_offer``: offer to one eligible member at a time.

    The search starts at the cursor (for a new lead, the pool's cursor, so
    first offers rotate like round robin; for the next offer of a lead, just
    after the member offered last) and offers the lead to the first eligible
    member for the offer window.  Members who declined it or were already
    offered it are passed over (the service passes them in ``excluded``), so
    it never returns to a decliner; after the last one it is ``no_eligible``.
    """

    method = DistributionMethod.SEQUENTIAL_OFFER.value
    traits = StrategyTraits(needs_loads=False, cacheable_by_cursor=True, offers_in_turn=True)

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        """Offer the lead to the next eligible member from the cursor."""
        order = _candidates(ctx)
        eligible, skipped = eligible_of(ctx)
        found = _next_in_cycle(order, [1] * len(order), frozenset(eligible), ctx.cursor)
        if found is None:
            size = len(order)
            return _explain(
                ctx,
                self.method,
                RoutingOutcome.NO_ELIGIBLE,
                eligible,
                skipped,
                cursor_before=ctx.cursor % size if size else 0,
            )
        size, slot, index = found
        window = check_window("window", ctx.offer_window)
        return _explain(
            ctx,
            self.method,
            RoutingOutcome.OFFERED,
            eligible,
            skipped,
            cursor_before=ctx.cursor % size,
            cursor_after=(slot + 1) % size,
            offered=(order[index],),
            offer_expires_at=ctx.now + window,
        )
