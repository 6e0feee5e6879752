"""Sending campaigns' due emails: leased claims, one send per unit, retries with backoff.

:func:`run_campaigns` (``crm.run_campaigns``; ``crm.run_programs``'s
workers call it too, see ``teamcrm programs run``) follows the program
runner's pattern (:mod:`teamcrm.service.program_runner`):

1. **claim** - one writing unit leases up to *limit* due pending sends of
   running campaigns to this worker (``UPDATE ... RETURNING`` on SQLite,
   ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and commits;
2. **send** - for each claimed send, one unit renders the template for the
   contact, logs an ``email`` interaction from the sender member, marks the
   send ``sent`` (checking its version), hands the message to the
   :class:`~teamcrm.sender.Sender` and commits: a send that raises rolls the
   unit back; a worker whose lease was taken over finds the version moved
   and rolls back before sending.  Each recipient's email is **committed
   exactly once**;
3. **failure** - a unit of its own counts the try and makes the send due
   again after :func:`~teamcrm.program.backoff`, or marks it ``failed``
   after :data:`~teamcrm.program.MAX_ATTEMPTS` tries.

The throttle holds because each send is due at its own time (spaced when
the campaign started): a worker running late sends what is due, no faster
than that.  A contact who opted out since the start, lost its address, or
that the sender can no longer see is skipped with the reason; so is every
send of a deactivated sender.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from teamcrm import log
from teamcrm.campaign import CampaignSend, CampaignSendId, CampaignState, SendSkipReason, SendState
from teamcrm.errors import CannotEmail, ConcurrencyError, NotFound
from teamcrm.events import DomainEvent, EventName
from teamcrm.interaction import InteractionKind, Outcome
from teamcrm.outgoing import build_message
from teamcrm.ports import UnitOfWork
from teamcrm.sender import Sender
from teamcrm.service.program_reactions import ORIGIN
from teamcrm.service.program_runner import DEFAULT_LEASE, run_arguments
from teamcrm.validation import MAX_BODY

if TYPE_CHECKING:
    from teamcrm.service.crm import CRM

__all__ = ["CampaignRunReport", "run_campaigns"]


@attrs.frozen(kw_only=True)
class CampaignRunReport:
    """What one :func:`run_campaigns` call did.

    :ivar claimed: sends leased to this worker.
    :ivar sent: emails sent and committed.
    :ivar skipped: sends skipped (opted out, no address, not visible...).
    :ivar retried: sends that failed and will be tried again later.
    :ivar failed: sends marked ``failed`` (their last try failed).
    :ivar lost: claims another worker took over, or sends paused or cancelled meanwhile.
    :ivar failures: ``(send id, error)`` of every failed try, in order.
    """

    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0
    failures: tuple[tuple[CampaignSendId, str], ...] = ()


class _Lost(Exception):
    """The claim is no longer this worker's (taken over, cancelled, paused or gone)."""


def run_campaigns(
    crm: CRM,
    now: datetime | None = None,
    limit: int = 100,
    *,
    lease: timedelta = DEFAULT_LEASE,
    worker: str | None = None,
    sender: Sender | None = None,
) -> CampaignRunReport:
    """Claim up to *limit* due campaign sends and send each (see the module docs).

    Without a *sender* nothing is claimed: the sends wait for a worker that can send.
    """
    at, me = run_arguments(crm, now, limit, lease, worker)
    if sender is None:
        return CampaignRunReport()
    with crm.store.unit_of_work() as uow:
        claimed = uow.campaign_sends.claim_due(at, limit, owner=me, until=at + lease)
        uow.commit()
    counts = {"sent": 0, "skipped": 0, "retried": 0, "failed": 0, "lost": 0}
    failures: list[tuple[CampaignSendId, str]] = []
    for send in claimed:
        try:
            outcome = _send(crm, send, at, sender)
        except (ConcurrencyError, _Lost):
            outcome = "lost"
        except Exception as exc:  # the sender failed: retry later, visibly
            error = f"{type(exc).__name__}: {exc}"
            failures.append((send.id, error))
            outcome = _record_failure(crm, send, error, at)
        counts[outcome] += 1
    report = CampaignRunReport(claimed=len(claimed), failures=tuple(failures), **counts)
    if claimed:
        log.store.info(
            "campaigns: %d claimed, %d sent, %d skipped, %d retried, %d failed, %d lost",
            report.claimed,
            report.sent,
            report.skipped,
            report.retried,
            report.failed,
            report.lost,
        )
    return report


