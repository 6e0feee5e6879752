"""A routing decision and its explanation: the outcome, who was skipped and why.

A strategy returns a :class:`RoutingDecision`; its :class:`RoutingExplanation`
(stored with the lead) says which method ran, who was eligible, who was
skipped (:class:`Skipped`, with a :class:`SkipReason`), where the cursor was
before and after, and who was chosen or offered the lead.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, MemberId
from teamcrm.pool import PoolId
from teamcrm.validation import Checker, FrozenDict, check_int, check_text

__all__ = [
    "RoutingDecision",
    "RoutingExplanation",
    "RoutingOutcome",
    "SkipReason",
    "Skipped",
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
