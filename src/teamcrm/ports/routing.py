"""Ports of lead routing - pools, leads, offers, cursors, inbound buckets, intake"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from teamcrm.bucket import Bucket
from teamcrm.ids import (
    BucketId,
    ContactId,
    MemberId,
    TeamId,
)
from teamcrm.lead import (
    InboundBucket,
    IntakeRecord,
    Lead,
    LeadEntries,
    LeadId,
    LeadStatus,
    Offer,
    OfferId,
    OfferStatus,
    RoleSlot,
    RoutingCursor,
)
from teamcrm.pool import LeadPool, PoolId
from teamcrm.routing import MemberLoad


# ---------------------------------------------------------------- lead routing
class LeadPoolRepository(Protocol):
    """Lead pools."""

    def get(self, team_id: TeamId, pool_id: PoolId) -> LeadPool:
        """Return the pool or raise ``NotFound``."""
        ...

    def add(self, pool: LeadPool) -> None:
        """Insert a new pool."""
        ...

    def update(self, pool: LeadPool) -> None:
        """Replace the stored pool whose version is ``pool.version - 1``."""
        ...

    def delete(self, team_id: TeamId, pool_id: PoolId, version: int) -> None:
        """Delete the pool (and its cursor) if its stored version is *version*; leads stay."""
        ...

    def all(self, team_id: TeamId) -> list[LeadPool]:
        """Return every pool of the team, ordered by ``created_at`` then id."""
        ...

    def for_buckets(self, team_id: TeamId, bucket_ids: Iterable[BucketId]) -> list[LeadPool]:
        """Return the pools with any of *bucket_ids* as a source, by ``created_at`` then id."""
        ...

    def role_slots(self, team_id: TeamId) -> list[RoleSlot]:
        """Return the team's role slots (``"buyer agent"``) by name."""
        ...

    def add_role_slot(self, slot: RoleSlot) -> None:
        """Insert a role slot (``AlreadyExists`` if the team has one of that name)."""
        ...

    def delete_role_slot(self, team_id: TeamId, name: str) -> None:
        """Delete a role slot (``NotFound`` if none); role leads stay."""
        ...


