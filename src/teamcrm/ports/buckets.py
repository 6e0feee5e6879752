"""Ports of buckets and their memberships"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.ids import (
    BucketId,
    TeamId,
)


class BucketRepository(Protocol):
    """Buckets (with their access grants)."""

    def get(self, team_id: TeamId, bucket_id: BucketId) -> Bucket:
        """Return the bucket or raise ``NotFound``."""
        ...

    def add(self, bucket: Bucket) -> None:
        """Insert a new bucket."""
        ...

    def update(self, bucket: Bucket) -> None:
        """Replace the stored bucket whose version is ``bucket.version - 1``."""
        ...

    def delete(self, team_id: TeamId, bucket_id: BucketId, version: int) -> None:
        """Delete the bucket if its stored version is *version*.

        Its memberships go with it, and so does every member's choice of it
        as their inbound bucket (``inbound_buckets``): no row is left naming
        a deleted bucket.
        """
        ...

    def all(self, team_id: TeamId) -> list[Bucket]:
        """Return every bucket of the team, oldest first."""
        ...


class MembershipRepository(Protocol):
    """Which contacts and companies are in which buckets."""

    def add_many(self, memberships: Sequence[BucketMembership]) -> list[BucketMembership]:
        """Add the memberships that do not exist yet; return those that were added.

        An item already in the bucket keeps its original ``added_at``.
        """
        ...

    def remove_many(
        self, team_id: TeamId, bucket_id: BucketId, item_ids: Iterable[str]
    ) -> list[str]:
        """Remove items from a bucket; return the ids that were in it."""
        ...

    def items(self, team_id: TeamId, bucket_id: BucketId) -> list[BucketMembership]:
        """Return a bucket's memberships ordered by ``added_at`` then item id."""
        ...

    def items_page(
        self,
        team_id: TeamId,
        bucket_id: BucketId,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[BucketMembership]:
        """Return up to *limit* of :meth:`items`, strictly after *after* (``added_at``, item id)."""
        ...

    def buckets_of(self, team_id: TeamId, item_ids: Iterable[str]) -> list[BucketMembership]:
        """Return every membership of the given items, ordered by bucket id then item id."""
        ...

    def remove_item(self, team_id: TeamId, item_id: str) -> None:
        """Remove an item from every bucket (when it is deleted)."""
        ...
