"""Pool follow-up reminders in a member's follow-up list (seed 003).

Nothing is stored per lead: when a member's list is read, the member's
assigned leads of the pools that have a reminder (one store query,
:meth:`~teamcrm.ports.LeadRepository.owned`) are combined with the contacts'
newest touches (:func:`teamcrm.pool_reminder.pool_reminder_due`).  So the
reminder follows the lead's current owner, is reset by any touch and ends
with the assignment, without any row to move.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from teamcrm.followup import FollowUpRow, RowKind, Touch, local_date, newest, start_of_day
from teamcrm.ids import ContactId, TeamId
from teamcrm.pool_reminder import PoolReminderDue, pool_reminder_due
from teamcrm.ports import UnitOfWork
from teamcrm.team import Member

__all__ = ["pool_reminder_rows"]

#: ``seen(uow, [member], contact_ids)``: the contacts the member may see now.
SeenContacts = Callable[[UnitOfWork, Sequence[Member], Sequence[str]], set[str]]


def pool_reminder_rows(
    uow: UnitOfWork, team_id: TeamId, member: Member, at: datetime, seen: SeenContacts
) -> list[FollowUpRow]:
    """The member's pool-reminder rows due at *at* (local date of *at*, member's zone).

    A row is listed while the member owns the lead, can see its contact and
    has not snoozed the contact past *at*; touches dated in the future
    (pending) count once *at* has reached them.
    """
    pools = {p.id: p for p in uow.lead_pools.all(team_id) if p.follow_up is not None}
    if not pools:
        return []
    leads = uow.leads.owned(team_id, member.id, list(pools))
    if not leads:
        return []
    contact_ids = list(dict.fromkeys(ContactId(lead.contact_id) for lead in leads))
    team_touch = uow.touches.team_latest(team_id, contact_ids)
    own_touch: dict[str, Touch] = {
        cid: t
        for (cid, mid), t in uow.touches.member_latest(team_id, contact_ids).items()
        if mid == member.id
    }
    wanted = set(contact_ids)
    for t in uow.touches.pending(team_id, at):
        if t.contact_id not in wanted:
            continue
        if t.team_wide:
            team_touch[t.contact_id] = newest(team_touch.get(t.contact_id), t) or t
        elif t.member_id == member.id:
            own_touch[t.contact_id] = newest(own_touch.get(t.contact_id), t) or t
    zone = member.time_zone
    today = local_date(at, zone)
    dues: list[PoolReminderDue] = []
    for lead in leads:
        pool = None if lead.pool_id is None else pools.get(lead.pool_id)
        if pool is None:
            continue
        due = pool_reminder_due(
            lead,
            pool,
            member.id,
            zone,
            team_touch.get(lead.contact_id),
            own_touch.get(lead.contact_id),
        )
        if due is not None and due.due_on <= today:
            dues.append(due)
    if not dues:
        return []
    visible = seen(uow, [member], [d.contact_id for d in dues])
    dues = [
        d for d in dues if d.contact_id in visible and not _snoozed(uow, team_id, member, d, at)
    ]
    found = {c.id: c for c in uow.contacts.get_many(team_id, [d.contact_id for d in dues])}
    return [_row(d, found[d.contact_id], today, zone) for d in dues if d.contact_id in found]


def _snoozed(
    uow: UnitOfWork, team_id: TeamId, member: Member, due: PoolReminderDue, at: datetime
) -> bool:
    snooze = uow.snoozes.get(team_id, member.id, due.contact_id)
    return snooze is not None and snooze.hides(at)


def _row(due: PoolReminderDue, contact: object, today: date, zone: str) -> FollowUpRow:
    touch = due.touch
    return FollowUpRow(
        kind=RowKind.POOL,
        contact=contact,
        due_on=due.due_on,
        due_at=start_of_day(due.due_on, zone),
        days_overdue=(today - due.due_on).days,
        last_touch_at=None if touch is None else touch.at,
        last_touch_by=None if touch is None else touch.member_id,
        pool_id=due.pool_id,
        lead_id=due.lead_id,
        cadence=due.cadence,
    )
