"""Domain events and the outbox.

Every use case records what it changed as :class:`DomainEvent`\\ s.  The unit
of work writes them to the store's outbox *in the same transaction* as the
change, so an event exists exactly when its change was committed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, MemberId, TeamId
from teamcrm.validation import Checker, JSONScalar, check_custom_fields

__all__ = ["DomainEvent", "EventName", "OutboxMessage"]


class EventName(enum.StrEnum):
    """Every kind of event teamcrm records."""

    TEAM_CREATED = "team.created"
    TEAM_SETTINGS_CHANGED = "team.settings_changed"
    MEMBER_ADDED = "member.added"
    MEMBER_DEACTIVATED = "member.deactivated"
    MEMBER_REACTIVATED = "member.reactivated"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_AVAILABILITY_CHANGED = "member.availability_changed"
    MEMBER_UPDATED = "member.updated"
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_DELETED = "contact.deleted"
    CONTACT_MERGED = "contact.merged"
    CONTACT_CHANNEL_VALIDATED = "contact.channel_validated"
    CONTACT_CHANNEL_INVALIDATED = "contact.channel_invalidated"
    CONTACT_OPTED_OUT = "contact.opted_out"
    CONTACT_OPTED_IN = "contact.opted_in"
    COMPANY_CREATED = "company.created"
    COMPANY_UPDATED = "company.updated"
    COMPANY_DELETED = "company.deleted"
    BUCKET_CREATED = "bucket.created"
    BUCKET_RENAMED = "bucket.renamed"
    BUCKET_DELETED = "bucket.deleted"
    BUCKET_ACCESS_GRANTED = "bucket.access_granted"
    BUCKET_ACCESS_REVOKED = "bucket.access_revoked"
    BUCKET_SHARED_WITH_TEAM = "bucket.shared_with_team"
    BUCKET_UNSHARED_WITH_TEAM = "bucket.unshared_with_team"
    BUCKET_SETTINGS_CHANGED = "bucket.settings_changed"
    BUCKET_ITEMS_ADDED = "bucket.items_added"
    BUCKET_ITEMS_REMOVED = "bucket.items_removed"
    INTERACTION_LOGGED = "interaction.logged"
    FOLLOW_UP_POLICY_CREATED = "follow_up.policy_created"
    FOLLOW_UP_POLICY_CHANGED = "follow_up.policy_changed"
    FOLLOW_UP_POLICY_REMOVED = "follow_up.policy_removed"
    FOLLOW_UP_SNOOZED = "follow_up.snoozed"
    FOLLOW_UP_DONE = "follow_up.done"
    TASK_CREATED = "task.created"
    TASK_COMPLETED = "task.completed"
    TASK_CANCELLED = "task.cancelled"
    TASK_RESCHEDULED = "task.rescheduled"
    POOL_CREATED = "pool.created"
    POOL_CHANGED = "pool.changed"
    POOL_DELETED = "pool.deleted"
    INBOUND_BUCKET_CHANGED = "member.inbound_bucket_changed"
    LEAD_CREATED = "lead.created"
    LEAD_INTAKE = "lead.intake"
    LEAD_DUPLICATE_SKIPPED = "lead.duplicate_skipped"
    LEAD_ROUTED = "lead.routed"
    LEAD_ASSIGNED = "lead.assigned"
    LEAD_OFFERED = "lead.offered"
    LEAD_REASSIGNED = "lead.reassigned"
    LEAD_REVOKED = "lead.revoked"
    LEAD_REJECTED = "lead.rejected"
    LEAD_REMOVED = "lead.removed"
    LEAD_RETURNED = "lead.returned_to_pool"
    LEAD_UPDATE_REQUESTED = "lead.update_requested"
    LEAD_RESPONSE_MISSED = "lead.response_window_missed"
    ROLE_DEFINED = "role.defined"
    ROLE_DELETED = "role.deleted"
    OFFER_ACCEPTED = "offer.accepted"
    OFFER_DECLINED = "offer.declined"
    OFFER_EXPIRED = "offer.expired"
    OFFER_WITHDRAWN = "offer.withdrawn"
    PROGRAM_CREATED = "program.created"
    PROGRAM_UPDATED = "program.updated"
    PROGRAM_PAUSED = "program.paused"
    PROGRAM_RESUMED = "program.resumed"
    PROGRAM_DELETED = "program.deleted"
    PROGRAM_PUBLISHED = "program.published"
    PROGRAM_ENROLLED = "program.enrolled"
    PROGRAM_STEP_RAN = "program.step_ran"
    PROGRAM_STEP_FAILED = "program.step_failed"
    PROGRAM_ENROLMENT_STOPPED = "program.enrolment_stopped"
    CAMPAIGN_CREATED = "campaign.created"
    CAMPAIGN_STARTED = "campaign.started"
    CAMPAIGN_PAUSED = "campaign.paused"
    CAMPAIGN_RESUMED = "campaign.resumed"
    CAMPAIGN_CANCELLED = "campaign.cancelled"
    CAMPAIGN_SENT = "campaign.sent"
    CAMPAIGN_SEND_SKIPPED = "campaign.send_skipped"
    CAMPAIGN_SEND_FAILED = "campaign.send_failed"
    PROGRAM_FOLLOW_UPS_OVERDUE = "program.follow_ups_overdue"
    OPPORTUNITY_CREATED = "opportunity.created"
    OPPORTUNITY_UPDATED = "opportunity.updated"
    OPPORTUNITY_DELETED = "opportunity.deleted"
    CASE_CREATED = "case.created"
    CASE_UPDATED = "case.updated"
    CASE_DELETED = "case.deleted"


@attrs.frozen(kw_only=True)
class DomainEvent:
    """Something that happened in a team.

    :ivar name: what happened.
    :ivar subject_id: the id of the main thing it happened to.
    :ivar actor_id: the member who caused it (``None`` for the system).
    :ivar data: small JSON-ready details (ids, old and new values).
    """

    name: EventName
    team_id: TeamId
    subject_id: str
    occurred_at: datetime
    actor_id: MemberId | None = None
    data: Mapping[str, JSONScalar | list[str]] = attrs.field(factory=dict, hash=False)

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.enum("name", EventName)
        c.ident("team_id", PREFIXES["team"])
        c.utc("occurred_at")
        c.optional_ident("actor_id", PREFIXES["member"])
        c.text("subject_id", max_len=200)
        object.__setattr__(self, "data", _check_data("DomainEvent.data", self.data))


def _check_data(field: str, value: object) -> dict[str, JSONScalar | list[str]]:
    """Return a copy of event data: names to JSON scalars or lists of strings."""
    if not isinstance(value, Mapping):
        raise ValidationError(field, value, "must be a mapping of names to values")
    out: dict[str, JSONScalar | list[str]] = {}
    for key, item in value.items():
        if isinstance(item, list | tuple):
            check_custom_fields(field, {key: None})  # checks the name
            for element in item:
                if not isinstance(element, str):
                    raise ValidationError(f"{field}[{key!r}]", item, "lists must hold strings")
            out[key] = list(item)
        else:
            out.update(check_custom_fields(field, {key: item}))
    return out


@attrs.frozen(kw_only=True)
class OutboxMessage:
    """An event as stored in the outbox.

    :ivar seq: position in the store's outbox; increases with every commit.
    """

    seq: int
    event: DomainEvent

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.integer("seq", minimum=1)
        if not isinstance(self.event, DomainEvent):
            raise ValidationError("OutboxMessage.event", self.event, "must be a DomainEvent")
