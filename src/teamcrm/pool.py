"""Lead pools (seed 003): where leads come from and who receives them.

A :class:`LeadPool` watches one or more *team* buckets (its sources).  A
contact placed in a source bucket of an active pool becomes a lead of the
pool and is routed at once to the pool's members by its
:class:`DistributionMethod`.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta
from typing import NewType

import attrs

from teamcrm.errors import ValidationError
from teamcrm.followup import Cadence
from teamcrm.ids import BucketId, MemberId, TeamId
from teamcrm.validation import MAX_NAME, Checker

__all__ = [
    "DEFAULT_OFFER_WINDOW",
    "MAX_OFFER_WINDOW",
    "MAX_POOL_MEMBERS",
    "DistributionMethod",
    "LeadPool",
    "PoolId",
    "new_pool_id",
]

PoolId = NewType("PoolId", str)

#: How long an offer stays open unless the pool says otherwise.
DEFAULT_OFFER_WINDOW = timedelta(hours=1)
#: The longest offer window a pool may have.
MAX_OFFER_WINDOW = timedelta(days=30)
#: Most members (and most source buckets) one pool may have.
MAX_POOL_MEMBERS = 1_000


def new_pool_id() -> PoolId:
    """Return a fresh, random pool id (``lp_…``)."""
    return PoolId("lp_" + secrets.token_hex(13))


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
    :ivar follow_up: optional cadence: each assignee gets a follow-up task one
        cadence after assignment.
    :ivar fallback_member_id: told when nobody can take a lead (default: the
        team's admins).
    :ivar version: optimistic version, +1 on every change.
    """

    id: PoolId
    team_id: TeamId
    name: str
    created_at: datetime
    source_bucket_ids: tuple[BucketId, ...]
    member_ids: tuple[MemberId, ...] = ()
    method: DistributionMethod = DistributionMethod.MANUAL
    active: bool = True
    offer_window: timedelta = DEFAULT_OFFER_WINDOW
    follow_up: Cadence | None = None
    fallback_member_id: MemberId | None = None
    created_by: MemberId | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", "lp_")
        c.ident("team_id", "tm_")
        c.text("name", max_len=MAX_NAME)
        c.utc("created_at")
        c.ids("source_bucket_ids", "bk_", min_len=1, max_len=MAX_POOL_MEMBERS)
        c.ids("member_ids", "mb_", max_len=MAX_POOL_MEMBERS)
        c.enum("method", DistributionMethod)
        c.boolean("active")
        object.__setattr__(
            self, "offer_window", check_window("LeadPool.offer_window", self.offer_window)
        )
        if self.follow_up is not None:
            object.__setattr__(self, "follow_up", Cadence.parse(self.follow_up))
        c.optional_ident("fallback_member_id", "mb_")
        c.optional_ident("created_by", "mb_")
        c.integer("version", minimum=1)

    def position_of(self, member_id: str) -> int | None:
        """Return the member's place in the pool's order, or ``None``."""
        try:
            return self.member_ids.index(MemberId(member_id))
        except ValueError:
            return None
