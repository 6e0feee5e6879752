"""teamcrm's own repositories, declared once: :data:`CORE_REPOSITORIES`.

Every store, unit of work and the contract suite are wired from this list
(see :mod:`teamcrm.repositories`).  Adding one of teamcrm's repositories
takes its code, an entry here and its attribute on
:class:`teamcrm.ports.UnitOfWork` (``docs/architecture.md``, "Adding a
repository").  The implementations are named ``"module:attribute"`` and
imported when a store opens: the adapters import this module.
"""

from __future__ import annotations

from typing import Any

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
from teamcrm.repositories import RepositorySpec

__all__ = ["CORE_NAMES", "CORE_REPOSITORIES"]


def _core(
    name: str,
    protocol: object,
    *,
    memory: str,
    sql: str,
    postgres: str | None = None,
    tables: tuple[str, ...] = (),
    logs: tuple[str, ...] = (),
    contracts: tuple[str, ...] = (),
) -> RepositorySpec[Any]:
    """A core spec; *memory*, *sql*, *postgres* and *contracts* are ``"module:attribute"``."""
    return RepositorySpec(
        name=name,
        protocol=protocol,
        memory=f"teamcrm.adapters.memory.{memory}",
        sql=f"teamcrm.adapters.{sql}",
        postgres=None if postgres is None else f"teamcrm.adapters.postgres.{postgres}",
        tables=tables,
        logs=logs,
        contracts=tuple(f"teamcrm.testing.contract_{c}" for c in contracts),
        builtin=True,
    )


