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
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import attrs

from teamcrm.contact import Contact
from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, MemberId
from teamcrm.pool import DistributionMethod, LeadPool, PoolId, check_window
from teamcrm.team import Member
from teamcrm.validation import Checker, FrozenDict, check_int, check_text, trusted

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


class SkipReason(enum.StrEnum):
    """Why a candidate was not given a lead."""

    #: the member is deactivated
    INACTIVE = "inactive"
    #: the member is marked away at the time of the decision
    AWAY = "away"
    #: the member is not (or no longer) in the lead's pool
    NOT_IN_POOL = "not_in_pool"
    #: no such member in the team
    NOT_IN_TEAM = "not_in_team"
    #: the member already declined this lead
    DECLINED = "declined"
    #: the member reached its cap on new leads of the pool (or opted out with 0)
    FULL = "full"
    #: a sequential offer already went to the member (it expired)
    ALREADY_OFFERED = "already_offered"
    #: the member let the pool's response window pass without a touch
    NO_RESPONSE = "no_response"


class RoutingOutcome(enum.StrEnum):
    """What a decision did to the lead."""

    #: one or more members own the lead
    ASSIGNED = "assigned"
    #: the lead is offered; the first to accept owns it
    OFFERED = "offered"
    #: a manual pool: the lead waits for an admin or manager
    WAITING = "waiting"
    #: nobody could take it: it waits unassigned and the fallback is told
    NO_ELIGIBLE = "no_eligible"
    #: taken back from its owner(s) (revoked, rejected, offers all closed)
    UNASSIGNED = "unassigned"
    #: removed from routing (the contact stays)
    REMOVED = "removed"


@attrs.frozen(kw_only=True)
class Skipped:
    """A candidate that was passed over, and why."""

    member_id: str
    reason: SkipReason

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.text("member_id", max_len=64)
        c.enum("reason", SkipReason)


@attrs.frozen(kw_only=True)
class RoutingExplanation:
    """Why a lead went where it went.

    :ivar method: the pool's distribution method, or the action
        (``"assign"``, ``"offer"``, ``"reassign"``...) for a person's decision.
    :ivar pool_id: the lead's pool, if any.
    :ivar actor_id: the member who decided, ``None`` when the pool routed it.
    :ivar eligible: the candidates who could take it, in order.
    :ivar skipped: the candidates passed over, with reasons.
    :ivar cursor_before: round-robin position read from the store (``None``
        for other methods).
    :ivar cursor_after: the position written back (``None`` if unchanged or
        not round robin).
    :ivar chosen: who owns the lead after the decision.
    :ivar offered: who was offered it.
    :ivar offer_expires_at: when those offers lapse.
    """

    method: str
    outcome: RoutingOutcome
    decided_at: datetime
    pool_id: PoolId | None = None
    actor_id: MemberId | None = None
    eligible: tuple[MemberId, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    cursor_before: int | None = None
    cursor_after: int | None = None
    chosen: tuple[MemberId, ...] = ()
    offered: tuple[MemberId, ...] = ()
    offer_expires_at: datetime | None = None
    note: str | None = None
    weights: Mapping[str, int] = attrs.field(factory=FrozenDict)
    loads: Mapping[str, int] = attrs.field(factory=FrozenDict)
    warnings: tuple[str, ...] = ()
    role: str | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.text("method", max_len=64)
        c.enum("outcome", RoutingOutcome)
        c.utc("decided_at")
        c.optional_ident("pool_id", PREFIXES["pool"])
        c.optional_ident("actor_id", PREFIXES["member"])
        c.ids("eligible", PREFIXES["member"])
        c.ids("chosen", PREFIXES["member"])
        c.ids("offered", PREFIXES["member"])
        skipped = c.sequence("skipped", self.skipped)
        for item in skipped:
            if not isinstance(item, Skipped):
                raise ValidationError("RoutingExplanation.skipped", item, "must be Skipped")
        object.__setattr__(self, "skipped", skipped)
        for attr in ("cursor_before", "cursor_after"):
            if getattr(self, attr) is not None:
                c.integer(attr)
        c.optional_utc("offer_expires_at")
        c.optional_text("note", max_len=2_000, multiline=True)
        for attr in ("weights", "loads"):
            value = getattr(self, attr)
            if type(value) is not FrozenDict:
                if not isinstance(value, Mapping):
                    raise ValidationError(f"RoutingExplanation.{attr}", value, "must be a mapping")
                object.__setattr__(
                    self,
                    attr,
                    FrozenDict({str(k): check_int(attr, v) for k, v in value.items()}),
                )
        warnings = c.sequence("warnings", self.warnings)
        for item in warnings:
            check_text("RoutingExplanation.warnings", item, max_len=200)
        object.__setattr__(self, "warnings", warnings)
        c.optional_text("role", max_len=64)

    def describe(self) -> str:
        """Return the explanation in words, one fact per line."""
        lines = [f"method: {self.method}", f"outcome: {self.outcome.value}"]
        if self.role is not None:
            lines.append(f"role: {self.role}")
        if self.pool_id is not None:
            lines.append(f"pool: {self.pool_id}")
        lines.append(f"decided by: {self.actor_id or 'the pool'} at {self.decided_at.isoformat()}")
        lines.append("eligible: " + (", ".join(self.eligible) or "nobody"))
        if self.skipped:
            lines.append(
                "skipped: " + ", ".join(f"{s.member_id} ({s.reason.value})" for s in self.skipped)
            )
        if self.cursor_before is not None:
            after = self.cursor_before if self.cursor_after is None else self.cursor_after
            lines.append(f"cursor: {self.cursor_before} -> {after}")
        if self.weights:
            lines.append("weights: " + ", ".join(f"{m}={w}" for m, w in self.weights.items()))
        if self.loads:
            lines.append("open leads: " + ", ".join(f"{m}={n}" for m, n in self.loads.items()))
        if self.chosen:
            lines.append("assigned to: " + ", ".join(self.chosen))
        if self.offered:
            expires = self.offer_expires_at.isoformat() if self.offer_expires_at else "-"
            lines.append("offered to: " + ", ".join(self.offered) + f" until {expires}")
        if self.note:
            lines.append(f"note: {self.note}")
        for warning in self.warnings:
            lines.append(f"warning: {warning}")
        return "\n".join(lines)


@attrs.frozen(kw_only=True)
class RoutingDecision:
    """A strategy's answer: what to do with the lead, and why.

    Everything is in :attr:`explanation`; the properties read it.
    """

    explanation: RoutingExplanation

    @property
    def outcome(self) -> RoutingOutcome:
        """What the decision does (see :class:`RoutingOutcome`)."""
        return self.explanation.outcome

    @property
    def assignee_ids(self) -> tuple[MemberId, ...]:
        """Who owns the lead after the decision."""
        return self.explanation.chosen

    @property
    def offer_member_ids(self) -> tuple[MemberId, ...]:
        """Who is offered the lead."""
        return self.explanation.offered

    @property
    def cursor_after(self) -> int | None:
        """The round-robin position to store (``None``: leave it)."""
        return self.explanation.cursor_after

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the decision did that deserves a second look (e.g. an away assignee)."""
        return self.explanation.warnings


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
        key = method.value if isinstance(method, DistributionMethod) else method
        registry: StrategyRegistry | None = self
        while registry is not None:
            found = registry._own.get(key) if isinstance(key, str) else None
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
