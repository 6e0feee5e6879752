"""Leads, offers, the round-robin cursor, inbound buckets and dashboard rows.

A :class:`Lead` is one *entry* of a contact into routing: a contact placed in
a source bucket of an active pool becomes a lead of that pool (entry 1; if
its lead is later removed and it enters again, entry 2...).  A lead is
*open* while it is unassigned, offered or assigned.

Several assignees (the ``everyone`` method, or a multi-assignment) are one
lead with several ``assignee_ids``; the dashboard shows one row per
assignee.  Under ``round_robin``, ``first_to_accept`` and single
assignments a lead has at most one owner.

A *role* (seed 001: "buyer agent", "listing agent") is a named slot of the
team; holding a role on a contact is a lead without a pool whose ``role``
names the slot, assigned or offered like any lead.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal, NewType

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, BucketId, ContactId, MemberId, TeamId, id_suffix, id_suffixes
from teamcrm.pool import PoolId
from teamcrm.routing import RoutingExplanation
from teamcrm.validation import Checker, check_text

__all__ = [
    "MAX_LEAD_NOTE",
    "InboundBucket",
    "IntakeRecord",
    "Lead",
    "LeadEntries",
    "LeadId",
    "LeadRow",
    "LeadStatus",
    "LeadStatusName",
    "Offer",
    "OfferId",
    "OfferStatus",
    "RoleSlot",
    "RoutingCursor",
    "check_role",
    "new_lead_id",
    "new_lead_ids",
    "new_offer_id",
]

LeadId = NewType("LeadId", str)
OfferId = NewType("OfferId", str)

#: Longest note on an assignment, offer or update request (characters).
MAX_LEAD_NOTE = 2_000
#: Longest role name ("buyer agent").
MAX_ROLE = 64
#: Longest idempotency key of a lead intake (a form's submission id, a Message-ID).
MAX_INTAKE_KEY = 300


def check_role(field: str, value: object) -> str:
    """Return a role name: 1-64 characters on one line, surrounding spaces removed."""
    return check_text(field, value, max_len=MAX_ROLE)


def new_lead_id() -> LeadId:
    """Return a fresh, random lead id (``ld_…``)."""
    return LeadId(PREFIXES["lead"] + id_suffix())


def new_lead_ids(count: int) -> list[LeadId]:
    """Return *count* fresh lead ids, in increasing order (see :func:`~teamcrm.ids.id_suffixes`)."""
    prefix = PREFIXES["lead"]
    return [LeadId(prefix + suffix) for suffix in id_suffixes(count)]


def new_offer_id() -> OfferId:
    """Return a fresh, random offer id (``of_…``)."""
    return OfferId(PREFIXES["offer"] + id_suffix())


class LeadStatus(enum.StrEnum):
    """Where a lead is in routing."""

    UNASSIGNED = "unassigned"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    REMOVED = "removed"


#: The statuses as text, for type checkers.
LeadStatusName = Literal["unassigned", "offered", "assigned", "removed"]

#: The statuses of an *open* lead (one that counts as a duplicate).
OPEN_STATUSES = frozenset({LeadStatus.UNASSIGNED, LeadStatus.OFFERED, LeadStatus.ASSIGNED})


@attrs.frozen(kw_only=True)
class Lead:
    """A contact being routed.

    :ivar pool_id: the pool it came through (``None`` for a contact assigned
        directly by an admin or manager).
    :ivar assignee_ids: its owners (several only for ``everyone``).
    :ivar assigned_at: when its current owners got it.
    :ivar entry: 1 for the contact's first entry into the pool, 2 for the next...
    :ivar keys: the contact's normalised emails and phone numbers when it
        entered (an open lead with one of them is not duplicated).
    :ivar declined_by: members who declined or rejected it (never offered it again).
    :ivar explanation: the explanation of the last routing decision.
    :ivar role: the role slot this lead fills on the contact (``None`` for
        an ordinary lead); a role lead has no pool.
    :ivar respond_by: while set, the owner must log an interaction with the
        contact by then or the lead is reassigned (the pool's response window).
    """

    id: LeadId
    team_id: TeamId
    contact_id: ContactId
    created_at: datetime
    pool_id: PoolId | None = None
    status: LeadStatus = LeadStatus.UNASSIGNED
    assignee_ids: tuple[MemberId, ...] = ()
    assigned_at: datetime | None = None
    entry: int = 1
    keys: tuple[str, ...] = ()
    declined_by: tuple[MemberId, ...] = ()
    explanation: RoutingExplanation | None = None
    role: str | None = None
    respond_by: datetime | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["lead"])
        c.ident("team_id", PREFIXES["team"])
        c.ident("contact_id", PREFIXES["contact"])
        c.utc("created_at")
        c.optional_ident("pool_id", PREFIXES["pool"])
        c.enum("status", LeadStatus)
        c.ids("assignee_ids", PREFIXES["member"])
        c.optional_utc("assigned_at")
        c.integer("entry", minimum=1)
        keys = c.sequence("keys", self.keys)
        for key in keys:
            if not isinstance(key, str) or not 0 < len(key) <= 320:
                raise ValidationError("Lead.keys", key, "must be short non-empty strings")
        object.__setattr__(self, "keys", tuple(dict.fromkeys(keys)))
        c.ids("declined_by", PREFIXES["member"])
        if self.explanation is not None and not isinstance(self.explanation, RoutingExplanation):
            raise ValidationError(
                "Lead.explanation", self.explanation, "must be a RoutingExplanation"
            )
        if self.role is not None:
            object.__setattr__(self, "role", check_role("Lead.role", self.role))
            if self.pool_id is not None:
                raise ValidationError("Lead.role", self.role, "a role lead has no pool")
        c.optional_utc("respond_by")
        if self.respond_by is not None and self.status is not LeadStatus.ASSIGNED:
            raise ValidationError("Lead.respond_by", self.respond_by, "only an assigned lead")
        c.integer("version", minimum=1)
        assigned = self.status is LeadStatus.ASSIGNED
        if assigned != bool(self.assignee_ids):
            raise ValidationError(
                "Lead.assignee_ids", self.assignee_ids, "an assigned lead has owners, others none"
            )
        if assigned != (self.assigned_at is not None):
            raise ValidationError(
                "Lead.assigned_at", self.assigned_at, "is set exactly when the lead is assigned"
            )

    @property
    def is_open(self) -> bool:
        """True unless the lead was removed."""
        return self.status in OPEN_STATUSES

    @property
    def assignee_id(self) -> MemberId | None:
        """The (first) owner, or ``None``."""
        return self.assignee_ids[0] if self.assignee_ids else None


class OfferStatus(enum.StrEnum):
    """An offer is open until it is accepted, declined, expired or withdrawn."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


@attrs.frozen(kw_only=True)
class Offer:
    """A lead offered to one member until *expires_at*.

    :ivar offered_by: the member who offered it (``None`` when the pool did).
    :ivar settled_at: when it stopped being open.
    """

    id: OfferId
    team_id: TeamId
    lead_id: LeadId
    member_id: MemberId
    created_at: datetime
    expires_at: datetime
    status: OfferStatus = OfferStatus.OPEN
    settled_at: datetime | None = None
    offered_by: MemberId | None = None
    note: str | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["offer"])
        c.ident("team_id", PREFIXES["team"])
        c.ident("lead_id", PREFIXES["lead"])
        c.ident("member_id", PREFIXES["member"])
        c.utc("created_at")
        c.utc("expires_at")
        if self.expires_at <= self.created_at:
            raise ValidationError("Offer.expires_at", self.expires_at, "must be after created_at")
        c.enum("status", OfferStatus)
        c.optional_utc("settled_at")
        c.optional_ident("offered_by", PREFIXES["member"])
        c.optional_text("note", max_len=MAX_LEAD_NOTE, multiline=True)
        c.integer("version", minimum=1)
        if (self.status is OfferStatus.OPEN) != (self.settled_at is None):
            raise ValidationError(
                "Offer.settled_at", self.settled_at, "is set exactly when the offer is settled"
            )

    @property
    def is_open(self) -> bool:
        """True while nobody answered it and it was not withdrawn or expired."""
        return self.status is OfferStatus.OPEN

    def expired_at(self, at: datetime) -> bool:
        """True when the offer's window has passed at *at*."""
        return at >= self.expires_at


