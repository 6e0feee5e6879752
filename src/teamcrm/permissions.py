"""Who may do what: pure rules, no I/O.

The rules, in one place:

* Only **active** members act at all.
* **Admins** manage the team: settings, members, roles.
* Team buckets are created, renamed and deleted by everyone or by managers
  and admins only, as :attr:`TeamSettings.bucket_management` says; access to
  them is granted and revoked by the same people, who must also be managers,
  admins or editors of the bucket (a viewer cannot promote itself).
* A **team bucket** is seen by members with a grant, and by admins and
  managers; its contacts are added and removed by ``editor`` grants and by
  admins.  Its conversations are read only through a grant with
  ``can_view_conversations``.  A bucket shared with the whole team gives
  every member its ``team_access`` as a grant (the more generous of that and
  their own grant, field by field: :meth:`Bucket.grant_for`).
* A **personal bucket** is seen and changed by its owner only, never by
  anyone else (not even an admin), and never appears on a shared record.
* A **contact** (or company) is seen by admins and managers, by whoever
  created it, by members who can see a team bucket that holds it, and by the
  owner of a personal bucket that holds it.
* An **interaction** is read by its author and by members who can view
  conversations in a team bucket holding one of its contacts or companies
  *that its author can also see* (seed 003: after a reassignment "the new
  owner will be able to see conversations between the lead and the previous
  owner only if the lead is in a shared bucket that both new and previous
  owner have access to").  Read at call time: taking an active author's
  access to the bucket away takes their conversations out of what others
  read there.  A deactivated author's conversations stay with the team
  (readable through any bucket the reader may read conversations in).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from teamcrm.bucket import AccessLevel, Bucket, BucketKind, BucketMembership
from teamcrm.errors import PermissionDenied
from teamcrm.interaction import Interaction
from teamcrm.team import BucketManagement, Member, Role, TeamSettings

__all__ = [
    "can_edit_bucket",
    "can_manage_team_buckets",
    "can_read_interaction",
    "can_see_item",
    "can_share_bucket",
    "can_view_bucket",
    "can_view_conversations",
    "require",
    "require_active",
    "require_admin",
]


def require(allowed: bool, actor: Member, action: str, reason: str = "") -> None:
    """Raise :class:`PermissionDenied` unless *allowed*."""
    if not allowed:
        raise PermissionDenied(actor.id, action, reason)


def require_active(actor: Member) -> None:
    """Deactivated members may not act."""
    require(actor.active, actor, "act", "the member is deactivated")


def require_admin(actor: Member, action: str) -> None:
    """Only admins may do *action*."""
    require(actor.role is Role.ADMIN, actor, action, "admins only")


def can_manage_team_buckets(actor: Member, settings: TeamSettings) -> bool:
    """May *actor* create, rename, delete and share team buckets?"""
    if settings.bucket_management is BucketManagement.EVERYONE:
        return True
    return actor.role.is_manager


def can_view_bucket(actor: Member, bucket: Bucket) -> bool:
    """May *actor* see the bucket and its contacts?"""
    if bucket.kind is BucketKind.PERSONAL:
        return bucket.owner_id == actor.id
    return actor.role.is_manager or bucket.grant_for(actor.id) is not None


def can_edit_bucket(actor: Member, bucket: Bucket) -> bool:
    """May *actor* add contacts to and remove contacts from the bucket?"""
    if bucket.kind is BucketKind.PERSONAL:
        return bucket.owner_id == actor.id
    if actor.role is Role.ADMIN:
        return True
    grant = bucket.grant_for(actor.id)
    return grant is not None and grant.level is AccessLevel.EDITOR


def can_share_bucket(actor: Member, bucket: Bucket) -> bool:
    """May *actor* grant and revoke access to the team bucket (given they manage buckets)?

    Managers and admins may; otherwise only an editor of the bucket, so that a
    viewer cannot raise its own access.
    """
    if bucket.kind is BucketKind.PERSONAL:
        return False
    return actor.role.is_manager or can_edit_bucket(actor, bucket)


def can_view_conversations(actor: Member, bucket: Bucket) -> bool:
    """Does a grant on this team bucket let *actor* read its contacts' conversations?"""
    if bucket.kind is BucketKind.PERSONAL:
        return False
    grant = bucket.grant_for(actor.id)
    return grant is not None and grant.can_view_conversations


def can_see_item(
    actor: Member,
    created_by: str | None,
    memberships: Iterable[BucketMembership],
    buckets: Mapping[str, Bucket],
) -> bool:
    """May *actor* see a contact or company, given the buckets holding it?"""
    if actor.role.is_manager or created_by == actor.id:
        return True
    for m in memberships:
        bucket = buckets.get(m.bucket_id)
        if bucket is not None and can_view_bucket(actor, bucket):
            return True
    return False


def can_read_interaction(
    actor: Member,
    interaction: Interaction,
    memberships: Iterable[BucketMembership],
    buckets: Mapping[str, Bucket],
    authors: Mapping[str, Member],
) -> bool:
    """May *actor* read *interaction*?

    Its author may; anyone else needs a team bucket holding one of its
    contacts or companies in which they may view conversations *and* which
    the author can see (a bucket "both have access to", seed 003) — or the
    author is deactivated, whose history stays with the team.
    *memberships* must include the memberships of the interaction's contacts
    and companies (extra ones are ignored); *authors* maps member ids to
    members and must hold the author (an unknown author shares nothing).
    """
    if interaction.author_id == actor.id:
        return True
    author = authors.get(interaction.author_id)
    if author is None:
        return False
    targets = set(interaction.contact_ids) | set(interaction.company_ids)
    for m in memberships:
        if m.item_id not in targets:
            continue
        bucket = buckets.get(m.bucket_id)
        if (
            bucket is not None
            and can_view_conversations(actor, bucket)
            and (not author.active or can_view_bucket(author, bucket))
        ):
            return True
    return False
