"""Lead pools (seed 003): where leads come from and who receives them.

A :class:`LeadPool` watches one or more *team* buckets (its sources).  A
contact placed in a source bucket of an active pool becomes a lead of the
pool and is routed at once to the pool's members by its
:class:`DistributionMethod`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, NewType

import attrs

from teamcrm.errors import ValidationError
from teamcrm.followup import Cadence
from teamcrm.ids import PREFIXES, BucketId, MemberId, TeamId, id_suffix
from teamcrm.validation import MAX_NAME, Checker, FrozenDict, check_int

__all__ = [
    "DEFAULT_OFFER_WINDOW",
    "MAX_OFFER_WINDOW",
    "MAX_POOL_MEMBERS",
    "MAX_WEIGHT",
    "Capacity",
    "DistributionMethod",
    "LeadPool",
    "MethodName",
    "PoolId",
    "StrategyName",
    "new_pool_id",
    "parse_method",
]

PoolId = NewType("PoolId", str)

#: How long an offer stays open unless the pool says otherwise.
DEFAULT_OFFER_WINDOW = timedelta(hours=1)
#: The longest offer window a pool may have.
MAX_OFFER_WINDOW = timedelta(days=30)
#: Most members (and most source buckets) one pool may have.
MAX_POOL_MEMBERS = 1_000
#: The largest weight a member may have in a ``weighted`` pool.
MAX_WEIGHT = 1_000
#: The largest cap (leads per day or per 30 days).
MAX_CAP = 1_000_000
_METHOD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def new_pool_id() -> PoolId:
    """Return a fresh, random pool id (``lp_…``)."""
    return PoolId(PREFIXES["pool"] + id_suffix())


class DistributionMethod(enum.StrEnum):
    """How a pool hands out its leads."""

    #: the lead waits unassigned until an admin or manager assigns it
    MANUAL = "manual"
    #: one eligible member at a time, in the pool's order, wrapping around
    ROUND_ROBIN = "round_robin"
    #: offered to every eligible member; the first to accept owns it
    FIRST_TO_ACCEPT = "first_to_accept"
    #: every eligible member is assigned
    EVERYONE = "everyone"
    #: a deterministic cycle: each member gets as many leads in a row as its weight
    WEIGHTED = "weighted"
    #: the eligible member with the fewest open leads of the pool
    LEAST_LOADED = "least_loaded"
    #: offered to one eligible member at a time; on decline or expiry the next
    SEQUENTIAL_OFFER = "sequential_offer"


#: The built-in methods as text, for type checkers (``method="round-robin"`` is an error).
MethodName = Literal[
    "manual",
    "round_robin",
    "first_to_accept",
    "everyone",
    "weighted",
    "least_loaded",
    "sequential_offer",
]
#: The name of a strategy an application registered (``teamcrm.register_strategy``):
#: ``create_pool(..., method=StrategyName("territory"))``.
StrategyName = NewType("StrategyName", str)


def parse_method(field: str, value: object) -> DistributionMethod | str:
    """Return a :class:`DistributionMethod`, or the name of a custom strategy.

    Custom names are lower-case identifiers (``territory``); whether a
    strategy is registered under the name is checked when a pool is created
    or edited (see :func:`teamcrm.routing.strategy_for`).
    """
    if isinstance(value, DistributionMethod):
        return value
    if isinstance(value, str):
        try:
            return DistributionMethod(value)
        except ValueError:
            if _METHOD_NAME.match(value):
                return value
    raise ValidationError(field, value, "must be a distribution method or a strategy name")


@attrs.frozen(kw_only=True)
class Capacity:
    """How many new leads a member may receive from one pool.

    :ivar per_day: at most this many per calendar day in the member's time
        zone (``None``: no daily cap).
    :ivar per_30_days: at most this many in any rolling 30 days (``None``: no cap).

    A cap of 0 opts the member out of the pool's leads altogether.
    """

    per_day: int | None = None
    per_30_days: int | None = None

    def __attrs_post_init__(self) -> None:
        for attr in ("per_day", "per_30_days"):
            value = getattr(self, attr)
            if value is not None:
                check_int(f"Capacity.{attr}", value, maximum=MAX_CAP)

    @property
    def opted_out(self) -> bool:
        """True when a cap of 0 keeps the member from every lead of the pool."""
        return self.per_day == 0 or self.per_30_days == 0

    @property
    def unlimited(self) -> bool:
        """True when neither cap is set."""
        return self.per_day is None and self.per_30_days is None


def _capacity(field: str, value: Any) -> Capacity:
    if isinstance(value, Capacity):
        return value
    if isinstance(value, Mapping) and set(value) <= {"per_day", "per_30_days"}:
        return Capacity(**value)
    raise ValidationError(field, value, "must be a Capacity (per_day, per_30_days)")


def _weights(field: str, value: Any) -> FrozenDict:
    if not isinstance(value, Mapping):
        raise ValidationError(field, value, "must map member ids to weights")
    out: dict[str, int] = {}
    for key, weight in value.items():
        if not isinstance(key, str) or not key.startswith(PREFIXES["member"]):
            raise ValidationError(field, key, "keys must be member ids")
        out[key] = check_int(f"{field}[{key!r}]", weight, minimum=1, maximum=MAX_WEIGHT)
    return FrozenDict(out)


def check_window(field: str, value: object) -> timedelta:
    """Return *value* if it is a positive ``timedelta`` of at most 30 days."""
    if not isinstance(value, timedelta):
        raise ValidationError(field, value, f"must be a timedelta, not {type(value).__name__}")
    if not timedelta(0) < value <= MAX_OFFER_WINDOW:
        raise ValidationError(field, value, "must be more than 0 and at most 30 days")
    return value


@attrs.frozen(kw_only=True)
class LeadPool:
    """A lead pool.

    :ivar active: an inactive pool routes nothing; its leads stay as they are.
    :ivar source_bucket_ids: the team buckets it takes leads from (at least one).
    :ivar member_ids: who receives its leads, in round-robin order.
    :ivar method: how leads are handed out.
    :ivar offer_window: how long an offer of this pool stays open.
    :ivar follow_up: optional cadence: the follow-up reminder of every
        assigned lead of the pool, for its current owner (see
        :mod:`teamcrm.pool_reminder`).
    :ivar fallback_member_id: told when nobody can take a lead (default: the
        team's admins).
    :ivar weights: ``weighted`` pools: each member's weight (default 1; 0
        gives the member no leads of this pool).
    :ivar capacity: the cap on new leads of this pool for every member
        (``None``: no cap).
    :ivar member_capacity: caps of single members, replacing :attr:`capacity`.
    :ivar response_window: when set, an assignee who logs no interaction
        with the contact within this time loses the lead to someone else
        (see ``enforce_response_windows``).
    :ivar dedupe: when true (the default) a contact whose email or phone
        matches an open lead of the pool joins that lead instead of becoming
        a new one.
    :ivar version: optimistic version, +1 on every change.
    """

    id: PoolId
    team_id: TeamId
    name: str
    created_at: datetime
    source_bucket_ids: tuple[BucketId, ...]
    member_ids: tuple[MemberId, ...] = ()
    method: DistributionMethod | str = DistributionMethod.MANUAL
    active: bool = True
    offer_window: timedelta = DEFAULT_OFFER_WINDOW
    follow_up: Cadence | None = None
    fallback_member_id: MemberId | None = None
    created_by: MemberId | None = None
    weights: Mapping[str, int] = attrs.field(factory=FrozenDict)
    capacity: Capacity | None = None
    member_capacity: Mapping[str, Capacity] = attrs.field(factory=FrozenDict)
    response_window: timedelta | None = None
    dedupe: bool = True
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["pool"])
        c.ident("team_id", PREFIXES["team"])
        c.text("name", max_len=MAX_NAME)
        c.utc("created_at")
        c.ids("source_bucket_ids", PREFIXES["bucket"], min_len=1, max_len=MAX_POOL_MEMBERS)
        c.ids("member_ids", PREFIXES["member"], max_len=MAX_POOL_MEMBERS)
        object.__setattr__(self, "method", parse_method("LeadPool.method", self.method))
        c.boolean("active")
        object.__setattr__(
            self, "offer_window", check_window("LeadPool.offer_window", self.offer_window)
        )
        if self.follow_up is not None:
            object.__setattr__(self, "follow_up", Cadence.parse(self.follow_up))
        c.optional_ident("fallback_member_id", PREFIXES["member"])
        c.optional_ident("created_by", PREFIXES["member"])
        if type(self.weights) is not FrozenDict:
            object.__setattr__(self, "weights", _weights("LeadPool.weights", self.weights))
        if self.capacity is not None:
            object.__setattr__(self, "capacity", _capacity("LeadPool.capacity", self.capacity))
        caps = self.member_capacity
        if not isinstance(caps, Mapping):
            raise ValidationError("LeadPool.member_capacity", caps, "must map member ids to caps")
        if type(caps) is not FrozenDict or not all(isinstance(v, Capacity) for v in caps.values()):
            out = {}
            for key, value in caps.items():
                if not isinstance(key, str) or not key.startswith(PREFIXES["member"]):
                    raise ValidationError(
                        "LeadPool.member_capacity", key, "keys must be member ids"
                    )
                out[key] = _capacity(f"LeadPool.member_capacity[{key!r}]", value)
            object.__setattr__(self, "member_capacity", FrozenDict(out))
        if self.response_window is not None:
            object.__setattr__(
                self,
                "response_window",
                check_window("LeadPool.response_window", self.response_window),
            )
        c.boolean("dedupe")
        c.integer("version", minimum=1)

    @property
    def method_name(self) -> str:
        """The method as a plain string (a :class:`DistributionMethod` value or a custom name)."""
        return str(
            self.method.value if isinstance(self.method, DistributionMethod) else self.method
        )

    def weight_of(self, member_id: str) -> int:
        """The member's weight in a ``weighted`` pool (default 1)."""
        return int(self.weights.get(member_id, 1))

    def capacity_of(self, member_id: str) -> Capacity | None:
        """The member's cap on new leads of this pool (``None``: unlimited)."""
        cap = self.member_capacity.get(member_id, self.capacity)
        return None if cap is None or cap.unlimited else cap

    def position_of(self, member_id: str) -> int | None:
        """Return the member's place in the pool's order, or ``None``."""
        try:
            return self.member_ids.index(MemberId(member_id))
        except ValueError:
            return None
