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
from teamcrm.ports.unit_of_work import Store, UnitOfWork
from teamcrm.ports.views import SavedFilterRepository, ViewRepository

__all__ = [
    "BucketRepository",
    "CampaignRepository",
    "CampaignSendRepository",
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
