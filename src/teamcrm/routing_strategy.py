"""What a routing strategy is: the context it decides from, who is eligible, its traits.

:class:`RoutingContext` is everything a strategy may look at; :func:`screen`
is the one eligibility rule of every method; :class:`RoutingStrategy` is the
protocol a distribution method implements and :class:`StrategyTraits` what it
declares to the router.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import attrs

from teamcrm.contact import Contact
from teamcrm.ids import MemberId
from teamcrm.pool import LeadPool
from teamcrm.routing_decision import (
    RoutingDecision,
    RoutingExplanation,
    RoutingOutcome,
    Skipped,
    SkipReason,
)
from teamcrm.team import Member
from teamcrm.validation import FrozenDict, trusted

__all__ = [
    "BY_CURSOR",
    "DEFAULT_TRAITS",
    "MemberLoad",
    "RoutingContext",
    "RoutingStrategy",
    "StrategyTraits",
    "eligible_of",
    "screen",
]


@attrs.frozen(kw_only=True)
class MemberLoad:
    """A member's open leads of a pool and when it last received one.

    :ivar open_leads: leads of the pool the member owns now.
    :ivar last_assigned_at: when the member last received a lead of the pool.
    """

    open_leads: int = 0
    last_assigned_at: datetime | None = None


@attrs.frozen(kw_only=True)
class RoutingContext:
    """Everything a strategy may look at.

    :ivar members: the team's members by id.
    :ivar cursor: the pool's round-robin position, read in this unit of work.
    :ivar candidates: explicit candidates (a person's pick); ``None`` means the
        pool's members in the pool's order.
    :ivar excluded: members passed over with a fixed reason (e.g. they
        declined this lead already).
    :ivar window: offer window; default the pool's.
    :ivar full: members at their capacity for the pool (skipped as ``full``).
    :ivar loads: open leads per member (for ``least_loaded``).
    :ivar contact: the contact being routed, when known (custom strategies
        may route on its fields).
    """

    pool: LeadPool
    members: Mapping[str, Member]
    now: datetime
    cursor: int = 0
    candidates: tuple[MemberId, ...] | None = None
    excluded: Mapping[str, SkipReason] = attrs.field(factory=dict)
    window: timedelta | None = None
    actor_id: MemberId | None = None
    note: str | None = None
    full: Collection[str] = frozenset()
    loads: Mapping[str, MemberLoad] = attrs.field(factory=dict)
    contact: Contact | None = None

    @property
    def offer_window(self) -> timedelta:
        """The window of the offers this decision makes."""
        return self.pool.offer_window if self.window is None else self.window


def screen(
    candidates: Sequence[str],
    members: Mapping[str, Member],
    pool: LeadPool | None,
    now: datetime,
    excluded: Mapping[str, SkipReason] | None = None,
    full: Collection[str] = (),
    *,
    allow_away: bool = False,
) -> tuple[tuple[MemberId, ...], tuple[Skipped, ...]]:
    """Split *candidates* into the eligible (in order) and the skipped (with reasons).

    Reasons are checked in this order: *excluded* (e.g. declined), not in
    the team, not in the pool, inactive, away (unless *allow_away*), *full*.
    """
    eligible: list[MemberId] = []
    skipped: list[Skipped] = []
    in_pool = None if pool is None else frozenset(pool.member_ids)
    for member_id in dict.fromkeys(candidates):
        member = members.get(member_id)
        reason: SkipReason | None = None
        if excluded and member_id in excluded:
            reason = excluded[member_id]
        elif member is None:
            reason = SkipReason.NOT_IN_TEAM
        elif in_pool is not None and member_id not in in_pool:
            reason = SkipReason.NOT_IN_POOL
        elif not member.active:
            reason = SkipReason.INACTIVE
        elif not allow_away and member.is_away(now):
            reason = SkipReason.AWAY
        elif member_id in full:
            reason = SkipReason.FULL
        if reason is None:
            eligible.append(MemberId(member_id))
        else:
            skipped.append(Skipped(member_id=member_id, reason=reason))
    return tuple(eligible), tuple(skipped)


@runtime_checkable
class RoutingStrategy(Protocol):
    """A distribution method: turns a context into a decision (pure, no I/O)."""

    #: the :class:`DistributionMethod` value this strategy implements
    method: str

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        """Return the decision for one lead."""
        ...


@attrs.frozen
class StrategyTraits:
    """What the router may assume about a strategy (declared by the strategy as ``traits``).

    :ivar needs_loads: the decision reads ``ctx.loads`` (each member's open
        leads), so the router reads them before deciding.
    :ivar cacheable_by_cursor: the decision depends only on the pool, the
        cursor, who is full and the time (never on the contact or the loads),
        so within one call the router reuses it for every lead with the same
        cursor and the same full members.
    :ivar offers_in_turn: when an offer of the strategy closes (declined or
        expired) with no other offer open, the router asks the strategy again
        with the cursor after the member last offered and everyone offered
        before passed over (``sequential_offer``); otherwise the lead goes
        back to the pool unassigned.

    A strategy without ``traits`` gets the safe defaults: loads read, nothing
    reused, no offers in turn.
    """

    needs_loads: bool = True
    cacheable_by_cursor: bool = False
    offers_in_turn: bool = False


#: The traits of a strategy that declares none.
DEFAULT_TRAITS = StrategyTraits()
#: The traits of the built-in methods whose decision is a function of the cursor.
BY_CURSOR = StrategyTraits(needs_loads=False, cacheable_by_cursor=True)


def eligible_of(ctx: RoutingContext) -> tuple[tuple[MemberId, ...], tuple[Skipped, ...]]:
    """Screen the context's candidates (the pool's members unless given) with its exclusions."""
    return screen(_candidates(ctx), ctx.members, ctx.pool, ctx.now, ctx.excluded, ctx.full)


def _explain(
    ctx: RoutingContext,
    method: str,
    outcome: RoutingOutcome,
    eligible: tuple[MemberId, ...],
    skipped: tuple[Skipped, ...],
    **kwargs: Any,
) -> RoutingDecision:
    """The decision of a built-in strategy.

    Every value comes from checked entities (the pool, members, the context)
    or from :func:`screen`, so the explanation is built without checking
    again (it is the routing hot path); custom strategies build theirs with
    the checked constructor.
    """
    for key in ("weights", "loads"):
        if key in kwargs:
            kwargs[key] = FrozenDict(kwargs[key])
    return RoutingDecision(
        explanation=trusted(
            RoutingExplanation,
            method=method,
            outcome=outcome,
            decided_at=ctx.now,
            pool_id=ctx.pool.id,
            actor_id=ctx.actor_id,
            eligible=eligible,
            skipped=skipped,
            note=ctx.note,
            **kwargs,
        )
    )


def _candidates(ctx: RoutingContext) -> tuple[MemberId, ...]:
    return ctx.pool.member_ids if ctx.candidates is None else ctx.candidates
