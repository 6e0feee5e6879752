"""The storage ports: repository protocols and the unit of work.

The domain and the service layer talk to storage only through these
protocols.  Each adapter (:mod:`teamcrm.adapters.memory`,
:mod:`teamcrm.adapters.sqlite`, ...) implements all of them, and
:mod:`teamcrm.testing.contract` checks that it does so faithfully.

Rules every adapter follows:

* Every method is scoped to one team: a record of another team is
  :class:`~teamcrm.errors.NotFound`, never returned.
* ``add`` raises :class:`~teamcrm.errors.AlreadyExists` for a taken id.
* ``update(entity)`` succeeds only when the stored version is
  ``entity.version - 1``; otherwise it raises
  :class:`~teamcrm.errors.ConcurrencyError` (the check is enforced by the
  database, not by a read before the write).
* ``delete(team_id, id, version)`` deletes only that version.
* Nothing is visible to other units of work until :meth:`UnitOfWork.commit`;
  leaving the ``with`` block without committing rolls everything back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Protocol, Self

from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.case import Case, CaseStatus
from teamcrm.contact import Company, Contact
from teamcrm.events import DomainEvent, OutboxMessage
from teamcrm.followup import FollowUpDue, FollowUpPolicy, PolicyId, Snooze, Touch
from teamcrm.ids import (
    BucketId,
    CaseId,
    CompanyId,
    ContactId,
    InteractionId,
    MemberId,
    OpportunityId,
    TeamId,
)
from teamcrm.interaction import Interaction
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
from teamcrm.notification import Notification
from teamcrm.opportunity import Opportunity, RecordNote, Stage
from teamcrm.pool import LeadPool, PoolId
from teamcrm.program_ports import EnrolmentRepository, ProgramRepository
from teamcrm.routing import MemberLoad
from teamcrm.search import CompanyQuery, ContactQuery, SavedFilter, SavedFilterId, SearchScope
from teamcrm.task import Task, TaskId, TaskStatus
from teamcrm.team import Member, Team
from teamcrm.views import GridFacts

__all__ = [
    "BucketRepository",
    "CompanyRepository",
    "ConsumerPositionRepository",
    "ContactRepository",
    "EnrolmentRepository",
    "FollowUpDueRepository",
    "FollowUpPolicyRepository",
    "InboundBucketRepository",
    "IntakeRepository",
    "InteractionRepository",
    "LeadPoolRepository",
    "LeadRepository",
    "MemberRepository",
    "MembershipRepository",
    "NotificationRepository",
    "OfferRepository",
    "OutboxRepository",
    "ProgramRepository",
    "RecordRepository",
    "RoutingCursorRepository",
    "SavedFilterRepository",
    "SnoozeRepository",
    "Store",
    "TaskRepository",
    "TeamRepository",
    "TouchRepository",
    "UnitOfWork",
    "ViewRepository",
]


class TeamRepository(Protocol):
    """Teams."""

    def get(self, team_id: TeamId) -> Team:
        """Return the team or raise ``NotFound``."""
        ...

    def add(self, team: Team) -> None:
        """Insert a new team (version 1)."""
        ...

    def update(self, team: Team) -> None:
        """Replace the stored team whose version is ``team.version - 1``."""
        ...

    def lock(self, team_id: TeamId) -> None:
        """Hold the team until the unit ends: writing units that lock one team run in turn.

        For rules that read several rows of the team and must still hold at
        commit ("the last active admin keeps the role").  Stores that run one
        writing unit at a time (memory, SQLite) do nothing; PostgreSQL locks
        the team's row (``SELECT ... FOR UPDATE``).  A missing team is not an
        error here.
        """
        ...


class MemberRepository(Protocol):
    """Members of a team."""

    def get(self, team_id: TeamId, member_id: MemberId) -> Member:
        """Return the member or raise ``NotFound``."""
        ...

    def find(self, member_id: MemberId) -> Member:
        """Return the member with this id in whatever team, or raise ``NotFound``.

        Used only to open a session for a member; every other call is scoped.
        """
        ...

    def add(self, member: Member) -> None:
        """Insert a new member."""
        ...

    def update(self, member: Member) -> None:
        """Replace the stored member whose version is ``member.version - 1``."""
        ...

    def all(self, team_id: TeamId) -> list[Member]:
        """Return every member of the team, oldest first."""
        ...


class ContactRepository(Protocol):
    """Contacts of a team."""

    def get(self, team_id: TeamId, contact_id: ContactId) -> Contact:
        """Return the contact or raise ``NotFound``."""
        ...

    def get_for_update(self, team_id: TeamId, contact_id: ContactId) -> Contact:
        """Return the contact for a read-modify-write, or raise ``NotFound``.

        In a writing unit, the contact is locked until the unit ends: another
        unit reading it for update waits, then reads what this one committed.
        Stores that run one writing unit at a time (memory, SQLite) need no
        lock and return :meth:`get`; a store whose writers run side by side
        (PostgreSQL: ``SELECT ... FOR UPDATE``) must lock, so the version
        check of the ``update`` that follows never fails inside the unit.
        """
        ...

    def get_many(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> list[Contact]:
        """Return the contacts that exist among *contact_ids*, in the order asked."""
        ...

    def add(self, contact: Contact) -> None:
        """Insert a new contact."""
        ...

    def add_many(self, contacts: Sequence[Contact]) -> None:
        """Insert many new contacts at once (all or none)."""
        ...

    def update(self, contact: Contact) -> None:
        """Replace the stored contact whose version is ``contact.version - 1``."""
        ...

    def delete(self, team_id: TeamId, contact_id: ContactId, version: int) -> None:
        """Delete the contact if its stored version is *version*."""
        ...

    def lock(
        self, team_id: TeamId, contact_ids: Iterable[ContactId], *, exclusive: bool = False
    ) -> None:
        """Hold the contacts until the unit ends; read them *after* this call.

        Shared (the default): no other unit deletes them meanwhile; taken by
        units that add rows pointing at existing contacts (memberships,
        leads).  *exclusive*: no other unit holds them either; taken by
        ``delete_contact`` before it reads what points at the contact.
        Stores that run one writing unit at a time (memory, SQLite) do
        nothing; PostgreSQL locks the rows (``FOR KEY SHARE`` / ``FOR
        UPDATE``; nothing in a read-only unit).  Missing ids are ignored.
        """
        ...

    def all(self, team_id: TeamId) -> list[Contact]:
        """Return every contact of the team, oldest first."""
        ...

    def by_company(self, team_id: TeamId, company_id: CompanyId) -> list[Contact]:
        """Return the contacts linked to a company, oldest first."""
        ...

    def existing_keys(
        self, team_id: TeamId, *, emails: Collection[str], phones: Collection[str]
    ) -> set[str]:
        """Which of *emails* (lower case) and *phones* (E.164 keys) some contact holds.

        Emails compare in lower case, phones by key; visibility is not
        applied (the caller confirms a hit with a scoped search).  A bulk
        import checks one batch's keys with one call instead of a search per key.
        """
        ...


class CompanyRepository(Protocol):
    """Companies of a team."""

    def get(self, team_id: TeamId, company_id: CompanyId) -> Company:
        """Return the company or raise ``NotFound``."""
        ...

    def add(self, company: Company) -> None:
        """Insert a new company."""
        ...

    def update(self, company: Company) -> None:
        """Replace the stored company whose version is ``company.version - 1``."""
        ...

    def delete(self, team_id: TeamId, company_id: CompanyId, version: int) -> None:
        """Delete the company if its stored version is *version*."""
        ...

    def lock(
        self, team_id: TeamId, company_ids: Iterable[CompanyId], *, exclusive: bool = False
    ) -> None:
        """Hold the companies until the unit ends; read them *after* this call.

        As :meth:`ContactRepository.lock`: shared by units that add rows
        pointing at existing companies (memberships, contact links),
        *exclusive* by ``delete_company``.  Memory and SQLite do nothing;
        PostgreSQL locks the rows.  Missing ids are ignored.
        """
        ...

    def all(self, team_id: TeamId) -> list[Company]:
        """Return every company of the team, oldest first."""
        ...


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


class InteractionRepository(Protocol):
    """Interactions (append-only)."""

    def add(self, interaction: Interaction) -> None:
        """Insert a new interaction."""
        ...

    def get(self, team_id: TeamId, interaction_id: InteractionId) -> Interaction:
        """Return the interaction or raise ``NotFound``."""
        ...

    def for_contact(self, team_id: TeamId, contact_id: ContactId) -> list[Interaction]:
        """Return the contact's interactions, newest ``occurred_at`` first (ties: id)."""
        ...

    def for_contact_page(
        self,
        team_id: TeamId,
        contact_id: ContactId,
        *,
        before: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[Interaction]:
        """Return up to *limit* of :meth:`for_contact` (newest first) after *before*.

        *before* is the (``occurred_at``, id) of the last interaction of the
        previous page: the page holds those strictly older (ties: lower id).
        """
        ...

    def for_company(self, team_id: TeamId, company_id: CompanyId) -> list[Interaction]:
        """Return the interactions filed under a company, newest first (ties: id)."""
        ...

    def file_under(
        self, team_id: TeamId, interaction_id: InteractionId, company_ids: Sequence[CompanyId]
    ) -> None:
        """File an interaction under more companies (appended to its ``company_ids``).

        Companies it is already filed under are skipped; ``NotFound`` for a
        missing interaction.
        """
        ...

    def all(self, team_id: TeamId) -> list[Interaction]:
        """Return every interaction of the team (also of deleted contacts), by id.

        Used by the team backup (:mod:`teamcrm.backup`).
        """
        ...

    def move_contact(
        self, team_id: TeamId, from_ids: Sequence[ContactId], to_id: ContactId
    ) -> None:
        """File the interactions of *from_ids* under *to_id* instead (merging contacts).

        Each interaction keeps its other targets and its order; one that
        named several of them (or *to_id* too) names *to_id* once.  The one
        change ever made to a logged interaction.
        """
        ...


class OutboxRepository(Protocol):
    """The outbox of committed domain events."""

    def append(self, events: Sequence[DomainEvent]) -> None:
        """Append events; they get increasing ``seq`` numbers in the given order."""
        ...

    def read(self, team_id: TeamId, after_seq: int = 0, limit: int = 1000) -> list[OutboxMessage]:
        """Return the team's messages with ``seq > after_seq``, in ``seq`` order."""
        ...

    def prune(self, team_id: TeamId | None, *, before: datetime, limit: int = 10_000) -> int:
        """Delete at most *limit* messages of the team (every team when ``None``); return how many.

        Deletes, lowest ``seq`` first, only messages that are **both** older
        than *before* (``occurred_at < before``) and at or before the lowest
        position of every consumer registered for the message's team in the
        ``consumer_positions`` repository (``seq <= min(position)``); a team
        no consumer ever claimed is pruned by age alone.  The floor is read in
        the same statement as the delete, so a message a registered consumer
        has not handled is never removed.
        """
        ...


class ConsumerPositionRepository(Protocol):
    """Where each outbox consumer stands, per team (see :meth:`teamcrm.CRM.consume`).

    A consumer *claims* its position before reading a batch (one worker at a
    time per consumer and team; a claim lapses at *until*), and *advances*
    it after handling the batch.
    """

    def claim(
        self, consumer: str, team_id: TeamId, *, token: str, now: datetime, until: datetime
    ) -> int | None:
        """Claim the position until *until* (free or lapsed claims only); return it, or ``None``."""
        ...

    def advance(self, consumer: str, team_id: TeamId, *, token: str, seq: int) -> bool:
        """Set the position to *seq* and release the claim if *token* still holds it."""
        ...

    def release(self, consumer: str, team_id: TeamId, *, token: str) -> None:
        """Release the claim *token* without moving the position."""
        ...

    def position(self, consumer: str, team_id: TeamId) -> int:
        """The ``seq`` of the last message handled (0 before the first)."""
        ...


class NotificationRepository(Protocol):
    """Notifications to members (the in-app feed and the email digest queue)."""

    def add_many(self, notifications: Sequence[Notification]) -> None:
        """Insert new notifications."""
        ...

    def for_member(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        unread_only: bool = False,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Notification]:
        """Return a member's notifications, newest ``created_at`` first (ties: id).

        With *before* (``created_at``, id): only those older than it in that
        order (a keyset page: one range of the member's index).
        """
        ...

    def mark_read(
        self, team_id: TeamId, member_id: MemberId, ids: Iterable[str] | None, at: datetime
    ) -> int:
        """Mark the member's unread notifications (all of them when *ids* is None) read at *at*.

        Returns how many changed.  Ids of other members or teams are ignored.
        """
        ...

    # -- the email digest queue (see teamcrm.service.notifications.send_digests) --
    # A notification is *pending* for email while it is neither emailed nor
    # skipped.  Each member has a digest state: the time of their last digest
    # and at most one live *claim* (a token and the time it was taken).

    def digest_candidates(
        self,
        *,
        now: datetime,
        last_digest_by: datetime,
        lease_cutoff: datetime,
        team_id: TeamId | None = None,
        limit: int = 10_000,
    ) -> list[tuple[TeamId, MemberId]]:
        """Return up to *limit* members with a pending notification created at or before *now*.

        Only members whose last digest (if any) was at or before
        *last_digest_by* and whose digest is not claimed (or whose claim was
        taken before *lease_cutoff*).  Every team unless *team_id* is given;
        ordered by (team id, member id).  A hint: :meth:`claim_digest` decides.
        """
        ...

    def claim_digest(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        token: str,
        now: datetime,
        last_digest_by: datetime,
        lease_cutoff: datetime,
        limit: int,
    ) -> list[Notification]:
        """Claim the member's next digest for *token*; return its notifications, oldest first.

        Atomically (the database decides the race): when the member's last
        digest was at or before *last_digest_by* and no claim taken at or
        after *lease_cutoff* holds, record the claim (*token*, *now*) and
        return up to *limit* pending notifications created at or before
        *now*, by (``created_at``, id).  Otherwise (or when none is pending)
        return ``[]`` and change nothing.
        """
        ...

    def complete_digest(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        token: str,
        ids: Iterable[str],
        at: datetime,
    ) -> int:
        """Record a sent digest: mark *ids* (those not yet emailed) emailed at *at*.

        Sets the member's last digest time to *at* (never moving it back) and
        releases the claim if *token* still holds it.  Returns how many
        notifications were marked.
        """
        ...

    def release_digest(self, team_id: TeamId, member_id: MemberId, *, token: str) -> None:
        """Give up the claim *token* (the send failed): nothing is marked, the next run retries."""
        ...

    def skip_email(self, team_id: TeamId, member_id: MemberId, *, now: datetime) -> int:
        """Take the member's pending notifications created at or before *now* off the email queue.

        For members who get no email (inactive, no address); the notifications
        stay in the in-app feed.  Returns how many were skipped.
        """
        ...

    def last_digest_at(self, team_id: TeamId, member_id: MemberId) -> datetime | None:
        """Return when the member's last digest was sent, or ``None``."""
        ...


class UnitOfWork(Protocol):
    """One atomic piece of work against a store.

    Use it as a context manager; call :meth:`commit` to keep the changes.
    Events passed to :meth:`collect` are written to the outbox by
    :meth:`commit`, in the same transaction.
    """

    teams: TeamRepository
    members: MemberRepository
    contacts: ContactRepository
    companies: CompanyRepository
    buckets: BucketRepository
    memberships: MembershipRepository
    interactions: InteractionRepository
    outbox: OutboxRepository
    consumer_positions: ConsumerPositionRepository
    notifications: NotificationRepository
    followup_policies: FollowUpPolicyRepository
    touches: TouchRepository
    followup_dues: FollowUpDueRepository
    snoozes: SnoozeRepository
    tasks: TaskRepository
    lead_pools: LeadPoolRepository
    leads: LeadRepository
    offers: OfferRepository
    routing_cursors: RoutingCursorRepository
    inbound_buckets: InboundBucketRepository
    views: ViewRepository
    saved_filters: SavedFilterRepository
    intake: IntakeRepository
    programs: ProgramRepository
    enrolments: EnrolmentRepository
    records: RecordRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def collect(self, *events: DomainEvent) -> None:
        """Remember events to write to the outbox on commit."""
        ...

    def commit(self) -> None:
        """Write collected events to the outbox and make every change durable."""
        ...

    def rollback(self) -> None:
        """Discard every change made in this unit (and the collected events)."""
        ...


class Store(Protocol):
    """A storage backend: makes units of work.

    :ivar url: the URL the store was opened with.
    """

    url: str

    def unit_of_work(self, *, write: bool = True) -> UnitOfWork:
        """Return a new unit of work; ``write=False`` promises only reads."""
        ...

    def close(self) -> None:
        """Release the store's resources (connections, files)."""
        ...


class FollowUpPolicyRepository(Protocol):
    """Follow-up policies (member M follows up bucket B every cadence C)."""

    def get(self, team_id: TeamId, policy_id: PolicyId) -> FollowUpPolicy:
        """Return the policy or raise ``NotFound``."""
        ...

    def add(self, policy: FollowUpPolicy) -> None:
        """Insert a new policy."""
        ...

    def update(self, policy: FollowUpPolicy) -> None:
        """Replace the stored policy whose version is ``policy.version - 1``."""
        ...

    def delete(self, team_id: TeamId, policy_id: PolicyId, version: int) -> None:
        """Delete the policy (and its due rows) if its stored version is *version*."""
        ...

    def all(self, team_id: TeamId) -> list[FollowUpPolicy]:
        """Return every policy of the team, ordered by ``created_at`` then id."""
        ...

    def for_buckets(self, team_id: TeamId, bucket_ids: Iterable[BucketId]) -> list[FollowUpPolicy]:
        """Return the policies on any of *bucket_ids*, ordered by ``created_at`` then id."""
        ...

    def for_member(self, team_id: TeamId, member_id: MemberId) -> list[FollowUpPolicy]:
        """Return the policies *member_id* is responsible for, ordered by ``created_at`` then id."""
        ...


class TouchRepository(Protocol):
    """The last touch of each contact, team-wide and per member ("newest wins").

    Touches dated after the moment they are recorded (a scheduled meeting) are
    kept apart as *pending* until the service settles them.
    """

    def record(self, touches: Sequence[Touch]) -> None:
        """Remember *touches*; a stored touch is replaced only by a newer one.

        Each touch updates the (contact, member) entry, and the contact's
        team-wide entry too when ``touch.team_wide``.
        """
        ...

    def team_latest(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> dict[str, Touch]:
        """Return the newest team-wide touch of each contact that has one, by contact id."""
        ...

    def member_latest(
        self, team_id: TeamId, contact_ids: Iterable[ContactId]
    ) -> dict[tuple[str, str], Touch]:
        """Return the newest touch per (contact id, member id) of the given contacts."""
        ...

    def add_pending(self, touches: Sequence[Touch]) -> None:
        """Keep touches dated in the future until they are settled."""
        ...

    def pending(self, team_id: TeamId, up_to: datetime) -> list[Touch]:
        """Return the pending touches dated at or before *up_to*, oldest first."""
        ...

    def drop_pending(self, team_id: TeamId, up_to: datetime) -> None:
        """Forget the pending touches dated at or before *up_to* (after recording them)."""
        ...

    def forget(self, team_id: TeamId, contact_ids: Sequence[ContactId]) -> None:
        """Forget every touch (team-wide, per member, pending) of *contact_ids* (merged away)."""
        ...


class FollowUpDueRepository(Protocol):
    """The computed due date of each (policy, contact): what the list is read from."""

    def put_many(self, rows: Sequence[FollowUpDue]) -> None:
        """Insert or replace rows, keyed by (policy id, contact id)."""
        ...

    def delete(
        self, team_id: TeamId, policy_ids: Iterable[str], contact_ids: Iterable[str]
    ) -> None:
        """Delete the rows of every given policy for every given contact."""
        ...

    def delete_policy(self, team_id: TeamId, policy_id: PolicyId) -> None:
        """Delete every row of a policy."""
        ...

    def for_contacts(
        self, team_id: TeamId, member_id: MemberId, contact_ids: Iterable[str]
    ) -> list[FollowUpDue]:
        """Return the member's rows for the given contacts, by (due_on, contact, policy)."""
        ...

    def page(
        self,
        team_id: TeamId,
        member_id: MemberId,
        due_by: date,
        at: datetime,
        after: tuple[date, str, str] | None,
        limit: int,
    ) -> list[FollowUpDue]:
        """Return up to *limit* of the member's rows due on or before *due_by*.

        Ordered by (due_on, contact_id, policy_id), starting after the key
        *after*; rows of contacts the member snoozed past *at* are left out.
        """
        ...


class SnoozeRepository(Protocol):
    """Snoozes of contacts on members' follow-up lists."""

    def put(self, snooze: Snooze) -> None:
        """Set (or replace) the member's snooze of the contact."""
        ...

    def get(self, team_id: TeamId, member_id: MemberId, contact_id: ContactId) -> Snooze | None:
        """Return the member's snooze of the contact, or ``None``."""
        ...

    def remove(self, team_id: TeamId, member_id: MemberId, contact_id: ContactId) -> None:
        """Remove the member's snooze of the contact (no-op if none)."""
        ...

    def all(self, team_id: TeamId) -> list[Snooze]:
        """Return every snooze of the team, by (member id, contact id).

        Used by the team backup (:mod:`teamcrm.backup`).
        """
        ...


class TaskRepository(Protocol):
    """Tasks (explicit follow-ups)."""

    def get(self, team_id: TeamId, task_id: TaskId) -> Task:
        """Return the task or raise ``NotFound``."""
        ...

    def add(self, task: Task) -> None:
        """Insert a new task."""
        ...

    def update(self, task: Task) -> None:
        """Replace the stored task whose version is ``task.version - 1``."""
        ...

    def for_member(
        self, team_id: TeamId, member_id: MemberId, status: TaskStatus | None = None
    ) -> list[Task]:
        """Return the member's tasks (of one status if given) by (due_at, id)."""
        ...

    def open_due(
        self,
        team_id: TeamId,
        member_id: MemberId,
        at: datetime,
        limit: int,
        *,
        since: datetime | None = None,
    ) -> list[Task]:
        """Return up to *limit* of the member's open tasks due by *at*, ordered by (due_at, id).

        With *since*: only those due at or after it.
        """
        ...


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


# ------------------------------------------------------- search and management views
class ViewRepository(Protocol):
    """Read-only queries behind search, the agent grid and insights.

    Adapters answer them with their own indexes (the SQLite adapter in SQL),
    never by handing every contact to Python.
    """

    def search(
        self,
        team_id: TeamId,
        query: ContactQuery,
        *,
        scope: SearchScope | None,
        after: tuple[datetime, ContactId] | None,
        limit: int,
    ) -> list[Contact]:
        """Return up to *limit* contacts matching *query*, by (``created_at``, id).

        Exactly the contacts :func:`teamcrm.search.matches` accepts; only
        those *scope* allows (``None``: every contact of the team); starting
        after the key *after*.
        """
        ...

    def search_companies(
        self,
        team_id: TeamId,
        query: CompanyQuery,
        *,
        scope: SearchScope | None,
        after: tuple[datetime, CompanyId] | None,
        limit: int,
    ) -> list[Company]:
        """Return up to *limit* companies matching *query*, by (``created_at``, id).

        Exactly the companies :func:`teamcrm.search.company_matches` accepts;
        only those *scope* allows (the member created them, or a bucket of
        the scope holds them; ``None``: every company of the team); starting
        after the key *after*.
        """
        ...

    def last_contacted(
        self, team_id: TeamId, contact_ids: Iterable[ContactId]
    ) -> dict[str, datetime]:
        """Return each contact's newest team-wide touch (interaction), for those that have one."""
        ...

    def interaction_counts(
        self, team_id: TeamId, member_id: MemberId, start: datetime, end: datetime
    ) -> dict[str, int]:
        """Count the member's interactions with ``start <= occurred_at < end``, by kind."""
        ...

    def lead_touches(
        self, team_id: TeamId, member_id: MemberId, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime | None]]:
        """Return (assigned_at, first touch) of the member's leads assigned in [start, end).

        The first touch is the member's earliest interaction with the lead's
        contact at or after ``assigned_at`` (``None`` if none).  Ordered by
        ``assigned_at``, then lead id.
        """
        ...

    def grid_facts(
        self,
        team_id: TeamId,
        *,
        status: str | None,
        assignee_id: MemberId | None,
        pool_id: PoolId | None,
        now: datetime,
    ) -> list[GridFacts]:
        """Return the grid facts of every open lead (one per lead and owner) that matches.

        Filters: the contact's status, the owner, the lead's pool (each when
        given).  Any order.
        """
        ...

    def grid_page(
        self,
        team_id: TeamId,
        *,
        status: str | None,
        assignee_id: MemberId | None,
        pool_id: PoolId | None,
        now: datetime,
        window: timedelta,
        first_status: str,
        limit: int,
    ) -> list[GridFacts]:
        """Return the *limit* worst grid facts that match, worst first.

        Exactly :func:`teamcrm.views.worst_grid_facts` of :meth:`grid_facts`
        with the same filters: ordered by :func:`teamcrm.views.grid_score`
        (most red signals, longest wait, then contact, lead and owner ids).
        Adapters rank where the data is (the SQLite adapter over a table
        kept by triggers) instead of loading every open lead.
        """
        ...

    def members_named(self, name: str) -> list[Member]:
        """Return members of any team whose name is *name* (case-insensitive).

        Used only to open a session by name (the command line).
        """
        ...

    def members_with_email(self, email: str) -> list[Member]:
        """Return members of any team whose email address is *email* (case-insensitive).

        Used only to open a session by email (the command line).
        """
        ...


class SavedFilterRepository(Protocol):
    """Saved contact filters (stored as data)."""

    def get(self, team_id: TeamId, filter_id: SavedFilterId) -> SavedFilter:
        """Return the saved filter or raise ``NotFound``."""
        ...

    def add(self, saved: SavedFilter) -> None:
        """Insert a new saved filter."""
        ...

    def update(self, saved: SavedFilter) -> None:
        """Replace the stored filter whose version is ``saved.version - 1``."""
        ...

    def delete(self, team_id: TeamId, filter_id: SavedFilterId, version: int) -> None:
        """Delete the filter if its stored version is *version*."""
        ...

    def for_member(self, team_id: TeamId, member_id: MemberId) -> list[SavedFilter]:
        """Return the member's own filters and the team's shared ones, by name then id."""
        ...


# ================================================================ records
class RecordRepository(Protocol):
    """Opportunities and cases, their links to contacts and companies, and their notes.

    A record's ``contact_ids`` and ``company_ids`` are stored as links that
    the store removes when the contact or company is deleted (a foreign key
    with ``ON DELETE CASCADE``, or the same effect): a record read back never
    names a deleted contact or company.  Writing a record whose links name a
    missing contact or company fails (``NotFound`` or ``ConcurrencyError``);
    nothing is written then.
    """

    def lock(self, team_id: TeamId, record_id: str) -> None:
        """Hold the opportunity or case against concurrent changes until the unit ends.

        Where writing units run side by side (PostgreSQL) the row is locked,
        so a read-modify-write of the record cannot fail or lose a concurrent
        change; elsewhere nothing needs doing.  Nothing in a read-only unit.
        """
        ...

    def get_opportunity(self, team_id: TeamId, opportunity_id: OpportunityId) -> Opportunity:
        """Return the opportunity or raise ``NotFound``."""
        ...

    def add_opportunity(self, opportunity: Opportunity) -> None:
        """Insert a new opportunity with its links."""
        ...

    def update_opportunity(self, opportunity: Opportunity) -> None:
        """Replace the opportunity (and its links) stored at ``version - 1``."""
        ...

    def delete_opportunity(
        self, team_id: TeamId, opportunity_id: OpportunityId, version: int
    ) -> None:
        """Delete the opportunity, its links and its filed notes, if its version is *version*."""
        ...

    def opportunities(
        self,
        team_id: TeamId,
        *,
        stage: Stage | None = None,
        owner_id: MemberId | None = None,
    ) -> list[Opportunity]:
        """Return the team's opportunities (optionally of one stage / owner), oldest first."""
        ...

    def get_case(self, team_id: TeamId, case_id: CaseId) -> Case:
        """Return the case or raise ``NotFound``."""
        ...

    def add_case(self, case: Case) -> None:
        """Insert a new case with its links."""
        ...

    def update_case(self, case: Case) -> None:
        """Replace the case (and its links) stored at ``version - 1``."""
        ...

    def delete_case(self, team_id: TeamId, case_id: CaseId, version: int) -> None:
        """Delete the case, its links and its filed notes, if its version is *version*."""
        ...

    def cases(self, team_id: TeamId, *, status: CaseStatus | None = None) -> list[Case]:
        """Return the team's cases (optionally of one status), oldest first."""
        ...

    def linking(self, team_id: TeamId, target_ids: Iterable[str]) -> list[Opportunity | Case]:
        """Return the records linked to any of *target_ids* (contacts or companies), by id."""
        ...

    def file_note(self, note: RecordNote) -> None:
        """File an interaction under a record (no-op if it is filed there already)."""
        ...

    def note_ids(self, team_id: TeamId, record_id: str) -> list[InteractionId]:
        """Return the ids of the interactions filed under a record, in filing order."""
        ...

    def all_notes(self, team_id: TeamId) -> list[RecordNote]:
        """Return every filed note of the team (for backups)."""
        ...
