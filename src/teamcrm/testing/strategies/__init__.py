"""Hypothesis strategies for every teamcrm entity, and for invalid input.

Every strategy here builds *valid* values (entities pass their own checks),
except the ``invalid_*`` / ``naive_*`` strategies, which build values that
the named check must reject.  Use them in your own tests::

    from hypothesis import given
    from teamcrm.testing import strategies as tst

    @given(contact=tst.contacts())
    def test_contact_round_trips(contact): ...

Strategies that build team-scoped entities take the ids they refer to
(``team_id``, ``created_by``, ``company_ids``...).  Each of these parameters
accepts either a plain value or a hypothesis strategy; by default a fresh
random id is drawn, which is fine for pure domain tests but not for a store
that checks references — the contract suite passes ids of rows it created.
"""

from __future__ import annotations

from teamcrm.testing.strategies.entities import (
    access_grants,
    buckets,
    companies,
    contacts,
    domain_events,
    interactions,
    members,
    memberships,
    personal_buckets,
    team_buckets,
    team_settings,
    teams,
)
from teamcrm.testing.strategies.fields import (
    custom_field_values,
    custom_fields,
    email_addresses,
    emails,
    phone_numbers,
    phones,
)
from teamcrm.testing.strategies.followups import (
    cadences,
    follow_up_dues,
    follow_up_policies,
    policy_ids,
    snoozes,
    task_ids,
    tasks,
    touches,
)
from teamcrm.testing.strategies.identifiers import (
    bucket_ids,
    company_ids,
    contact_ids,
    interaction_ids,
    member_ids,
    team_ids,
)
from teamcrm.testing.strategies.invalid import invalid_custom_fields, invalid_ids, invalid_texts
from teamcrm.testing.strategies.notifications import notification_ids, notifications
from teamcrm.testing.strategies.routing import (
    inbound_buckets,
    lead_ids,
    lead_pools,
    leads,
    offer_ids,
    offer_windows,
    offers,
    pool_ids,
    routing_cursors,
    routing_explanations,
)
from teamcrm.testing.strategies.text_and_time import (
    AWKWARD_TEXTS,
    MAX_DATETIME,
    MIN_DATETIME,
    aware_datetimes,
    invalid_datetimes,
    naive_datetimes,
    out_of_range_datetimes,
    time_zones,
    unicode_text,
)

__all__ = [
    "AWKWARD_TEXTS",
    "MAX_DATETIME",
    "MIN_DATETIME",
    "access_grants",
    "aware_datetimes",
    "bucket_ids",
    "buckets",
    "cadences",
    "companies",
    "company_ids",
    "contact_ids",
    "contacts",
    "custom_field_values",
    "custom_fields",
    "domain_events",
    "email_addresses",
    "emails",
    "follow_up_dues",
    "follow_up_policies",
    "inbound_buckets",
    "interaction_ids",
    "interactions",
    "invalid_custom_fields",
    "invalid_datetimes",
    "invalid_ids",
    "invalid_texts",
    "lead_ids",
    "lead_pools",
    "leads",
    "member_ids",
    "members",
    "memberships",
    "naive_datetimes",
    "notification_ids",
    "notifications",
    "offer_ids",
    "offer_windows",
    "offers",
    "out_of_range_datetimes",
    "personal_buckets",
    "phone_numbers",
    "phones",
    "policy_ids",
    "pool_ids",
    "routing_cursors",
    "routing_explanations",
    "snoozes",
    "task_ids",
    "tasks",
    "team_buckets",
    "team_ids",
    "team_settings",
    "teams",
    "time_zones",
    "touches",
    "unicode_text",
]