class LeadRepository(Protocol):
    """Leads (one per entry of a contact into routing)."""

    def get(self, team_id: TeamId, lead_id: LeadId) -> Lead:
        """Return the lead or raise ``NotFound``."""
        ...

    def add_many(self, leads: Sequence[Lead]) -> None:
        """Insert new leads (all or none)."""
        ...

    def update(self, lead: Lead) -> None:
        """Replace the stored lead whose version is ``lead.version - 1``.

        Only the lead's state changes after creation (status, assignees,
        assignment time, declines, explanation, response deadline); its
        identity — id, team, contact, pool, role, entry, keys and creation
        time — is fixed when it is added, and adapters may ignore changes to it.
        """
        ...

    def all(
        self, team_id: TeamId, *, pool_id: PoolId | None = None, status: LeadStatus | None = None
    ) -> list[Lead]:
        """Return the team's leads (of one pool / status if given) by ``created_at`` then id."""
        ...

    def page(
        self,
        team_id: TeamId,
        *,
        pool_id: PoolId | None = None,
        status: LeadStatus | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[Lead]:
        """Return up to *limit* of :meth:`all`, strictly after *after* (``created_at``, id)."""
        ...

    def for_contact(self, team_id: TeamId, contact_id: ContactId) -> list[Lead]:
        """Return every lead of a contact, by ``created_at`` then id."""
        ...

    def open_for_contacts(
        self, team_id: TeamId, pool_id: PoolId | None, contact_ids: Iterable[ContactId]
    ) -> list[Lead]:
        """Return the open leads of the pool (``None``: leads without a pool) of these contacts."""
        ...

    def move_contact(
        self, team_id: TeamId, from_ids: Sequence[ContactId], to_id: ContactId
    ) -> None:
        """Give every lead of *from_ids* to *to_id* (merging contacts); each lead's version +1.

        The caller first closes leads so that no pool (or role) is left with
        two open leads of *to_id*; the store refuses that (``AlreadyExists``).
        """
        ...

    def open_with_keys(self, team_id: TeamId, pool_id: PoolId, keys: Iterable[str]) -> list[Lead]:
        """Return the open leads of the pool having any of *keys* (emails, phones)."""
        ...

    def entries(
        self, team_id: TeamId, pool_id: PoolId | None, contact_ids: Iterable[ContactId]
    ) -> dict[str, int]:
        """Return the highest entry number of each contact's leads in the pool (if any)."""
        ...

    def entry_states(
        self, team_id: TeamId, pool_id: PoolId, contact_ids: Iterable[ContactId]
    ) -> dict[str, LeadEntries]:
        """Return, for each contact with leads in the pool, its highest entry and if one is open.

        What :meth:`entries` and :meth:`open_for_contacts` say together, in one
        read (routing a new entry needs nothing more); contacts without leads
        in the pool are left out.  In a writing unit a store that serialises
        a pool's entries with a lock (PostgreSQL) takes it here too.
        """
        ...

    def owned(self, team_id: TeamId, member_id: MemberId, pool_ids: Iterable[PoolId]) -> list[Lead]:
        """Return the assigned leads of these pools that *member_id* owns now, by id.

        Read for the pools' follow-up reminders: a member's leads, not every
        lead of the pools.
        """
        ...

    def response_due(self, at: datetime, limit: int) -> list[Lead]:
        """Return up to *limit* leads of any team with ``respond_by <= at``.

        Ordered by (``respond_by``, id).  Used only by the response-window job.
        """
        ...

    def loads(
        self, team_id: TeamId, pool_id: PoolId, member_ids: Iterable[MemberId]
    ) -> dict[str, MemberLoad]:
        """Return each member's open leads of the pool and last receipt (none: left out).

        The repository keeps these as leads are added and updated, in the
        same unit of work: a member *receives* a lead when it becomes one of
        its owners, and owns it while the lead is assigned to it.
        """
        ...

    def received(
        self, team_id: TeamId, pool_id: PoolId, member_id: MemberId, since: datetime
    ) -> list[datetime]:
        """Return when the member received each lead of the pool since *since*, oldest first.

        A lead counts once per member, however often it comes back to them.
        """
        ...


class OfferRepository(Protocol):
    """Offers of leads to members."""

    def get(self, team_id: TeamId, offer_id: OfferId) -> Offer:
        """Return the offer or raise ``NotFound``."""
        ...

    def add_many(self, offers: Sequence[Offer]) -> None:
        """Insert new offers (all or none)."""
        ...

    def update(self, offer: Offer) -> None:
        """Replace the stored offer whose version is ``offer.version - 1``.

        Only its state changes after creation (status, settlement time,
        expiry, note); lead, member, creator and creation time are fixed when
        it is added, and adapters may ignore changes to them.
        """
        ...

    def for_lead(self, team_id: TeamId, lead_id: LeadId) -> list[Offer]:
        """Return the lead's offers by ``created_at`` then id."""
        ...

    def for_member(
        self, team_id: TeamId, member_id: MemberId, status: OfferStatus | None = None
    ) -> list[Offer]:
        """Return the member's offers (of one status if given) by ``created_at`` then id."""
        ...

    def due(self, at: datetime, limit: int) -> list[Offer]:
        """Return up to *limit* open offers of any team with ``expires_at <= at``.

        Ordered by (``expires_at``, id).  Used only by the expiry job.
        """
        ...


class RoutingCursorRepository(Protocol):
    """Round-robin cursors, one per pool."""

    def get(self, team_id: TeamId, pool_id: PoolId) -> RoutingCursor:
        """Return the stored cursor, or a version-0 cursor at position 0."""
        ...

    def put(self, cursor: RoutingCursor) -> None:
        """Store *cursor* if the stored version is ``cursor.version - 1`` (else a conflict)."""
        ...


class InboundBucketRepository(Protocol):
    """Each member's default bucket for routed leads."""

    def get(self, team_id: TeamId, member_id: MemberId) -> InboundBucket | None:
        """Return the member's inbound bucket, or ``None`` if none was chosen yet."""
        ...

    def get_with_bucket(
        self, team_id: TeamId, member_id: MemberId
    ) -> tuple[InboundBucket | None, Bucket | None]:
        """Return the member's inbound row and its bucket, in one read.

        ``(None, None)`` when none was chosen yet; ``(row, None)`` when the row
        names a bucket that no longer exists (databases of earlier releases).
        """
        ...

    def put(self, row: InboundBucket) -> None:
        """Set (or replace) the member's inbound bucket."""
        ...

    def claim(self, row: InboundBucket) -> InboundBucket:
        """Set the member's inbound bucket to *row* unless one is set; return the stored one.

        Decided by the database in one insert (``ON CONFLICT DO NOTHING``):
        of two units claiming at once, the second waits for the first and
        gets its row, so a member never ends up with two inbound buckets.
        """
        ...


class IntakeRepository(Protocol):
    """Lead submissions already taken in, by the caller's idempotency key."""

    def get(self, team_id: TeamId, key: str) -> IntakeRecord | None:
        """Return the record of *key*, or ``None`` if no submission used it yet."""
        ...

    def add(self, record: IntakeRecord) -> None:
        """Insert a record; ``AlreadyExists`` if the team has one with its key.

        The database decides (a unique key): of two units adding the same key
        at once, one commits and the other gets ``AlreadyExists``.
        """
        ...

    def all(self, team_id: TeamId) -> list[IntakeRecord]:
        """Return every record of the team, by key (for the team backup)."""
        ...

    def move_contact(
        self, team_id: TeamId, from_ids: Sequence[ContactId], to_id: ContactId
    ) -> None:
        """Point the records of *from_ids* at *to_id* (merging contacts)."""
        ...
