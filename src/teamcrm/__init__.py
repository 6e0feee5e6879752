"""teamcrm: the rules of a team CRM as an embeddable library.

Start with :func:`open`::

    import teamcrm

    crm = teamcrm.open("memory://")            # or "sqlite:///team.db"
    team, admin = crm.create_team("Acme Realty", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bucket = ana.create_bucket("Past Clients")
    bea = ana.create_contact("Bea", "Jones", emails=["bea@example.com"])
    ana.add_to_bucket(bucket.id, bea.id)

Everything a member does goes through the :class:`MemberSession` returned
by :meth:`CRM.as_member`.  Errors are all :class:`TeamCRMError` subclasses.
"""

from teamcrm import log as log  # the library's loggers (NullHandler on 'teamcrm')
from teamcrm.bucket import AccessGrant, AccessLevel, Bucket, BucketKind, BucketMembership
from teamcrm.campaign import (
    Campaign,
    CampaignId,
    CampaignReport,
    CampaignSend,
    CampaignSendId,
    CampaignState,
    SendSkipReason,
    SendState,
)
from teamcrm.case import Case, CaseStatus
from teamcrm.clock import Clock, SettableClock, SystemClock
from teamcrm.contact import Company, Contact, EmailAddress, PhoneNumber
from teamcrm.converter import make_converter, structure, unstructure
from teamcrm.delivery import EmailDigestChannel, NotificationChannel
from teamcrm.digest import Digest, OutgoingEmail, build_digest
from teamcrm.errors import (
    AlreadyExists,
    CannotEmail,
    ConcurrencyError,
    ContactOptedOut,
    ForeignDatabaseError,
    MissingDatabaseError,
    NoEmailAddress,
    NotFound,
    OfferClosed,
    PermissionDenied,
    SchemaVersionError,
    StoreError,
    TeamCRMError,
    TemplateError,
    ValidationError,
)
from teamcrm.events import DomainEvent, EventName, OutboxMessage
from teamcrm.followup import (
    Cadence,
    CadenceUnit,
    FollowUpPolicy,
    FollowUpReason,
    FollowUpRow,
    PolicyId,
    RowKind,
    Snooze,
    TouchKind,
)
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
from teamcrm.interaction import Interaction, InteractionKind, Outcome
from teamcrm.lead import (
    Lead,
    LeadId,
    LeadRow,
    LeadStatus,
    Offer,
    OfferId,
    OfferStatus,
)
from teamcrm.multi_assign import MultiAssignMode
from teamcrm.notification import Notification, NotificationId, NotificationKind
from teamcrm.opener import open, open_store, register_store
from teamcrm.opportunity import Opportunity, RecordNote, Stage
from teamcrm.outgoing import build_message
from teamcrm.pool import Capacity, DistributionMethod, LeadPool, PoolId, StrategyName
from teamcrm.pool_reminder import PoolReminderDue, pool_reminder_due
from teamcrm.program import (
    Condition,
    ConditionKind,
    Enrolment,
    EnrolmentId,
    EnrolmentState,
    Program,
    ProgramId,
    ProgramScope,
    ProgramState,
    ReEnrol,
    Step,
    StepKind,
    StopReason,
    Trigger,
    TriggerKind,
)
from teamcrm.repositories import RepositorySpec, register_repository, repository
from teamcrm.retry import retry_on_conflict
from teamcrm.routing import (
    MemberLoad,
    RoutingContext,
    RoutingDecision,
    RoutingExplanation,
    RoutingOutcome,
    RoutingStrategy,
    Skipped,
    SkipReason,
    StrategyTraits,
    register_strategy,
)
from teamcrm.search import ContactQuery, DateRange, SavedFilter, SavedFilterId
from teamcrm.sender import DeliveryError, MemorySender, Sender, SMTPSender
from teamcrm.service import CRM, ContactChanges, ContactDraft, ContactRecord, MemberSession
from teamcrm.service.campaign_runner import CampaignRunReport
from teamcrm.service.campaigns import CampaignPreview, PreviewMessage
from teamcrm.service.notifications import DigestFailure, DigestReport
from teamcrm.service.program_runner import RunReport
from teamcrm.service.programs import ContactProgram, ProgramReport
from teamcrm.service.routing import RoutingResult, enforce_response_windows
from teamcrm.task import Task, TaskId, TaskStatus
from teamcrm.team import BucketManagement, Member, Role, Team, TeamSettings
from teamcrm.templates import RenderedEmail, Template, preferred_email
from teamcrm.views import DueRow, GridRow, InsightRow, SearchRow, Signal, View
from teamcrm.waits import (
    Wait,
    WaitBusinessDays,
    WaitDays,
    WaitUntil,
    due_at,
    parse_wait,
    wait_to_dict,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "CRM",
    "AccessGrant",
    "AccessLevel",
    "AlreadyExists",
    "Bucket",
    "BucketId",
    "BucketKind",
    "BucketManagement",
    "BucketMembership",
    "Cadence",
    "CadenceUnit",
    "Campaign",
    "CampaignId",
    "CampaignPreview",
    "CampaignReport",
    "CampaignRunReport",
    "CampaignSend",
    "CampaignSendId",
    "CampaignState",
    "CannotEmail",
    "Capacity",
    "Case",
    "CaseId",
    "CaseStatus",
    "Clock",
    "Company",
    "CompanyId",
    "ConcurrencyError",
    "Condition",
    "ConditionKind",
    "Contact",
    "ContactChanges",
    "ContactDraft",
    "ContactId",
    "ContactOptedOut",
    "ContactProgram",
    "ContactQuery",
    "ContactRecord",
    "DateRange",
    "DeliveryError",
    "Digest",
    "DigestFailure",
    "DigestReport",
    "DistributionMethod",
    "DomainEvent",
    "DueRow",
    "EmailAddress",
    "EmailDigestChannel",
    "Enrolment",
    "EnrolmentId",
    "EnrolmentState",
    "EventName",
    "FollowUpPolicy",
    "FollowUpReason",
    "FollowUpRow",
    "ForeignDatabaseError",
    "GridRow",
    "InsightRow",
    "Interaction",
    "InteractionId",
    "InteractionKind",
    "Lead",
    "LeadId",
    "LeadPool",
    "LeadRow",
    "LeadStatus",
    "Member",
    "MemberId",
    "MemberLoad",
    "MemberSession",
    "MemorySender",
    "MissingDatabaseError",
    "MultiAssignMode",
    "NoEmailAddress",
    "NotFound",
    "Notification",
    "NotificationChannel",
    "NotificationId",
    "NotificationKind",
    "Offer",
    "OfferClosed",
    "OfferId",
    "OfferStatus",
    "Opportunity",
    "OpportunityId",
    "OutboxMessage",
    "Outcome",
    "OutgoingEmail",
    "PermissionDenied",
    "PhoneNumber",
    "PolicyId",
    "PoolId",
    "PoolReminderDue",
    "PreviewMessage",
    "Program",
    "ProgramId",
    "ProgramReport",
    "ProgramScope",
    "ProgramState",
    "ReEnrol",
    "RecordNote",
    "RenderedEmail",
    "RepositorySpec",
    "Role",
    "RoutingContext",
    "RoutingDecision",
    "RoutingExplanation",
    "RoutingOutcome",
    "RoutingResult",
    "RoutingStrategy",
    "RowKind",
    "RunReport",
    "SMTPSender",
    "SavedFilter",
    "SavedFilterId",
    "SchemaVersionError",
    "SearchRow",
    "SendSkipReason",
    "SendState",
    "Sender",
    "SettableClock",
    "Signal",
    "SkipReason",
    "Skipped",
    "Snooze",
    "Stage",
    "Step",
    "StepKind",
    "StopReason",
    "StoreError",
    "StrategyName",
    "StrategyTraits",
    "SystemClock",
    "Task",
    "TaskId",
    "TaskStatus",
    "Team",
    "TeamCRMError",
    "TeamId",
    "TeamSettings",
    "Template",
    "TemplateError",
    "TouchKind",
    "Trigger",
    "TriggerKind",
    "ValidationError",
    "View",
    "Wait",
    "WaitBusinessDays",
    "WaitDays",
    "WaitUntil",
    "build_digest",
    "build_message",
    "due_at",
    "enforce_response_windows",
    "make_converter",
    "open",
    "open_store",
    "parse_wait",
    "pool_reminder_due",
    "preferred_email",
    "register_repository",
    "register_store",
    "register_strategy",
    "repository",
    "retry_on_conflict",
    "structure",
    "unstructure",
    "wait_to_dict",
]
