"""The unit of work that holds every repository, and the store that opens units"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from teamcrm.events import DomainEvent
from teamcrm.ports.buckets import BucketRepository, MembershipRepository
from teamcrm.ports.campaigns import CampaignRepository, CampaignSendRepository
from teamcrm.ports.contacts import CompanyRepository, ContactRepository
from teamcrm.ports.followups import (
    FollowUpDueRepository,
    FollowUpPolicyRepository,
    SnoozeRepository,
    TaskRepository,
    TouchRepository,
)
from teamcrm.ports.interactions import InteractionRepository
from teamcrm.ports.notifications import NotificationRepository
from teamcrm.ports.outbox import ConsumerPositionRepository, OutboxRepository
from teamcrm.ports.people import MemberRepository, TeamRepository
from teamcrm.ports.programs import EnrolmentRepository, ProgramRepository
from teamcrm.ports.records import RecordRepository
from teamcrm.ports.routing import (
    InboundBucketRepository,
    IntakeRepository,
    LeadPoolRepository,
    LeadRepository,
    OfferRepository,
    RoutingCursorRepository,
)
from teamcrm.ports.views import SavedFilterRepository, ViewRepository


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
    campaigns: CampaignRepository
    campaign_sends: CampaignSendRepository
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
