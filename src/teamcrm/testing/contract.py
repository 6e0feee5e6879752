"""The public contract test suite for storage adapters.

Every adapter shipped with teamcrm passes these tests, and so must yours.
Subclass :class:`StoreContract` in a test module and override the one
abstract fixture, ``store``, to build a fresh, empty store::

    import pytest
    from teamcrm.testing.contract import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            s = MyStore(tmp_path / "crm.db")
            yield s
            s.close()

The suite is split into one class per protocol of :mod:`teamcrm.ports`,
kept in modules by concept (``contract_entities``, ``contract_buckets``,
``contract_log``, ``contract_units``, ``contract_followups``,
``contract_routing``...) and gathered here
(:class:`TeamRepositoryContract`, :class:`ContactRepositoryContract`...,
:class:`UnitOfWorkContract`, :class:`OutboxContract`,
:class:`TeamIsolationContract`); subclass only some of them while an adapter
is half-built.  It depends only on pytest, hypothesis and teamcrm.

Hypothesis examples share the store of one test: every example works in a
fresh team with fresh ids, which is also how the suite checks that teams
never see each other's data.  The number of examples follows the active
hypothesis profile.
"""

from __future__ import annotations

from teamcrm.testing.contract_base import (
    T0,
    Seed,
    StoreContractBase,
    add_all,
    at,
    bump,
    contract_settings,
    fresh,
    new_bucket,
    new_contact,
    new_event,
    read,
    seed_team,
    write,
)
from teamcrm.testing.contract_buckets import BucketRepositoryContract, MembershipRepositoryContract
from teamcrm.testing.contract_campaigns import (
    CampaignRepositoryContract,
    CampaignSendRepositoryContract,
)
from teamcrm.testing.contract_entities import (
    CompanyRepositoryContract,
    ContactRepositoryContract,
    MemberRepositoryContract,
    TeamRepositoryContract,
)
from teamcrm.testing.contract_followups import (
    FollowUpDueRepositoryContract,
    FollowUpIsolationContract,
    FollowUpPolicyRepositoryContract,
    SnoozeRepositoryContract,
    TaskRepositoryContract,
    TouchRepositoryContract,
)
from teamcrm.testing.contract_log import InteractionRepositoryContract, OutboxContract
from teamcrm.testing.contract_notifications import (
    DigestQueueContract,
    NotificationRepositoryContract,
)
from teamcrm.testing.contract_paging import KeysetPageContract
from teamcrm.testing.contract_programs import (
    EnrolmentRepositoryContract,
    ProgramRepositoryContract,
)
from teamcrm.testing.contract_records import RecordRepositoryContract
from teamcrm.testing.contract_retention import OutboxRetentionContract
from teamcrm.testing.contract_routing import (
    AgentGridContract,
    InboundBucketRepositoryContract,
    IntakeRepositoryContract,
    LeadPoolRepositoryContract,
    LeadRepositoryContract,
    OfferRepositoryContract,
    RoutingCursorRepositoryContract,
    RoutingIsolationContract,
)
from teamcrm.testing.contract_units import TeamIsolationContract, UnitOfWorkContract
from teamcrm.testing.contract_views import (
    CompanySearchContract,
    InteractionCountsContract,
    LastContactedContract,
    SavedFilterRepositoryContract,
    SearchContract,
)

__all__ = [
    "T0",
    "AgentGridContract",
    "BucketRepositoryContract",
    "CampaignRepositoryContract",
    "CampaignSendRepositoryContract",
    "CompanyRepositoryContract",
    "CompanySearchContract",
    "ContactRepositoryContract",
    "DigestQueueContract",
    "EnrolmentRepositoryContract",
    "FollowUpDueRepositoryContract",
    "FollowUpIsolationContract",
    "FollowUpPolicyRepositoryContract",
    "InboundBucketRepositoryContract",
    "IntakeRepositoryContract",
    "InteractionCountsContract",
    "InteractionRepositoryContract",
    "KeysetPageContract",
    "LastContactedContract",
    "LeadPoolRepositoryContract",
    "LeadRepositoryContract",
    "MemberRepositoryContract",
    "MembershipRepositoryContract",
    "NotificationRepositoryContract",
    "OfferRepositoryContract",
    "OutboxContract",
    "OutboxRetentionContract",
    "ProgramRepositoryContract",
    "RecordRepositoryContract",
    "RoutingCursorRepositoryContract",
    "RoutingIsolationContract",
    "SavedFilterRepositoryContract",
    "SearchContract",
    "Seed",
    "SnoozeRepositoryContract",
    "StoreContract",
    "StoreContractBase",
    "TaskRepositoryContract",
    "TeamIsolationContract",
    "TeamRepositoryContract",
    "TouchRepositoryContract",
    "UnitOfWorkContract",
    "add_all",
    "at",
    "bump",
    "contract_settings",
    "fresh",
    "new_bucket",
    "new_contact",
    "new_event",
    "read",
    "seed_team",
    "write",
]


class StoreContract(
    TeamRepositoryContract,
    MemberRepositoryContract,
    ContactRepositoryContract,
    CompanyRepositoryContract,
    BucketRepositoryContract,
    MembershipRepositoryContract,
    InteractionRepositoryContract,
    OutboxContract,
    OutboxRetentionContract,
    KeysetPageContract,
    UnitOfWorkContract,
    TeamIsolationContract,
    NotificationRepositoryContract,
    DigestQueueContract,
    FollowUpPolicyRepositoryContract,
    TouchRepositoryContract,
    FollowUpDueRepositoryContract,
    SnoozeRepositoryContract,
    TaskRepositoryContract,
    FollowUpIsolationContract,
    LeadPoolRepositoryContract,
    LeadRepositoryContract,
    OfferRepositoryContract,
    RoutingCursorRepositoryContract,
    InboundBucketRepositoryContract,
    RoutingIsolationContract,
    AgentGridContract,
    SearchContract,
    CompanySearchContract,
    LastContactedContract,
    InteractionCountsContract,
    SavedFilterRepositoryContract,
    IntakeRepositoryContract,
    ProgramRepositoryContract,
    EnrolmentRepositoryContract,
    CampaignRepositoryContract,
    CampaignSendRepositoryContract,
    RecordRepositoryContract,
):
    """Every contract at once: subclass this and override ``store``."""
