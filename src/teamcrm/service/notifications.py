"""Use cases for notifications: the in-app feed and the hourly email digests.

In-app, a member reads their own notifications the moment the change that
caused them commits (:meth:`NotificationUseCases.notifications`) and marks them
read (:meth:`NotificationUseCases.mark_read`, idempotent).

By email, :func:`send_digests` (``CRM.send_digests``) runs from a scheduler
(cron, a worker loop), in as many processes as you like.  For each member with
pending notifications it

1. **claims** the member's digest in one short write transaction: the store
   records a claim token on the member's digest state only if their last
   digest is at least :data:`DIGEST_INTERVAL` old and no other live claim
   holds, and returns the batch;
2. **sends** the digest outside any transaction;
3. **marks** the batch emailed and records the digest time in a second
   transaction - or, when the sender fails, releases the claim so the next
   run retries with nothing marked.

A claim that is never completed (the process died) expires after the lease
(:data:`DEFAULT_LEASE`), and another run sends the batch again: delivery is
*at least once*.  A crash between a successful send and the mark therefore
sends that digest twice; a lease shorter than a send (the sender's timeout)
could too, so keep the lease well above it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from teamcrm.delivery import EmailDigestChannel, NotificationChannel
from teamcrm.digest import MAX_DIGEST_ITEMS
from teamcrm.errors import NotFound, TeamCRMError, ValidationError
from teamcrm.ids import PREFIXES, MemberId, TeamId
from teamcrm.notification import Notification
from teamcrm.sender import Sender
from teamcrm.service.base import SessionBase
from teamcrm.validation import check_duration, check_id, check_int, check_time

if TYPE_CHECKING:
    from teamcrm.service.crm import CRM

__all__ = [
    "DEFAULT_LEASE",
    "DIGEST_INTERVAL",
    "MAX_FEED",
    "DigestFailure",
    "DigestReport",
    "NotificationUseCases",
    "deliver_notifications",
    "send_digests",
]

#: Most notifications one call of :meth:`NotificationUseCases.notifications` returns.
MAX_FEED = 1000
#: At most one digest per member per this interval (seed 003: "once an hour").
DIGEST_INTERVAL = timedelta(hours=1)
#: How long a claimed digest stays reserved for the worker that claimed it.
DEFAULT_LEASE = timedelta(minutes=15)
#: Most members one :func:`send_digests` run considers.
MAX_MEMBERS_PER_RUN = 10_000


class NotificationUseCases(SessionBase):
    """The acting member's in-app notification feed."""

    def notifications(self, *, unread_only: bool = False, limit: int = 100) -> list[Notification]:
        """Return the acting member's notifications, newest first.

        Only the member's own; ``unread_only`` leaves out those marked read.
        *limit* is 1 to :data:`MAX_FEED`.

        >>> for n in session.notifications(unread_only=True):  # doctest: +SKIP
        ...     print(n.created_at, n.kind, n.message)
        """
        if not isinstance(unread_only, bool):
            raise ValidationError("unread_only", unread_only, "must be True or False")
        limit = check_int("limit", limit, minimum=1, maximum=MAX_FEED)
        with self._unit(write=False) as (uow, _actor):
            return uow.notifications.for_member(
                self.team_id, self.member_id, unread_only=unread_only, limit=limit
            )

    def mark_read(self, ids: str | Iterable[str] | None = None) -> int:
        """Mark notifications read: one id, several, or all unread (``None``).

        Idempotent: notifications already read keep their first ``read_at``,
        and ids that are not the acting member's are ignored.  Returns how
        many notifications changed.
        """
        wanted: list[str] | None = None
        if ids is not None:
            items: list[Any]
            if isinstance(ids, str):
                items = [ids]
            elif isinstance(ids, bytes) or not isinstance(ids, Iterable):
                raise ValidationError("ids", ids, "must be an id, a list of ids or None")
            else:
                items = list(ids)
            if len(items) > MAX_FEED * 100:
                raise ValidationError("ids", len(items), "too many ids in one call")
            wanted = list(
                dict.fromkeys(check_id("ids", i, PREFIXES["notification"]) for i in items)
            )
            if not wanted:
                return 0
        with self._unit() as (uow, _actor):
            now = self.crm.now()
            changed = uow.notifications.mark_read(self.team_id, self.member_id, wanted, now)
            uow.commit()
        return changed


@attrs.frozen(kw_only=True)
class DigestFailure:
    """A digest that was not delivered (its notifications stay pending).

    :ivar sent: true when the sender succeeded but recording it failed; the
        digest may be sent again after the lease (at least once).
    """

    team_id: TeamId
    member_id: MemberId
    reason: str
    notifications: int
    sent: bool = False


@attrs.frozen(kw_only=True)
class DigestReport:
    """What one :func:`send_digests` run did.

    :ivar at: the run's time.
    :ivar members_emailed: members who were sent a digest.
    :ivar notifications_sent: notifications in those digests.
    :ivar members_skipped: members whose pending notifications were taken off
        the email queue (inactive, or no email address).
    :ivar notifications_skipped: how many notifications that was.
    :ivar members_claimed_elsewhere: members found due whose digest another
        worker claimed (or sent) first; members whose last digest is less
        than an hour old are not counted, they are simply not due.
    :ivar failures: digests the sender refused or that could not be recorded.
    """

    at: datetime
    members_emailed: int = 0
    notifications_sent: int = 0
    members_skipped: int = 0
    notifications_skipped: int = 0
    members_claimed_elsewhere: int = 0
    failures: tuple[DigestFailure, ...] = ()

    @property
    def members_failed(self) -> int:
        """How many digests failed."""
        return len(self.failures)


