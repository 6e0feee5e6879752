"""Use cases for buckets and their access grants."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from teamcrm import permissions as perm
from teamcrm.bucket import (
    AccessGrant,
    AccessLevel,
    AccessLevelName,
    Bucket,
    BucketKind,
    BucketMembership,
    TeamAccess,
)
from teamcrm.contact import Contact
from teamcrm.errors import ValidationError
from teamcrm.events import EventName
from teamcrm.ids import (
    PREFIXES,
    BucketId,
    CompanyId,
    ContactId,
    MemberId,
    new_bucket_id,
)
from teamcrm.ports import UnitOfWork
from teamcrm.service.base import SessionBase, _bucket_ids, _item_ids, bumped
from teamcrm.team import Member
from teamcrm.validation import (
    check_id,
)

__all__ = ["BucketUseCases", "ItemIds"]

#: Contacts and/or companies, one id or several.
ItemIds = ContactId | CompanyId | Iterable[ContactId | CompanyId]


class BucketUseCases(SessionBase):
    """Bucket use cases: create, share, fill, list."""

    # ------------------------------------------------------------------ buckets
    def create_bucket(self, name: str, *, personal: bool = False) -> Bucket:
        """Create a team bucket (per the team's setting) or a personal one (anyone).

        The creator of a team bucket gets an editor grant with conversation
        rights on it.
        """
        if not isinstance(personal, bool):
            raise ValidationError("personal", personal, "must be True or False")
        with self._unit() as (uow, actor):
            now = self.crm.now()
            if personal:
                bucket = Bucket(
                    id=new_bucket_id(),
                    team_id=self.team_id,
                    name=name,
                    kind=BucketKind.PERSONAL,
                    owner_id=actor.id,
                    created_at=now,
                    created_by=actor.id,
                )
            else:
                team = uow.teams.get(self.team_id)
                perm.require(
                    perm.can_manage_team_buckets(actor, team.settings),
                    actor,
                    "create team buckets",
                    "the team lets only managers and admins manage buckets",
                )
                bucket = Bucket(
                    id=new_bucket_id(),
                    team_id=self.team_id,
                    name=name,
                    kind=BucketKind.TEAM,
                    grants=(
                        AccessGrant(
                            member_id=actor.id,
                            level=AccessLevel.EDITOR,
                            can_view_conversations=True,
                        ),
                    ),
                    created_at=now,
                    created_by=actor.id,
                )
            uow.buckets.add(bucket)
            uow.collect(
                self._event(
                    EventName.BUCKET_CREATED, bucket.id, now, kind=bucket.kind.value, name=name
                )
            )
            uow.commit()
            return bucket

    def _manageable_bucket(
        self, uow: UnitOfWork, actor: Member, bucket_id: str, action: str
    ) -> Bucket:
        bucket = self._bucket(uow, actor, bucket_id)
        if bucket.is_personal:
            return bucket  # visible means owned
        team = uow.teams.get(self.team_id)
        perm.require(
            perm.can_manage_team_buckets(actor, team.settings),
            actor,
            action,
            "the team lets only managers and admins manage buckets",
        )
        return bucket

    def _shareable_bucket(self, uow: UnitOfWork, actor: Member, bucket_id: str) -> Bucket:
        bucket = self._manageable_bucket(uow, actor, bucket_id, "share this bucket")
        if bucket.is_personal:
            return bucket  # the caller refuses to share it
        perm.require(
            perm.can_share_bucket(actor, bucket),
            actor,
            "share this bucket",
            "only its editors, managers and admins share a bucket",
        )
        return bucket

    def rename_bucket(self, bucket_id: BucketId, name: str) -> Bucket:
        """Rename a bucket."""
        with self._unit() as (uow, actor):
            bucket = self._manageable_bucket(uow, actor, bucket_id, "rename this bucket")
            updated: Bucket = bumped(bucket, name=name)
            uow.buckets.update(updated)
            uow.collect(
                self._event(EventName.BUCKET_RENAMED, bucket.id, self.crm.now(), name=updated.name)
            )
            uow.commit()
            return updated

    def delete_bucket(self, bucket_id: BucketId) -> None:
        """Delete a bucket; its contacts stay in the team.

        A bucket that feeds a lead pool (one of its sources) is refused with
        ``ValidationError`` naming the pools: take it out of their sources
        first, so no pool ever names a deleted bucket.  The unit holds the
        team (``teams.lock``) as pool edits that add a source do.
        """
        with self._unit() as (uow, actor):
            bucket = self._manageable_bucket(uow, actor, bucket_id, "delete this bucket")
            uow.teams.lock(self.team_id)
            feeding = uow.lead_pools.for_buckets(self.team_id, [bucket.id])
            if feeding:
                names = ", ".join(repr(p.name) for p in feeding)
                raise ValidationError(
                    "bucket_id",
                    bucket.id,
                    f"it is a source of lead pool(s) {names}: remove it from their sources first",
                )
            uow.buckets.delete(self.team_id, bucket.id, bucket.version)
            self._emit(
                uow,
                self._event(EventName.BUCKET_DELETED, bucket.id, self.crm.now()),
                subject=bucket,
            )
            uow.commit()

    def buckets(self) -> list[Bucket]:
        """Return the buckets the member may see (team ones and their own personal ones)."""
        with self._unit(write=False) as (uow, actor):
            return [b for b in uow.buckets.all(self.team_id) if perm.can_view_bucket(actor, b)]

    def bucket(self, bucket_id: BucketId) -> Bucket:
        """Return one bucket the member may see."""
        with self._unit(write=False) as (uow, actor):
            return self._bucket(uow, actor, bucket_id)

    def grant_access(
        self,
        bucket_id: BucketId,
        member_id: MemberId,
        *,
        level: AccessLevel | AccessLevelName = AccessLevel.VIEWER,
        can_view_conversations: bool = False,
    ) -> Bucket:
        """Grant (or change) a member's access to a team bucket."""
        check_id("member_id", member_id, PREFIXES["member"])
        with self._unit() as (uow, actor):
            bucket = self._shareable_bucket(uow, actor, bucket_id)
            if bucket.is_personal:
                raise ValidationError("bucket_id", bucket_id, "a personal bucket cannot be shared")
            member = self._member(uow, member_id)
            grant = AccessGrant(
                member_id=member.id,
                level=level,  # type: ignore[arg-type]
                can_view_conversations=can_view_conversations,
            )
            grants = (*(g for g in bucket.grants if g.member_id != member.id), grant)
            updated: Bucket = bumped(bucket, grants=grants)
            uow.buckets.update(updated)
            uow.collect(
                self._event(
                    EventName.BUCKET_ACCESS_GRANTED,
                    bucket.id,
                    self.crm.now(),
                    member_id=member.id,
                    level=grant.level.value,
                    can_view_conversations=grant.can_view_conversations,
                )
            )
            uow.commit()
            return updated

    def revoke_access(self, bucket_id: BucketId, member_id: MemberId) -> Bucket:
        """Remove a member's grant on a team bucket (no-op if none)."""
        check_id("member_id", member_id, PREFIXES["member"])
        with self._unit() as (uow, actor):
            bucket = self._shareable_bucket(uow, actor, bucket_id)
            if not any(g.member_id == member_id for g in bucket.grants):
                return bucket  # no grant of their own (team-wide access stays)
            grants = tuple(g for g in bucket.grants if g.member_id != member_id)
            updated: Bucket = bumped(bucket, grants=grants)
            uow.buckets.update(updated)
            uow.collect(
                self._event(
                    EventName.BUCKET_ACCESS_REVOKED, bucket.id, self.crm.now(), member_id=member_id
                )
            )
            uow.commit()
            return updated

    def share_with_team(
        self,
        bucket_id: BucketId,
        *,
        level: AccessLevel | AccessLevelName = AccessLevel.VIEWER,
        can_view_conversations: bool = False,
    ) -> Bucket:
        """Share a team bucket with every member of the team, now and later.

        Seed 000's "give all team members access" and seed 004's groups that
        "are shared by all users".  Members added to the team later have this
        access too (it is read when they act); a member's own grant still
        counts, and whichever gives more wins, field by field.  The same
        people who may grant access may do this (editors of the bucket,
        managers and admins, as the team's setting says).
        """
        with self._unit() as (uow, actor):
            bucket = self._shareable_bucket(uow, actor, bucket_id)
            if bucket.is_personal:
                raise ValidationError("bucket_id", bucket_id, "a personal bucket cannot be shared")
            access = TeamAccess(
                level=level,  # type: ignore[arg-type]
                can_view_conversations=can_view_conversations,
            )
            if bucket.team_access == access:
                return bucket
            updated: Bucket = bumped(bucket, team_access=access)
            uow.buckets.update(updated)
            uow.collect(
                self._event(
                    EventName.BUCKET_SHARED_WITH_TEAM,
                    bucket.id,
                    self.crm.now(),
                    level=access.level.value,
                    can_view_conversations=access.can_view_conversations,
                )
            )
            uow.commit()
            return updated

    def unshare_with_team(self, bucket_id: BucketId) -> Bucket:
        """Stop sharing a team bucket with the whole team (members' own grants stay)."""
        with self._unit() as (uow, actor):
            bucket = self._shareable_bucket(uow, actor, bucket_id)
            if bucket.team_access is None:
                return bucket
            updated: Bucket = bumped(bucket, team_access=None)
            uow.buckets.update(updated)
            uow.collect(self._event(EventName.BUCKET_UNSHARED_WITH_TEAM, bucket.id, self.crm.now()))
            uow.commit()
            return updated

    def set_holds_all(
        self, bucket_id: BucketId, holds_all: bool = True, *, include_existing: bool = False
    ) -> Bucket:
        """Make a team bucket hold every contact of the team (seed 000's omni-bucket), or stop.

        While on, every new contact joins the bucket in the unit of work that
        creates it.  With *include_existing*, the team's current contacts are
        added too, in this call's unit of work.  Managers and admins only.
        """
        for flag, value in (("holds_all", holds_all), ("include_existing", include_existing)):
            if not isinstance(value, bool):
                raise ValidationError(flag, value, "must be True or False")
        with self._unit() as (uow, actor):
            perm.require(
                actor.role.is_manager,
                actor,
                "make a bucket hold every contact",
                "managers and admins only",
            )
            bucket = self._bucket(uow, actor, bucket_id)
            if bucket.is_personal:
                raise ValidationError(
                    "bucket_id", bucket_id, "only a team bucket can hold every contact"
                )
            now = self.crm.now()
            updated: Bucket = bucket
            if bucket.holds_all is not holds_all:
                updated = bumped(bucket, holds_all=holds_all)
                uow.buckets.update(updated)
                uow.collect(
                    self._event(
                        EventName.BUCKET_SETTINGS_CHANGED, bucket.id, now, holds_all=holds_all
                    )
                )
            if holds_all and include_existing:
                everyone = uow.contacts.all(self.team_id)
                if everyone:
                    self._add_items(
                        uow,
                        updated,
                        [c.id for c in everyone],
                        now,
                        known={c.id: c for c in everyone},
                    )
            uow.commit()
            return updated

    def add_to_bucket(self, bucket_id: BucketId, item_ids: ItemIds) -> list[BucketMembership]:
        """Add one or many contacts and/or companies to a bucket, in one transaction.

        Returns the memberships created; items already in the bucket are left
        as they were (keeping the time they were first added).  Every item
        must be visible to the member, and the member must be able to edit
        the bucket.
        """
        ids = _item_ids("item_ids", item_ids)

        def ahead(uow: UnitOfWork) -> list[Callable[[], object]]:
            # The bucket and the items are read with the actor (one round trip on a server).
            team_id = self.team_id
            bucket = BucketId(bucket_id)
            return [lambda: uow.buckets.get(team_id, bucket), *self._items_ahead(uow, ids)]

        with self._unit(size=len(ids), ahead=ahead) as (uow, actor):
            bucket = self._bucket(uow, actor, bucket_id)
            perm.require(
                perm.can_edit_bucket(actor, bucket), actor, "add to this bucket", "editors only"
            )
            known = self._require_visible_items(uow, actor, ids)
            added = self._add_items(uow, bucket, ids, self.crm.now(), known=known)
            uow.commit()
            return added

    def add_to_buckets(
        self, bucket_ids: Iterable[BucketId], item_ids: ItemIds
    ) -> list[BucketMembership]:
        """Add contacts and/or companies to several buckets in one unit of work.

        Seed 004: "add to the selected group or groups".  Every bucket must
        be one the member may add to and every item one they may see, or
        nothing changes.  Returns the memberships created, bucket by bucket.
        """
        ids = _item_ids("item_ids", item_ids)
        chosen = _bucket_ids("bucket_ids", bucket_ids)
        if not chosen:
            raise ValidationError("bucket_ids", bucket_ids, "name at least one bucket")
        with self._unit(size=len(ids) * len(chosen)) as (uow, actor):
            buckets = [self._editable_bucket(uow, actor, b, "add to this bucket") for b in chosen]
            known = self._require_visible_items(uow, actor, ids)
            now = self.crm.now()
            added: list[BucketMembership] = []
            for bucket in buckets:
                added += self._add_items(uow, bucket, ids, now, known=known)
            uow.commit()
            return added

    def move_between_buckets(
        self, from_bucket_id: BucketId, to_bucket_id: BucketId, item_ids: ItemIds
    ) -> list[BucketMembership]:
        """Move items from one bucket to another in one unit of work.

        Seed 004: contacts "moved to another group".  The member must be able
        to edit both buckets and see every item, and every item must be in
        *from_bucket_id* (``ValidationError`` naming the first that is not);
        otherwise nothing changes.  Items already in the target keep their
        membership there.  Returns the memberships created in the target.
        """
        ids = _item_ids("item_ids", item_ids)
        if from_bucket_id == to_bucket_id:
            raise ValidationError("to_bucket_id", to_bucket_id, "is the bucket they are in")
        with self._unit(size=len(ids)) as (uow, actor):
            source = self._editable_bucket(uow, actor, from_bucket_id, "move out of this bucket")
            target = self._editable_bucket(uow, actor, to_bucket_id, "move into this bucket")
            known = self._require_visible_items(uow, actor, ids)
            held = {
                m.item_id
                for m in uow.memberships.buckets_of(self.team_id, ids)
                if m.bucket_id == source.id
            }
            for item in ids:
                if item not in held:
                    raise ValidationError("item_ids", item, f"is not in bucket {source.id}")
            now = self.crm.now()
            self._remove_items(uow, source, ids, now)
            added = self._add_items(uow, target, ids, now, known=known)
            uow.commit()
            return added

    def set_buckets(self, contact_id: ContactId, bucket_ids: Iterable[BucketId]) -> list[Bucket]:
        """Put a contact in exactly *bucket_ids*, among the buckets the member may edit.

        Seed 004: "choose groups" when editing a contact.  The contact joins
        the buckets it is not in yet and leaves the member's editable buckets
        that are not named; buckets the member cannot edit (or see) are left
        as they are.  One unit of work.  Returns the buckets it ended up in
        that the member may edit.
        """
        wanted = _bucket_ids("bucket_ids", bucket_ids)
        with self._unit() as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id)
            targets = [self._editable_bucket(uow, actor, b, "add to this bucket") for b in wanted]
            current = {m.bucket_id for m in uow.memberships.buckets_of(self.team_id, [contact.id])}
            now = self.crm.now()
            for bucket in targets:
                if bucket.id not in current:
                    self._add_items(uow, bucket, [contact.id], now, known={contact.id: contact})
            keep = {b.id for b in targets}
            for bucket_id in sorted(current - keep):
                bucket = uow.buckets.get(self.team_id, BucketId(bucket_id))
                if perm.can_view_bucket(actor, bucket) and perm.can_edit_bucket(actor, bucket):
                    self._remove_items(uow, bucket, [contact.id], now)
            uow.commit()
            return targets

    def _editable_bucket(
        self, uow: UnitOfWork, actor: Member, bucket_id: BucketId, action: str
    ) -> Bucket:
        bucket = self._bucket(uow, actor, bucket_id)
        perm.require(perm.can_edit_bucket(actor, bucket), actor, action, "editors only")
        return bucket

    def _remove_items(
        self, uow: UnitOfWork, bucket: Bucket, item_ids: list[str], now: datetime
    ) -> list[str]:
        removed = uow.memberships.remove_many(self.team_id, bucket.id, item_ids)
        if removed:
            self._emit(
                uow,
                self._event(EventName.BUCKET_ITEMS_REMOVED, bucket.id, now, item_ids=removed),
                subject=bucket,
            )
        return removed

    def remove_from_bucket(self, bucket_id: BucketId, item_ids: ItemIds) -> list[str]:
        """Remove one or many items from a bucket; return the ids that were in it."""
        ids = _item_ids("item_ids", item_ids)
        with self._unit() as (uow, actor):
            bucket = self._bucket(uow, actor, bucket_id)
            perm.require(
                perm.can_edit_bucket(actor, bucket),
                actor,
                "remove from this bucket",
                "editors only",
            )
            removed = self._remove_items(uow, bucket, ids, self.crm.now())
            uow.commit()
            return removed

    def copy_to_personal_bucket(
        self, contact_id: ContactId, bucket_id: BucketId
    ) -> BucketMembership | None:
        """Copy a contact the member can see into one of their personal buckets.

        Returns the new membership, or ``None`` if it was already there.
        """
        with self._unit() as (uow, actor):
            bucket = self._bucket(uow, actor, bucket_id)
            if not bucket.is_personal:
                raise ValidationError("bucket_id", bucket_id, "is not a personal bucket")
            check_id("contact_id", contact_id, PREFIXES["contact"])
            uow.contacts.lock(self.team_id, [ContactId(contact_id)])  # not deleted meanwhile
            contact = self._visible_contact(uow, actor, contact_id)
            added = self._add_items(
                uow, bucket, [contact.id], self.crm.now(), known={contact.id: contact}
            )
            uow.commit()
            return added[0] if added else None

    def bucket_items(self, bucket_id: BucketId) -> list[BucketMembership]:
        """Return a bucket's memberships (contacts and companies), oldest first."""
        with self._unit(write=False) as (uow, actor):
            bucket = self._bucket(uow, actor, bucket_id)
            return uow.memberships.items(self.team_id, bucket.id)

    def bucket_contacts(self, bucket_id: BucketId) -> list[Contact]:
        """Return the contacts in a bucket, in the order they were added.

        Their ``company_ids`` hold only the companies the member may see.
        """
        with self._unit(write=False) as (uow, actor):
            bucket = self._bucket(uow, actor, bucket_id)
            ids = [
                ContactId(m.item_id)
                for m in uow.memberships.items(self.team_id, bucket.id)
                if m.is_contact
            ]
            return self._shown(uow, actor, uow.contacts.get_many(self.team_id, ids))