#: teamcrm's own repositories: every attribute of :class:`teamcrm.ports.UnitOfWork`.
#: The stores, the units and the contract suite are derived from this list: a
#: new core repository is one entry here (and its attribute on the protocol).
#: Implementations are named ``"module:attribute"`` (imported when a store
#: opens: the adapters import this module); ``memory`` names a function of the
#: unit's :class:`~teamcrm.adapters.memory.tables.MemoryTables`.
CORE_REPOSITORIES: tuple[RepositorySpec[Any], ...] = (
    _core(
        "teams",
        TeamRepository,
        memory="entities:memory_teams",
        sql="sql.teams:SQLiteTeams",
        postgres="repositories:PGTeams",
        tables=("teams",),
        contracts=("entities:TeamRepositoryContract",),
    ),
    _core(
        "members",
        MemberRepository,
        memory="entities:memory_members",
        sql="sql.teams:SQLiteMembers",
        tables=("members",),
        contracts=("entities:MemberRepositoryContract",),
    ),
    _core(
        "contacts",
        ContactRepository,
        memory="entities:memory_contacts",
        sql="sql.contacts:SQLiteContacts",
        postgres="views:PGContacts",
        tables=("contacts",),
        contracts=("entities:ContactRepositoryContract", "paging:KeysetPageContract"),
    ),
    _core(
        "companies",
        CompanyRepository,
        memory="entities:memory_companies",
        sql="sql.companies:SQLiteCompanies",
        postgres="company_names:PGCompanies",
        tables=("companies",),
        contracts=("entities:CompanyRepositoryContract",),
    ),
    _core(
        "buckets",
        BucketRepository,
        memory="entities:memory_buckets",
        sql="sql.buckets:SQLiteBuckets",
        tables=("buckets",),
        contracts=("buckets:BucketRepositoryContract",),
    ),
    _core(
        "memberships",
        MembershipRepository,
        memory="entities:memory_memberships",
        sql="sql.buckets:SQLiteMemberships",
        postgres="repositories:PGMemberships",
        tables=("memberships",),
        contracts=("buckets:MembershipRepositoryContract",),
    ),
    _core(
        "interactions",
        InteractionRepository,
        memory="entities:memory_interactions",
        sql="sql.interactions:SQLiteInteractions",
        postgres="later:PGInteractions",
        tables=("interactions",),
        contracts=("log:InteractionRepositoryContract",),
    ),
    _core(
        "outbox",
        OutboxRepository,
        memory="outbox:memory_outbox",
        sql="sql.outbox:SQLiteOutbox",
        postgres="repositories:PGOutbox",
        tables=("outbox",),
        contracts=("log:OutboxContract",),
    ),
    _core(
        "consumer_positions",
        ConsumerPositionRepository,
        memory="outbox:memory_consumer_positions",
        sql="sql.consumers:SQLiteConsumerPositions",
        tables=("consumer_positions",),
        contracts=("retention:OutboxRetentionContract",),
    ),
    _core(
        "notifications",
        NotificationRepository,
        memory="notifications:memory_notifications",
        sql="sql.notifications:SQLiteDigestNotifications",
        postgres="notifications:PGNotifications",
        tables=("notifications", "notification_digests", "notifications_skipped"),
        contracts=(
            "notifications:NotificationRepositoryContract",
            "notifications:DigestQueueContract",
        ),
    ),
    _core(
        "followup_policies",
        FollowUpPolicyRepository,
        memory="followups:memory_followup_policies",
        sql="sql.followups:SQLiteFollowUpPolicies",
        tables=("followup_policies",),
        contracts=("followup_clocks:FollowUpPolicyRepositoryContract",),
    ),
    _core(
        "touches",
        TouchRepository,
        memory="followups:memory_touches",
        sql="sql.followups:SQLiteTouches",
        postgres="later:PGTouches",
        tables=("touches_team", "touches_member", "touches_pending"),
        contracts=("followup_clocks:TouchRepositoryContract",),
    ),
    _core(
        "followup_dues",
        FollowUpDueRepository,
        memory="followups:memory_followup_dues",
        sql="sql.followups:SQLiteFollowUpDues",
        postgres="later:PGFollowUpDues",
        tables=("followup_dues",),
        contracts=("followup_clocks:FollowUpDueRepositoryContract",),
    ),
    _core(
        "snoozes",
        SnoozeRepository,
        memory="followups:memory_snoozes",
        sql="sql.followups:SQLiteSnoozes",
        tables=("snoozes",),
        contracts=("followup_tasks:SnoozeRepositoryContract",),
    ),
    _core(
        "tasks",
        TaskRepository,
        memory="followups:memory_tasks",
        sql="sql.tasks:SQLiteTasks",
        tables=("tasks",),
        contracts=("followup_tasks:TaskRepositoryContract", "followups:FollowUpIsolationContract"),
    ),
    _core(
        "lead_pools",
        LeadPoolRepository,
        memory="routing:memory_lead_pools",
        sql="sql.pools:SQLiteLeadPools",
        tables=("lead_pools", "role_slots"),
        contracts=("leads:LeadPoolRepositoryContract",),
    ),
    _core(
        "leads",
        LeadRepository,
        memory="routing:memory_leads",
        sql="sql.leads:SQLiteLeads",
        postgres="routing:PGLeads",
        tables=(
            "leads",
            "leads_open",
            "leads_keys",
            "lead_entries",
            "lead_loads",
            "lead_receipts",
            "lead_response_due",
        ),
        logs=("lead_received",),
        contracts=("leads:LeadRepositoryContract",),
    ),
    _core(
        "offers",
        OfferRepository,
        memory="routing:memory_offers",
        sql="sql.offers:SQLiteOffers",
        postgres="routing:PGOffers",
        tables=("offers", "offers_by_lead"),
        contracts=("offers:OfferRepositoryContract",),
    ),
    _core(
        "routing_cursors",
        RoutingCursorRepository,
        memory="routing:memory_routing_cursors",
        sql="sql.pools:SQLiteRoutingCursors",
        postgres="routing:PGRoutingCursors",
        tables=("routing_cursors",),
        contracts=("offers:RoutingCursorRepositoryContract",),
    ),
    _core(
        "inbound_buckets",
        InboundBucketRepository,
        memory="routing:memory_inbound_buckets",
        sql="sql.inbound:SQLiteInboundBuckets",
        tables=("inbound_buckets",),
        contracts=(
            "routing:InboundBucketRepositoryContract",
            "routing:RoutingIsolationContract",
        ),
    ),
    _core(
        "views",
        ViewRepository,
        memory="views:memory_views",
        sql="sqlite.views:SQLiteViews",
        postgres="views:PGViews",
        contracts=(
            "offers:AgentGridContract",
            "views:SearchContract",
            "views:CompanySearchContract",
            "views:LastContactedContract",
            "views:InteractionCountsContract",
        ),
    ),
    _core(
        "saved_filters",
        SavedFilterRepository,
        memory="views:memory_saved_filters",
        sql="sql.saved_filters:SQLiteSavedFilters",
        tables=("saved_filters",),
        contracts=("views:SavedFilterRepositoryContract",),
    ),
    _core(
        "intake",
        IntakeRepository,
        memory="routing:memory_intake",
        sql="sql.intake:SQLiteIntake",
        tables=("intake",),
        contracts=("routing:IntakeRepositoryContract",),
    ),
    _core(
        "programs",
        ProgramRepository,
        memory="programs:memory_programs",
        sql="sql.programs:SQLitePrograms",
        tables=("programs",),
        contracts=("programs:ProgramRepositoryContract",),
    ),
    _core(
        "enrolments",
        EnrolmentRepository,
        memory="programs:memory_enrolments",
        sql="sql.programs:SQLiteEnrolments",
        postgres="programs:PGEnrolments",
        tables=("enrolments",),
        contracts=("programs:EnrolmentRepositoryContract",),
    ),
    _core(
        "campaigns",
        CampaignRepository,
        memory="campaigns:memory_campaigns",
        sql="sql.campaigns:SQLiteCampaigns",
        tables=("campaigns",),
        contracts=("campaigns:CampaignRepositoryContract",),
    ),
    _core(
        "campaign_sends",
        CampaignSendRepository,
        memory="campaigns:memory_campaign_sends",
        sql="sql.campaigns:SQLiteCampaignSends",
        postgres="campaigns:PGCampaignSends",
        tables=("campaign_sends",),
        contracts=("campaigns:CampaignSendRepositoryContract",),
    ),
    _core(
        "records",
        RecordRepository,
        memory="records:memory_records",
        sql="sql.records:SQLiteRecords",
        postgres="records:PGRecords",
        tables=("opportunities", "cases", "record_notes"),
        contracts=("records:RecordRepositoryContract",),
    ),
)

#: The unit-of-work attributes of :data:`CORE_REPOSITORIES`.
CORE_NAMES = frozenset(spec.name for spec in CORE_REPOSITORIES)