def _timedelta(field: str, value: Any) -> timedelta:
    return check_duration(field, value)


def send_digests(
    crm: CRM,
    now: datetime | None,
    sender: Sender,
    *,
    team_id: TeamId | None = None,
    interval: timedelta = DIGEST_INTERVAL,
    lease: timedelta = DEFAULT_LEASE,
    max_items: int = MAX_DIGEST_ITEMS,
) -> DigestReport:
    """Send every member who is due one their email digest; see the module docs.

    The email digest is one notification channel
    (:class:`~teamcrm.delivery.EmailDigestChannel`): this is
    :func:`deliver_notifications` through it.

    :param now: the run's time (default: the CRM's clock).
    :param sender: where the messages go (anything with ``send(OutgoingEmail)``).
    :param team_id: only this team (default: every team in the store).
    :param interval: the least time between two digests of one member.
    :param lease: how long a claim is reserved for this run.
    :param max_items: most notifications in one digest (the rest wait).

    Members who are inactive or have no email address get no email: their
    pending notifications are *skipped* (taken off the email queue for good;
    they stay in the app), so a member who later gets an address is not sent
    an old backlog.  A sender failure for one member is recorded in the
    report and does not stop the others.
    """
    if not callable(getattr(sender, "send", None)):
        raise ValidationError("sender", sender, "must have a send(message) method")
    return deliver_notifications(
        crm,
        now,
        EmailDigestChannel(sender),
        team_id=team_id,
        interval=interval,
        lease=lease,
        max_items=max_items,
    )


def deliver_notifications(
    crm: CRM,
    now: datetime | None,
    channel: NotificationChannel,
    *,
    team_id: TeamId | None = None,
    interval: timedelta = DIGEST_INTERVAL,
    lease: timedelta = DEFAULT_LEASE,
    max_items: int = MAX_DIGEST_ITEMS,
) -> DigestReport:
    """Deliver every due member's pending notifications through *channel*.

    See :mod:`teamcrm.delivery` for the channel port.

    Same parameters and guarantees as :func:`send_digests`: once per member
    per *interval*, marked delivered only after the channel returns, safe
    from several processes.  Members the channel does not reach have their
    pending notifications taken off the queue.
    """
    at = crm.now() if now is None else check_time("now", now)
    if not isinstance(channel, NotificationChannel):
        raise ValidationError("channel", channel, "must have reaches() and deliver() methods")
    team = None if team_id is None else TeamId(check_id("team_id", team_id, PREFIXES["team"]))
    interval = _timedelta("interval", interval)
    lease = _timedelta("lease", lease)
    max_items = check_int("max_items", max_items, minimum=1, maximum=MAX_DIGEST_ITEMS)
    last_digest_by = at - interval
    lease_cutoff = at - lease
    store = crm.store

    with store.unit_of_work(write=False) as uow:
        candidates = uow.notifications.digest_candidates(
            now=at,
            last_digest_by=last_digest_by,
            lease_cutoff=lease_cutoff,
            team_id=team,
            limit=MAX_MEMBERS_PER_RUN,
        )

    emailed = sent = skipped_members = skipped = elsewhere = 0
    failures: list[DigestFailure] = []
    team_names: dict[str, str] = {}
    for tid, mid in candidates:
        token = PREFIXES["delivery_claim"] + secrets.token_hex(13)
        # 1. claim (one short write transaction)
        with store.unit_of_work() as uow:
            try:
                member = uow.members.get(tid, mid)
            except NotFound:
                member = None
            if member is None or not channel.reaches(member):
                count = uow.notifications.skip_email(tid, mid, now=at)
                uow.commit()
                if count:
                    skipped_members += 1
                    skipped += count
                continue
            batch = uow.notifications.claim_digest(
                tid,
                mid,
                token=token,
                now=at,
                last_digest_by=last_digest_by,
                lease_cutoff=lease_cutoff,
                limit=max_items,
            )
            if tid not in team_names:
                try:
                    team_names[tid] = uow.teams.get(tid).name
                except NotFound:
                    team_names[tid] = ""
            uow.commit()
        if not batch:
            elsewhere += 1
            continue
        ids = [n.id for n in batch]
        # 2. send (outside any transaction)
        try:
            channel.deliver(member, batch, now=at, team_name=team_names[tid] or None)
        except Exception as exc:
            _release(crm, tid, mid, token)
            failures.append(
                DigestFailure(
                    team_id=tid,
                    member_id=mid,
                    reason=_reason(exc),
                    notifications=len(batch),
                )
            )
            continue
        except BaseException:
            _release(crm, tid, mid, token)
            raise
        # 3. mark sent (second transaction)
        try:
            with store.unit_of_work() as uow:
                uow.notifications.complete_digest(tid, mid, token=token, ids=ids, at=at)
                uow.commit()
        except TeamCRMError as exc:
            failures.append(
                DigestFailure(
                    team_id=tid,
                    member_id=mid,
                    reason=f"sent, but recording it failed: {exc}",
                    notifications=len(batch),
                    sent=True,
                )
            )
            continue
        emailed += 1
        sent += len(batch)

    return DigestReport(
        at=at,
        members_emailed=emailed,
        notifications_sent=sent,
        members_skipped=skipped_members,
        notifications_skipped=skipped,
        members_claimed_elsewhere=elsewhere,
        failures=tuple(failures),
    )


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _release(crm: CRM, team_id: TeamId, member_id: MemberId, token: str) -> None:
    """Give the claim back so the next run retries; if that fails the lease frees it."""
    try:
        with crm.store.unit_of_work() as uow:
            uow.notifications.release_digest(team_id, member_id, token=token)
            uow.commit()
    except TeamCRMError:
        pass
