"""The shared part of every adapter's unit of work.

:class:`BaseUnitOfWork` keeps the collected domain events, writes them to the
outbox on commit (inside the adapter's transaction) and rolls back whatever a
``with`` block leaves uncommitted.  Adapters supply ``_begin``, ``_commit``
and ``_rollback`` and set the repository attributes.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from teamcrm.errors import StoreError
from teamcrm.events import DomainEvent
from teamcrm.ports import (
    BucketRepository,
    CampaignRepository,
    CampaignSendRepository,
    CompanyRepository,
    ConsumerPositionRepository,
    ContactRepository,
    EnrolmentRepository,
    FollowUpDueRepository,
    FollowUpPolicyRepository,
    InboundBucketRepository,
    IntakeRepository,
    InteractionRepository,
    LeadPoolRepository,
    LeadRepository,
    MemberRepository,
    MembershipRepository,
    NotificationRepository,
    OfferRepository,
    OutboxRepository,
    ProgramRepository,
    RecordRepository,
    RoutingCursorRepository,
    SavedFilterRepository,
    SnoozeRepository,
    TaskRepository,
    TeamRepository,
    TouchRepository,
    ViewRepository,
)

__all__ = ["BaseUnitOfWork"]


class BaseUnitOfWork:
    """Event collection, commit and rollback bookkeeping for adapters."""

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

    def __init__(self) -> None:
        self._events: list[DomainEvent] = []
        self._state = "new"

    # -- adapter hooks -----------------------------------------------------
    def _begin(self) -> None:
        raise NotImplementedError

    def _append_and_commit(self, events: list[DomainEvent]) -> None:
        """Write *events* to the outbox, then commit (an adapter may do both at once)."""
        if events:
            self.outbox.append(events)
        self._commit()

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    # -- public API --------------------------------------------------------
    def __enter__(self) -> Self:
        if self._state != "new":
            raise StoreError("a unit of work can be entered only once")
        self._begin()
        self._state = "open"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state == "open":
            self.rollback()

    def collect(self, *events: DomainEvent) -> None:
        """Remember *events*; they reach the outbox only if the unit commits."""
        self._require_open()
        self._events.extend(events)

    def commit(self) -> None:
        """Write the collected events to the outbox, then commit everything."""
        self._require_open()
        try:
            self._append_and_commit(self._events)
        except BaseException:
            self.rollback()
            raise
        self._events.clear()
        self._state = "done"

    def rollback(self) -> None:
        """Discard the unit's changes and its collected events."""
        if self._state != "open":
            return
        self._events.clear()
        self._state = "done"
        self._rollback()

    def _require_open(self) -> None:
        if self._state != "open":
            raise StoreError(f"the unit of work is not open (it is {self._state})")
