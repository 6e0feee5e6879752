"""What every part of routing shares: constants, results, small checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal, get_args

import attrs

from teamcrm.contact import Contact
from teamcrm.errors import NotFound, ValidationError
from teamcrm.events import DomainEvent
from teamcrm.ids import ContactId, TeamId
from teamcrm.lead import (
    MAX_LEAD_NOTE,
    Lead,
    Offer,
)
from teamcrm.notification import Notification
from teamcrm.ports import UnitOfWork
from teamcrm.routing import (
    RoutingDecision,
    RoutingExplanation,
)
from teamcrm.service.base import MAX_BULK
from teamcrm.validation import (
    check_id,
    check_text,
    trusted_builder,
)

#: Pass as ``assignee`` to :meth:`RoutingUseCases.routing_dashboard` for leads nobody owns.
UNASSIGNED = "unassigned"
#: Name of the personal bucket created for a member's routed leads.
INBOUND_BUCKET_NAME = "Routed leads"
#: The columns the routing dashboard sorts by, for type checkers.
DashboardSort = Literal[
    "assigned_at",
    "last_contacted_at",
    "created_at",
    "contact_name",
    "pool_name",
    "assignee_name",
    "status",
]
#: The columns the routing dashboard sorts by.
DASHBOARD_SORTS: frozenset[str] = frozenset(get_args(DashboardSort))
POOL_FIELDS = frozenset(
    {
        "name",
        "source_bucket_ids",
        "member_ids",
        "method",
        "offer_window",
        "follow_up",
        "fallback_member_id",
        "weights",
        "capacity",
        "member_capacity",
        "response_window",
        "dedupe",
    }
)
#: Offers settled per unit of work by :func:`expire_offers`.
EXPIRY_BATCH = 500
#: Leads checked per unit of work by :func:`enforce_response_windows`.
RESPONSE_BATCH = 200
#: The rolling window of the 30-day capacity.
ROLLING = timedelta(days=30)


@attrs.frozen(kw_only=True)
class RoutingResult:
    """What one routing call did to one lead.

    :ivar lead: the lead as stored after the call.
    :ivar decision: the decision that was applied (with its explanation).
    :ivar offers: the offers the call made (for offered leads).
    """

    lead: Lead
    decision: RoutingDecision
    offers: tuple[Offer, ...] = ()

    @property
    def explanation(self) -> RoutingExplanation:
        """Why the lead went where it went."""
        return self.decision.explanation

    @property
    def warnings(self) -> tuple[str, ...]:
        """What deserves a second look (e.g. ``"... is away until ..."``)."""
        return self.decision.explanation.warnings


def _note(value: str | None) -> str | None:
    if value is None:
        return None
    return (
        check_text("note", value, max_len=MAX_LEAD_NOTE, multiline=True, allow_empty=True) or None
    )


# Constructors without checks, for records routing builds from checked values
# (see ``validation.trusted``); one lead makes one of each (and a membership,
# ``service.base._membership``).
_lead = trusted_builder(Lead)
_notification = trusted_builder(Notification)
_domain_event = trusted_builder(DomainEvent)


def _name(contact: Contact | None) -> str:
    if contact is None:
        return "(deleted contact)"
    first, last = contact.first_name, contact.last_name
    return (f"{first} {last}" if first and last else first or last) or contact.id


def _keys(contact: Contact) -> tuple[str, ...]:
    """The contact's dedupe keys: normalised (lower-case) emails and phone numbers."""
    return tuple(
        [f"email:{e.address.strip().lower()}" for e in contact.emails]
        + [f"phone:{p.number}" for p in contact.phones]
    )


def _load_contacts(uow: UnitOfWork, team_id: TeamId, ids: Sequence[ContactId]) -> list[Contact]:
    """Load contacts: one by one (primary-key lookups) when few, else in one query.

    A few ``get`` calls keep a one-contact routing unit independent of the
    team's size on stores whose ``get_many`` scans the team.
    """
    if len(ids) > 8:
        return uow.contacts.get_many(team_id, ids)
    out = []
    for contact_id in dict.fromkeys(ids):
        try:
            out.append(uow.contacts.get(team_id, contact_id))
        except NotFound:
            continue
    return out


#: The columns ``leads()`` shows as a table (a lead's explanation is left to ``explain``).
LEAD_COLUMNS = ("id", "contact_id", "pool_id", "status", "assignee_ids", "assigned_at", "entry")


def _enum(field: str, enum_cls: Any, value: Any) -> Any:
    from teamcrm.validation import check_enum

    return check_enum(field, enum_cls, value)


def _id_list(field: str, value: Any, *, prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """Check a list of ids (one id alone is accepted too); keep order, drop repeats."""
    items: list[Any]
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError(field, value, "must be an id or a list of ids")
    else:
        items = list(value)
    if len(items) > MAX_BULK:
        raise ValidationError(field, len(items), f"at most {MAX_BULK} ids per call")
    out: dict[str, None] = {}
    for item in items:
        prefix = next(
            (p for p in prefixes if isinstance(item, str) and item.startswith(p)), prefixes[0]
        )
        out[check_id(field, item, prefix)] = None
    return tuple(out)
