"""Buckets (Livespace: *groups*): named sets of contacts and companies.

A *team* bucket is shared: members see it through :class:`AccessGrant`\\ s.
A *personal* bucket belongs to one member and nobody else ever sees it, not
even on a contact's shared record.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import BucketId, MemberId, TeamId
from teamcrm.validation import MAX_NAME, Checker

__all__ = ["AccessGrant", "AccessLevel", "Bucket", "BucketKind", "BucketMembership"]


class BucketKind(enum.StrEnum):
    """Shared with the team, or private to its owner."""

    TEAM = "team"
    PERSONAL = "personal"


class AccessLevel(enum.StrEnum):
    """``viewer`` sees the bucket's contacts; ``editor`` also adds and removes them."""

    VIEWER = "viewer"
    EDITOR = "editor"


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
        c.ident("member_id", "mb_")
        c.enum("level", AccessLevel)
        c.boolean("can_view_conversations")


@attrs.frozen(kw_only=True)
class Bucket:
    """A named set of contacts and/or companies.

    :ivar owner_id: the owner of a personal bucket; ``None`` for team buckets.
    :ivar grants: per-member access to a team bucket (none on personal ones),
        at most one per member.
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

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", "bk_")
        c.ident("team_id", "tm_")
        c.text("name", max_len=MAX_NAME)
        c.enum("kind", BucketKind)
        c.utc("created_at")
        c.optional_ident("owner_id", "mb_")
        c.optional_ident("created_by", "mb_")
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
        elif self.owner_id is not None:
            raise ValidationError("Bucket.owner_id", self.owner_id, "a team bucket has no owner")

    @property
    def is_personal(self) -> bool:
        """True for a personal bucket."""
        return self.kind is BucketKind.PERSONAL

    def grant_for(self, member_id: MemberId) -> AccessGrant | None:
        """Return *member_id*'s grant on this bucket, or ``None``."""
        for grant in self.grants:
            if grant.member_id == member_id:
                return grant
        return None


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
        c.ident("team_id", "tm_")
        c.ident("bucket_id", "bk_")
        if not isinstance(self.item_id, str) or not self.item_id.startswith(("ct_", "co_")):
            raise ValidationError(
                "BucketMembership.item_id", self.item_id, "must be a contact or company id"
            )
        c.ident("item_id", self.item_id[:3])
        c.utc("added_at")
        c.optional_ident("added_by", "mb_")

    @property
    def is_contact(self) -> bool:
        """True when the item is a contact (not a company)."""
        return self.item_id.startswith("ct_")