def _current(uow: UnitOfWork, claimed: CampaignSend) -> CampaignSend:
    try:
        stored = uow.campaign_sends.get(claimed.team_id, claimed.id)
    except NotFound:
        raise _Lost from None
    if stored.version != claimed.version or not stored.pending:
        raise _Lost
    return stored


def _send(crm: CRM, claimed: CampaignSend, at: datetime, port: Sender) -> str:
    from teamcrm.service.crm import MemberSession

    with crm.store.unit_of_work() as uow:
        send = _current(uow, claimed)
        team_id = send.team_id
        campaign = uow.campaigns.get(team_id, send.campaign_id)
        if campaign.state is not CampaignState.RUNNING:
            raise _Lost  # paused: sent after it resumes; cancelled: the cancel skipped it
        member = uow.members.get(team_id, campaign.sender_id)
        session = MemberSession(crm, team_id, member.id)
        try:
            contact = uow.contacts.get(team_id, send.contact_id)
        except NotFound:
            raise _Lost from None  # deleted: its send went with it
        skip: str | None = None
        message = None
        if not member.active:
            skip = SendSkipReason.SENDER_INACTIVE.value
        elif not session._may_see(uow, member, contact.id, contact.created_by):
            skip = SendSkipReason.NOT_VISIBLE.value
        else:
            team = uow.teams.get(team_id)
            rendered = campaign.template().render(contact=contact, member=member, team=team)
            try:
                message = build_message(
                    rendered, sender=member, contact=contact, key=send.id, created_at=at
                )
            except CannotEmail as exc:
                skip = exc.code
        data: dict[str, str | int | None] = {
            "campaign_id": campaign.id,
            "contact_id": contact.id,
        }
        if message is None:
            uow.campaign_sends.update(send.finished(SendState.SKIPPED, at, skip))
            session._emit(
                uow,
                session._event(EventName.CAMPAIGN_SEND_SKIPPED, send.id, at, **data, reason=skip),
            )
            uow.commit()
            return "skipped"
        session._record_interaction(
            uow,
            member,
            InteractionKind.EMAIL,
            [contact],
            [],
            when=at,
            now=at,
            outcome=Outcome.SENT,
            via=message.to,
            reference=f"campaign {campaign.id}",
            body=f"{message.subject}\n\n{message.text}"[:MAX_BODY],
            origin=ORIGIN,  # automated, like a program's email: not a reply
        )
        uow.campaign_sends.update(send.finished(SendState.SENT, at))
        session._emit(uow, session._event(EventName.CAMPAIGN_SENT, send.id, at, **data))
        # Last, just before the commit: a send that raises rolls all of it back.
        port.send(message)
        uow.commit()
    return "sent"


def _record_failure(crm: CRM, claimed: CampaignSend, error: str, at: datetime) -> str:
    """Count a failed try in a unit of its own; return ``retried``, ``failed`` or ``lost``."""
    try:
        with crm.store.unit_of_work() as uow:
            send = _current(uow, claimed)
            after = send.retried(error, at)
            uow.campaign_sends.update(after)
            uow.collect(
                DomainEvent(
                    name=EventName.CAMPAIGN_SEND_FAILED,
                    team_id=send.team_id,
                    subject_id=send.id,
                    occurred_at=at,
                    data={
                        "campaign_id": send.campaign_id,
                        "contact_id": send.contact_id,
                        "attempts": after.attempts,
                        "final": not after.pending,
                        "error": error[:500],
                    },
                )
            )
            uow.commit()
    except (ConcurrencyError, _Lost):
        return "lost"
    log.store.warning("campaign send failed (%s, try %d): %s", claimed.id, after.attempts, error)
    return "retried" if after.pending else "failed"
