"""Buckets (Livespace: *groups*): named sets of contacts and companies.

A *team* bucket is shared: members see it through :class:`AccessGrant`\\ s,
or through the bucket's :class:`TeamAccess` when it is shared with the whole
team (seed 000: "give all team members access"; seed 004: groups "are shared
by all users"), which members who join later get too.  A team bucket that
``holds_all`` is seed 000's omni-bucket: every new contact of the team joins
it.  A *personal* bucket belongs to one member and nobody else ever sees it,
not even on a contact's shared record.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, BucketId, MemberId, TeamId
from teamcrm.validation import MAX_NAME, Checker, trusted_builder

__all__ = [
    "AccessGrant",
    "AccessLevel",
    "AccessLevelName",
    "Bucket",
    "BucketKind",
    "BucketMembership",
    "TeamAccess",
]


class BucketKind(enum.StrEnum):
    """Shared with the team, or private to its owner."""

    TEAM = "team"
    PERSONAL = "personal"


class AccessLevel(enum.StrEnum):
    """``viewer`` sees the bucket's contacts; ``editor`` also adds and removes them."""

    VIEWER = "viewer"
    EDITOR = "editor"


#: The access levels as text, for type checkers (``level="edtor"`` is an error).
AccessLevelName = Literal["viewer", "editor"]


@attrs.frozen(kw_only=True)
class AccessGrant:
    """A member's access to a team bucket.

    :ivar can_view_conversations: may read the interactions of the contacts in
        the bucket (independent of *level*).
    """

    member_id: MemberId
    level: AccessLevel = AccessLevel.VIEWER
    can_view_conversations: bool = False

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("member_id", PREFIXES["member"])
        c.enum("level", AccessLevel)
        c.boolean("can_view_conversations")


@attrs.frozen(kw_only=True)
class TeamAccess:
    """The access every member of the team has to a team bucket shared with the team.

    It is read when a member acts, so members added to the team later have
    it too.  A member who also has their own :class:`AccessGrant` gets the
    more generous of the two, field by field.
    """

    level: AccessLevel = AccessLevel.VIEWER
    can_view_conversations: bool = False

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.enum("level", AccessLevel)
        c.boolean("can_view_conversations")


#: Builds the grant a member has through a bucket's team access (checked values).
_grant = trusted_builder(AccessGrant)
#: Editor is more than viewer.
_LEVEL_RANK = {AccessLevel.VIEWER: 0, AccessLevel.EDITOR: 1}


@attrs.frozen(kw_only=True)
class Bucket:
    """A named set of contacts and/or companies.

    :ivar owner_id: the owner of a personal bucket; ``None`` for team buckets.
    :ivar grants: per-member access to a team bucket (none on personal ones),
        at most one per member.
    :ivar team_access: access every member of the team has (a team bucket
        shared with the whole team), or ``None``.
    :ivar holds_all: every new contact of the team joins this team bucket
        (seed 000's omni-bucket).
    """

    id: BucketId
    team_id: TeamId
    name: str
    kind: BucketKind
    created_at: datetime
    owner_id: MemberId | None = None
    grants: tuple[AccessGrant, ...] = ()
    created_by: MemberId | None = None
    version: int = 1
    team_access: TeamAccess | None = None
    holds_all: bool = False

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["bucket"])
        c.ident("team_id", PREFIXES["team"])
        c.text("name", max_len=MAX_NAME)
        c.enum("kind", BucketKind)
        c.utc("created_at")
        c.optional_ident("owner_id", PREFIXES["member"])
        c.optional_ident("created_by", PREFIXES["member"])
        c.integer("version", minimum=1)
        grants = c.sequence("grants", self.grants)
        seen: set[str] = set()
        for grant in grants:
            if not isinstance(grant, AccessGrant):
                raise ValidationError("Bucket.grants", grant, "must be an AccessGrant")
            if grant.member_id in seen:
                raise ValidationError("Bucket.grants", grant, "one grant per member")
            seen.add(grant.member_id)
        object.__setattr__(self, "grants", tuple(sorted(grants, key=lambda g: g.member_id)))
        if self.kind is BucketKind.PERSONAL:
            if self.owner_id is None:
                raise ValidationError("Bucket.owner_id", None, "a personal bucket needs an owner")
            if self.grants:
                raise ValidationError(
                    "Bucket.grants", self.grants, "a personal bucket cannot be shared"
                )
            if self.team_access is not None:
                raise ValidationError(
                    "Bucket.team_access", self.team_access, "a personal bucket cannot be shared"
                )
            if self.holds_all:
                raise ValidationError(
                    "Bucket.holds_all", True, "only a team bucket can hold every contact"
                )
        elif self.owner_id is not None:
            raise ValidationError("Bucket.owner_id", self.owner_id, "a team bucket has no owner")
        if self.team_access is not None and not isinstance(self.team_access, TeamAccess):
            raise ValidationError("Bucket.team_access", self.team_access, "must be a TeamAccess")
        c.boolean("holds_all")

    @property
    def is_personal(self) -> bool:
        """True for a personal bucket."""
        return self.kind is BucketKind.PERSONAL

    def grant_for(self, member_id: MemberId) -> AccessGrant | None:
        """Return the access *member_id* has to this bucket, or ``None``.

        That is the member's own grant, the bucket's :attr:`team_access`, or
        when both exist the more generous of the two, field by field.
        """
        own = None
        for grant in self.grants:
            if grant.member_id == member_id:
                own = grant
                break
        team = self.team_access
        if team is None:
            return own
        if own is None:
            return _grant(
                member_id=member_id,
                level=team.level,
                can_view_conversations=team.can_view_conversations,
            )
        level = own.level if _LEVEL_RANK[own.level] >= _LEVEL_RANK[team.level] else team.level
        conversations = own.can_view_conversations or team.can_view_conversations
        if level is own.level and conversations is own.can_view_conversations:
            return own
        return _grant(member_id=member_id, level=level, can_view_conversations=conversations)


@attrs.frozen(kw_only=True)
class BucketMembership:
    """A contact's (``ct_…``) or company's (``co_…``) place in a bucket.

    :ivar added_at: when it entered the bucket (the follow-up clock starts here).
    """

    team_id: TeamId
    bucket_id: BucketId
    item_id: str
    added_at: datetime
    added_by: MemberId | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("team_id", PREFIXES["team"])
        c.ident("bucket_id", PREFIXES["bucket"])
        if not isinstance(self.item_id, str) or not self.item_id.startswith(
            (PREFIXES["contact"], PREFIXES["company"])
        ):
            raise ValidationError(
                "BucketMembership.item_id", self.item_id, "must be a contact or company id"
            )
        c.ident("item_id", self.item_id[:3])
        c.utc("added_at")
        c.optional_ident("added_by", PREFIXES["member"])

    @property
    def is_contact(self) -> bool:
        """True when the item is a contact (not a company)."""
        return self.item_id.startswith(PREFIXES["contact"])
