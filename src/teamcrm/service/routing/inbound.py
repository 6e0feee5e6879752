"""Inbound buckets: the personal bucket where a member's routed leads land."""

from __future__ import annotations

from collections.abc import Iterable

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket, BucketKind
from teamcrm.errors import NotFound
from teamcrm.events import EventName
from teamcrm.ids import BucketId, MemberId, new_bucket_id
from teamcrm.lead import InboundBucket, Lead
from teamcrm.pool import LeadPool
from teamcrm.service.routing.common import INBOUND_BUCKET_NAME
from teamcrm.service.routing.router_base import RouterBase


class InboundMixin(RouterBase):
    """The router's inbound buckets (created when a member needs one)."""

    def place(self, lead: Lead, member_id: MemberId, pool: LeadPool | None) -> None:
        """Put the lead's contact in the member's inbound bucket.

        (A pool's follow-up reminder needs nothing stored: it is computed when
        the owner's list is read, see :mod:`teamcrm.pool_reminder`.)
        """
        inbound = self._inbound  # (once per lead: look-ups rather than calls)
        bucket = inbound[member_id] if member_id in inbound else self.inbound_bucket(member_id)
        placed = self._place
        if bucket.id in placed:
            placed[bucket.id].append(lead.contact_id)
        else:
            placed[bucket.id] = [lead.contact_id]

    def take_back(self, lead: Lead, member_ids: Iterable[str]) -> None:
        """Take the lead's contact out of the members' personal inbound buckets."""
        for member_id in member_ids:
            row = self.uow.inbound_buckets.get(self.team_id, MemberId(member_id))
            if row is None:
                continue
            try:
                bucket = self.uow.buckets.get(self.team_id, row.bucket_id)
            except NotFound:
                continue
            if not bucket.is_personal:
                continue
            removed = self.uow.memberships.remove_many(self.team_id, bucket.id, [lead.contact_id])
            if removed:  # its follow-up clocks stop when the event's reactions run (flush)
                self.event(EventName.BUCKET_ITEMS_REMOVED, bucket.id, item_ids=removed)

    def inbound_bucket(self, member_id: MemberId) -> Bucket:
        """Return the member's inbound bucket, creating a personal one when needed.

        A mapped bucket the member can no longer add contacts to is replaced
        by a new personal one (the member must see the leads they get).
        """
        if member_id in self._inbound:
            return self._inbound[member_id]
        row, bucket = self.uow.inbound_buckets.get_with_bucket(self.team_id, member_id)
        member = self.members.get(member_id)
        if bucket is not None and (member is None or not perm.can_edit_bucket(member, bucket)):
            # Rights are read now: a team bucket the member may no longer add
            # to (grant revoked or lowered, role changed) would hand them
            # leads they cannot see; they get a personal one instead.
            bucket = None
        if bucket is None:
            bucket = self._new_inbound(member_id, replacing=row is not None)
        self._inbound[member_id] = bucket
        return bucket

    def _new_inbound(self, member_id: MemberId, *, replacing: bool) -> Bucket:
        """Make the member a personal "Routed leads" bucket, unless another unit just did.

        The member's row is claimed in the database (``inbound_buckets.claim``):
        of two units routing the member's first leads at once, the second
        waits for the first, takes its bucket and drops its own (never
        committed).  *replacing*: the member's row names a bucket that no
        longer exists (databases of earlier releases); it is overwritten.
        """
        bucket = Bucket(
            id=new_bucket_id(),
            team_id=self.team_id,
            name=INBOUND_BUCKET_NAME,
            kind=BucketKind.PERSONAL,
            owner_id=member_id,
            created_at=self.now,
            created_by=member_id,
        )
        self.uow.buckets.add(bucket)  # first: the row's foreign key names it
        row = InboundBucket(team_id=self.team_id, member_id=member_id, bucket_id=bucket.id)
        if replacing:
            self.uow.inbound_buckets.put(row)
        else:
            stored = self.uow.inbound_buckets.claim(row)
            if stored.bucket_id != bucket.id:  # another unit made one first: use it
                self.uow.buckets.delete(self.team_id, bucket.id, bucket.version)
                return self.uow.buckets.get(self.team_id, BucketId(stored.bucket_id))
        self.event(EventName.BUCKET_CREATED, bucket.id, kind=bucket.kind.value, name=bucket.name)
        self.event(EventName.INBOUND_BUCKET_CHANGED, member_id, bucket_id=bucket.id)
        return bucket
