"""Notifications: what a member is told, in the app and by email digest.

Use cases write notifications through ``uow.notifications`` in the same unit
of work as the change that caused them (an outbox), so none is lost and none
exists for a change that was rolled back.  In-app, they are available at
once; by email they are gathered into at most one digest per member per hour.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import NewType

import attrs

from teamcrm import ids as _ids
from teamcrm.ids import PREFIXES, MemberId, TeamId
from teamcrm.validation import MAX_BODY, Checker, JSONScalar

__all__ = [
    "Notification",
    "NotificationId",
    "NotificationKind",
    "new_notification_id",
    "new_notification_ids",
]

NotificationId = NewType("NotificationId", str)


def new_notification_id() -> NotificationId:
    """Return a fresh, random notification id (``nt_…``)."""
    return NotificationId(PREFIXES["notification"] + _ids.id_suffix())


def new_notification_ids(count: int) -> list[NotificationId]:
    """Return *count* fresh notification ids, in increasing order.

    Made together (see :func:`~teamcrm.ids.id_suffixes`).
    """
    prefix = PREFIXES["notification"]
    return [NotificationId(prefix + suffix) for suffix in _ids.id_suffixes(count)]


class NotificationKind(enum.StrEnum):
    """Why a member is being told something."""

    LEAD_ASSIGNED = "lead_assigned"
    LEAD_OFFERED = "lead_offered"
    LEAD_REASSIGNED_TO_YOU = "lead_reassigned_to_you"
    LEAD_REASSIGNED_AWAY = "lead_reassigned_away"
    LEAD_REVOKED = "lead_revoked"
    LEAD_REMOVED = "lead_removed"
    LEAD_REJECTED = "lead_rejected"
    LEAD_UNASSIGNED = "lead_unassigned"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_WITHDRAWN = "offer_withdrawn"
    OFFER_EXPIRED = "offer_expired"
    OFFER_DECLINED = "offer_declined"
    UPDATE_REQUESTED = "update_requested"
    RESPONSE_WINDOW_MISSED = "response_window_missed"
    NO_ELIGIBLE_MEMBER = "no_eligible_member"
    LEAD_DUPLICATE = "lead_duplicate"
    PROGRAM_STEP = "program_step"


@attrs.frozen(kw_only=True)
class Notification:
    """One message to one member.

    :ivar subject_id: what it is about (a lead, contact or offer id).
    :ivar message: one line for people (``"New lead: Maria Garcia (Website leads)"``).
    :ivar read_at: when the member marked it read in the app, or ``None``.
    :ivar emailed_at: when it went out in an email digest, or ``None``.
    :ivar data: small JSON-ready details for templates.
    """

    id: NotificationId
    team_id: TeamId
    member_id: MemberId
    kind: NotificationKind
    subject_id: str
    message: str
    created_at: datetime
    read_at: datetime | None = None
    emailed_at: datetime | None = None
    data: Mapping[str, JSONScalar] = attrs.field(factory=dict, hash=False)

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["notification"])
        c.ident("team_id", PREFIXES["team"])
        c.ident("member_id", PREFIXES["member"])
        c.enum("kind", NotificationKind)
        c.text("subject_id", max_len=64)
        c.text("message", max_len=MAX_BODY)
        c.utc("created_at")
        c.optional_utc("read_at")
        c.optional_utc("emailed_at")
        c.custom("data")