@attrs.frozen(kw_only=True)
class LeadEntries:
    """A contact's leads in one pool, as routing a new entry needs them.

    :ivar last_entry: the highest entry number of the contact's leads in the pool.
    :ivar has_open: whether one of them is open (the contact cannot enter again).
    """

    last_entry: int
    has_open: bool


@attrs.frozen(kw_only=True)
class RoutingCursor:
    """A round-robin pool's place in its member list, as stored.

    :ivar position: where the next search starts (index into the pool's members).
    :ivar version: 0 when never stored, +1 on every write.
    """

    team_id: TeamId
    pool_id: PoolId
    position: int = 0
    version: int = 0

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("team_id", PREFIXES["team"])
        c.ident("pool_id", PREFIXES["pool"])
        c.integer("position")
        c.integer("version")


@attrs.frozen(kw_only=True)
class InboundBucket:
    """The bucket a member receives routed leads into."""

    team_id: TeamId
    member_id: MemberId
    bucket_id: BucketId

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("team_id", PREFIXES["team"])
        c.ident("member_id", PREFIXES["member"])
        c.ident("bucket_id", PREFIXES["bucket"])


@attrs.frozen(kw_only=True)
class IntakeRecord:
    """A lead submission taken in once (:func:`teamcrm.intake`): its key and its contact.

    :ivar key: the caller's idempotency key (a form's submission id, an email's
        Message-ID), unique in the team.
    :ivar contact_id: the contact the submission created or joined.
    :ivar created: whether it created the contact (else it joined an existing one).
    """

    team_id: TeamId
    key: str
    contact_id: ContactId
    bucket_id: BucketId
    received_at: datetime
    created: bool
    received_by: MemberId | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("team_id", PREFIXES["team"])
        c.text("key", max_len=MAX_INTAKE_KEY)
        c.ident("contact_id", PREFIXES["contact"])
        c.ident("bucket_id", PREFIXES["bucket"])
        c.utc("received_at")
        c.boolean("created")
        c.optional_ident("received_by", PREFIXES["member"])


@attrs.frozen(kw_only=True)
class RoleSlot:
    """A named role of the team (``"buyer agent"``) that members hold on contacts."""

    team_id: TeamId
    name: str
    created_at: datetime
    created_by: MemberId | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("team_id", PREFIXES["team"])
        object.__setattr__(self, "name", check_role("RoleSlot.name", self.name))
        c.utc("created_at")
        c.optional_ident("created_by", PREFIXES["member"])


@attrs.frozen(kw_only=True)
class LeadRow:
    """One row of the routing dashboard (one per lead and assignee).

    :ivar assignee_id: ``None`` for a lead nobody owns.
    :ivar last_contacted_at: the assignee's newest interaction with the
        contact (``None`` if none, or no assignee).
    """

    lead_id: LeadId
    contact_id: ContactId
    contact_name: str
    pool_id: PoolId | None
    pool_name: str | None
    status: LeadStatus
    assignee_id: MemberId | None
    assignee_name: str | None
    assigned_at: datetime | None
    last_contacted_at: datetime | None
    created_at: datetime
    role: str | None = None
