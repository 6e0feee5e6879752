"""A lead pool's follow-up reminder: the pure rule (seed 003).

Seed 003 lets an admin "Specify a Follow-Up Reminder for all assigned leads
from this Pool".  teamcrm treats it like every other reminder: a *cadence*
for the lead's **current** owner, computed when the list is read (nothing is
stored per lead, so nothing has to move when the lead is reassigned):

* the clock starts at the latest of: when the current owner got the lead
  (``Lead.assigned_at``), the contact's newest touch by anyone (any logged
  interaction, team-wide), and the owner's own *done* for the contact;
* the reminder is due one cadence after the owner's local date of that start
  and stays due until the next touch; each touch starts the next period;
* it lasts while the lead is assigned (closing, revoking or removing the
  lead ends it) and while the pool still has a reminder.
"""

from __future__ import annotations

from datetime import date, datetime

import attrs

from teamcrm.followup import Cadence, Touch, local_date, newest
from teamcrm.ids import ContactId, MemberId
from teamcrm.lead import Lead, LeadId, LeadStatus
from teamcrm.pool import LeadPool, PoolId

__all__ = ["LEGACY_TASK_NOTE", "PoolReminderDue", "pool_reminder_due"]

#: How the note of a *legacy* pool follow-up task started (before, a pool's
#: reminder was one task per assignment; migration ``0420_pool_reminders``
#: cancels those still open).
LEGACY_TASK_NOTE = "Follow up your new lead from "


@attrs.frozen(kw_only=True)
class PoolReminderDue:
    """When a pool's reminder for one lead falls due for one owner.

    :ivar since: when its clock started (assignment, or the touch below).
    :ivar due_on: the owner's local date it is due.
    :ivar touch: the touch that started the clock (``None``: the assignment).
    """

    lead_id: LeadId
    pool_id: PoolId
    pool_name: str
    contact_id: ContactId
    member_id: MemberId
    cadence: Cadence
    since: datetime
    due_on: date
    touch: Touch | None


def pool_reminder_due(
    lead: Lead,
    pool: LeadPool,
    member_id: MemberId,
    zone: str,
    team_touch: Touch | None,
    own_touch: Touch | None,
) -> PoolReminderDue | None:
    """Return the reminder of *pool* for *lead* owned by *member_id*, or ``None``.

    ``None`` when the pool has no reminder, the lead is not (or no longer)
    assigned to the member, or it is another pool's lead.  *team_touch* is
    the contact's newest team-wide touch, *own_touch* the member's newest own
    one (a *done* counts); touches older than the assignment do not count.
    """
    cadence = pool.follow_up
    if (
        cadence is None
        or lead.pool_id != pool.id
        or lead.status is not LeadStatus.ASSIGNED
        or member_id not in lead.assignee_ids
        or lead.assigned_at is None
    ):
        return None
    touch = newest(team_touch, own_touch)
    if touch is not None and touch.at <= lead.assigned_at:
        touch = None
    since = lead.assigned_at if touch is None else touch.at
    return PoolReminderDue(
        lead_id=lead.id,
        pool_id=pool.id,
        pool_name=pool.name,
        contact_id=lead.contact_id,
        member_id=member_id,
        cadence=cadence,
        since=since,
        due_on=cadence.after(local_date(since, zone)),
        touch=touch,
    )
