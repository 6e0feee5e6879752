"""Running programs' due steps: leased claims, one step per unit, retries with backoff.

:func:`run_programs` (``crm.run_programs``) first scans the ``follow_up_overdue``
programs' due lists and enrols the contacts overdue by their days
(:mod:`teamcrm.service.program_overdue`), then works in three kinds of unit:

1. **claim** - one writing unit leases up to *limit* due enrolments to this
   worker (``claim_due``: ``UPDATE ... RETURNING`` on SQLite, ``FOR UPDATE
   SKIP LOCKED`` on PostgreSQL) and commits: the lease is visible to every
   other worker, which then skips those rows until it expires;
2. **step** - for each claimed enrolment, one unit runs its next step (the
   step's effects: bucket changes, status, task, notification, and the
   reactions they cause) *and* advances the enrolment, checking its version:
   both commit together or neither does.  A worker whose lease expired and
   was taken over finds the version moved and rolls its step back, so a step
   is **committed exactly once** even when two workers ran it;
3. **failure** - a step that raises is rolled back whole; a further unit
   records the error, counts the try and makes the enrolment due again after
   :func:`~teamcrm.program.backoff` (1, 2, 4... minutes), or marks it
   ``failed`` after :data:`~teamcrm.program.MAX_ATTEMPTS` tries.  Other
   enrolments are not held up.

A worker killed between claim and commit leaves its enrolments leased until
the lease (default 5 minutes) runs out; another worker then claims and runs
them.  Each step acts as the program's owner and only on what the owner may
see now: a contact the owner can no longer see stops the run
(``not_visible``), a deactivated owner stops it (``owner_inactive``).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from teamcrm import log
from teamcrm import permissions as perm
from teamcrm.bucket import Bucket
from teamcrm.contact import Contact
from teamcrm.digest import OutgoingEmail
from teamcrm.errors import (
    CannotEmail,
    ConcurrencyError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import BucketId, MemberId, TeamId, random_suffix
from teamcrm.interaction import InteractionKind, Outcome
from teamcrm.notification import Notification, NotificationKind, new_notification_id
from teamcrm.outgoing import build_message
from teamcrm.ports import UnitOfWork
from teamcrm.program import Enrolment, EnrolmentId, Program, Step, StepKind, StopReason
from teamcrm.sender import Sender
from teamcrm.service.base import bumped
from teamcrm.service.program_overdue import enrol_overdue
from teamcrm.service.program_reactions import ORIGIN
from teamcrm.task import Task, new_task_id
from teamcrm.team import Member
from teamcrm.validation import MAX_BODY, check_int, utc_datetime
from teamcrm.waits import WaitBusinessDays, WaitDays
from teamcrm.waits import due_at as wait_due

if TYPE_CHECKING:
    from teamcrm.service.crm import CRM, MemberSession

__all__ = ["DEFAULT_LEASE", "RunReport", "run_arguments", "run_programs", "worker_name"]

#: How long a claimed enrolment stays leased to its worker.
DEFAULT_LEASE = timedelta(minutes=5)


@attrs.frozen(kw_only=True)
class RunReport:
    """What one :func:`run_programs` call did.

    :ivar claimed: enrolments leased to this worker.
    :ivar ran: steps run and committed (their effects and the enrolment's advance).
    :ivar completed: enrolments whose last step this call ran.
    :ivar stopped: enrolments this call stopped (a ``stop_if`` step, or the
        owner cannot see the contact any more, or is deactivated).
    :ivar retried: steps that failed and will be tried again later.
    :ivar failed: enrolments marked ``failed`` (their last try failed).
    :ivar lost: claims another worker took over (this one's lease had expired).
    :ivar failures: ``(enrolment id, error)`` of every failed try, in order.
    :ivar enrolled: runs started by this call's scan of ``follow_up_overdue``
        programs (see :mod:`teamcrm.service.program_overdue`), before claiming.
    """

    claimed: int = 0
    ran: int = 0
    completed: int = 0
    stopped: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0
    failures: tuple[tuple[EnrolmentId, str], ...] = ()
    enrolled: int = 0


def worker_name() -> str:
    """A name for this worker, unique across hosts and processes (``host:pid:random``)."""
    return f"{socket.gethostname()}:{os.getpid()}:{random_suffix()[:8]}"


def run_arguments(
    crm: CRM, now: datetime | None, limit: int, lease: timedelta, worker: str | None
) -> tuple[datetime, str]:
    """Check a runner's arguments; return the run's time and the worker's name.

    Shared by :func:`run_programs` and :func:`~teamcrm.service.campaign_runner.run_campaigns`.
    """
    check_int("limit", limit, minimum=1, maximum=100_000)
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise ValidationError("lease", lease, "must be a positive timedelta")
    at = crm.now() if now is None else utc_datetime("now", now)
    return at, worker_name() if worker is None else worker


def run_programs(
    crm: CRM,
    now: datetime | None = None,
    limit: int = 100,
    *,
    lease: timedelta = DEFAULT_LEASE,
    worker: str | None = None,
    sender: Sender | None = None,
) -> RunReport:
    """Claim up to *limit* due enrolments and run the next step of each (see the module docs).

    *sender* delivers the emails of ``send_email`` steps (without one, such a
    step fails and is retried).
    """
    at, me = run_arguments(crm, now, limit, lease, worker)
    enrolled = enrol_overdue(crm, at)
    with crm.store.unit_of_work() as uow:
        claimed = uow.enrolments.claim_due(at, limit, owner=me, until=at + lease)
        uow.commit()
    counts = {"ran": 0, "completed": 0, "stopped": 0, "retried": 0, "failed": 0, "lost": 0}
    failures: list[tuple[EnrolmentId, str]] = []
    for enrolment in claimed:
        try:
            outcome = _run_step(crm, enrolment, at, sender)
        except (ConcurrencyError, _Lost):
            outcome = "lost"
        except Exception as exc:  # a step's side effect failed: retry later, visibly
            error = f"{type(exc).__name__}: {exc}"
            failures.append((enrolment.id, error))
            outcome = _record_failure(crm, enrolment, error, at)
        counts[outcome] += 1
        if outcome in ("completed", "stopped"):
            counts["ran"] += 1  # their step unit committed too
    report = RunReport(claimed=len(claimed), failures=tuple(failures), enrolled=enrolled, **counts)
    log.store.info(
        "programs: %d claimed, %d steps ran, %d completed, %d stopped, %d retried, %d failed,"
        " %d lost",
        report.claimed,
        report.ran,
        report.completed,
        report.stopped,
        report.retried,
        report.failed,
        report.lost,
    )
    return report


class _Lost(Exception):
    """The claim is no longer this worker's (taken over, or the enrolment is gone)."""


def _current(uow: UnitOfWork, claimed: Enrolment) -> Enrolment:
    """The enrolment as stored, if it is still this worker's claim; else raise :class:`_Lost`."""
    try:
        stored = uow.enrolments.get(claimed.team_id, claimed.id)
    except NotFound:
        raise _Lost from None
    if stored.version != claimed.version or not stored.active:
        raise _Lost
    return stored


def _run_step(crm: CRM, claimed: Enrolment, at: datetime, sender: Sender | None = None) -> str:
    from teamcrm.service.crm import MemberSession

    with crm.store.unit_of_work() as uow:
        enrolment = _current(uow, claimed)
        team_id = enrolment.team_id
        try:
            program = uow.programs.get(team_id, enrolment.program_id)
            contact = uow.contacts.get(team_id, enrolment.contact_id)
        except NotFound:
            raise _Lost from None
        owner = uow.members.get(team_id, program.owner_id)
        session = MemberSession(crm, team_id, owner.id)
        reason: StopReason | None = None
        if not program.runs:
            reason = StopReason.PROGRAM_PAUSED
        elif not owner.active:
            reason = StopReason.OWNER_INACTIVE
        elif not session._may_see(uow, owner, contact.id, contact.created_by):
            reason = StopReason.NOT_VISIBLE
        if enrolment.step_index >= len(program.steps):  # the program lost steps meanwhile
            step = None
        else:
            step = program.steps[enrolment.step_index]
        done = _Done(stop=reason)
        if reason is None and step is not None:
            done = _perform(session, uow, owner, program, step, enrolment, contact, at)
            reason = done.stop
        if reason is None:
            after = enrolment.advanced(len(program.steps), at, done.due)
            outcome = "completed" if not after.active else "ran"
        else:
            after = enrolment.stopped(reason, at)
            outcome = "stopped"
        uow.enrolments.update(after)
        data: dict[str, str | int | None] = {
            "program_id": program.id,
            "contact_id": contact.id,
            "step": enrolment.step_index,
            "kind": None if step is None else step.kind.value,
            "state": after.state.value,
        }
        if reason is not None:
            data["reason"] = reason.value
        if done.skipped is not None:
            data["skipped"] = done.skipped
        name = EventName.PROGRAM_ENROLMENT_STOPPED if reason else EventName.PROGRAM_STEP_RAN
        session._emit(uow, session._event(name, enrolment.id, at, **data))
        if done.email is not None:
            # Last, just before the commit: a send that raises rolls the step back
            # (retried later); a send that succeeded is recorded by this commit.
            if sender is None:
                raise ValidationError("sender", None, "run_programs needs a sender for email steps")
            sender.send(done.email)
        uow.commit()
    return outcome


@attrs.define
class _Done:
    """What performing a step decided.

    :ivar stop: stop the run for this reason.
    :ivar due: when the next step is due (a wait step), else at once.
    :ivar skipped: why the step did nothing (``opted_out``, ``no_email``).
    :ivar email: the message to send just before the step's unit commits.
    """

    stop: StopReason | None = None
    due: datetime | None = None
    skipped: str | None = None
    email: OutgoingEmail | None = None


def _perform(
    session: MemberSession,
    uow: UnitOfWork,
    owner: Member,
    program: Program,
    step: Step,
    enrolment: Enrolment,
    contact: Contact,
    at: datetime,
) -> _Done:
    """Do *step* for *contact* as the program's owner; say what follows."""
    team_id = program.team_id
    kind = step.kind
    if kind is StepKind.STOP_IF:
        held = {m.bucket_id for m in uow.memberships.buckets_of(team_id, [contact.id])}
        if all(cond.holds(contact, held) for cond in step.conditions):
            return _Done(stop=StopReason.CONDITION)
        return _Done()
    if kind is StepKind.WAIT:
        # From when the wait became due (a late runner does not stretch it), in the
        # owner's time zone.
        return _Done(due=max(at, wait_due(step.wait_value(), enrolment.due_at, owner.time_zone)))
    if kind is StepKind.SEND_EMAIL:
        return _email(session, uow, owner, program, step, enrolment, contact, at)
    if kind in (StepKind.ADD_TO_BUCKET, StepKind.REMOVE_FROM_BUCKET, StepKind.MOVE_BETWEEN_BUCKETS):
        source = _editable(uow, owner, team_id, step.bucket_id)
        if kind is StepKind.ADD_TO_BUCKET:
            session._add_items(uow, source, [contact.id], at, known={contact.id: contact})
            return _Done()
        session._remove_items(uow, source, [contact.id], at)
        if kind is StepKind.MOVE_BETWEEN_BUCKETS:
            into = _editable(uow, owner, team_id, step.to_bucket_id)
            session._add_items(uow, into, [contact.id], at, known={contact.id: contact})
        return _Done()
    if kind is StepKind.SET_STATUS:
        team = uow.teams.get(team_id)
        session._check_status(team, step.status)
        fresh = uow.contacts.get_for_update(team_id, contact.id)
        if fresh.status != step.status:
            uow.contacts.update(bumped(fresh, status=step.status), previous=fresh)
            session._emit(
                uow, session._event(EventName.CONTACT_UPDATED, contact.id, at, fields=["status"])
            )
        return _Done()
    target: Member = owner
    if step.member_id is not None:
        target = uow.members.get(team_id, step.member_id)
    if not target.active:
        raise ValidationError("Step.member_id", target.id, "the member is deactivated")
    if target.id != owner.id and not session._may_see(uow, target, contact.id, contact.created_by):
        raise ValidationError("Step.member_id", target.id, "the member cannot see the contact")
    if kind is StepKind.CREATE_TASK:
        task = Task(
            id=new_task_id(),
            team_id=team_id,
            member_id=target.id,
            contact_id=contact.id,
            due_at=_task_due(step, target, at),
            note=step.text,
            created_at=at,
            created_by=owner.id,
        )
        uow.tasks.add(task)
        uow.collect(
            session._event(
                EventName.TASK_CREATED,
                task.id,
                at,
                member_id=target.id,
                contact_id=contact.id,
                due_at=task.due_at.isoformat(),
                program_id=program.id,
            )
        )
        return _Done()
    # StepKind.NOTIFY (wait and send_email are refused when a program is saved)
    uow.notifications.add_many([_notification(team_id, target.id, program, contact, step, at)])
    return _Done()


def _email(
    session: MemberSession,
    uow: UnitOfWork,
    owner: Member,
    program: Program,
    step: Step,
    enrolment: Enrolment,
    contact: Contact,
    at: datetime,
) -> _Done:
    """Render the step's template for *contact*, log it as the owner's email, queue the send.

    An opted-out contact, or one without an address, is skipped (the run goes
    on; the step's event says why).  The email is logged as an ``email``
    interaction from the owner with outcome ``sent`` (it resets follow-ups for
    the whole team and validates the address), in this same unit.
    """
    team = uow.teams.get(program.team_id)
    rendered = step.template().render(contact=contact, member=owner, team=team)
    try:
        message = build_message(
            rendered,
            sender=owner,
            contact=contact,
            key=f"{enrolment.id}.{enrolment.step_index}",
            created_at=at,
        )
    except CannotEmail as exc:
        return _Done(skipped=exc.code)
    session._record_interaction(
        uow,
        owner,
        InteractionKind.EMAIL,
        [contact],
        [],
        when=at,
        now=at,
        outcome=Outcome.SENT,
        via=message.to,
        reference=f"program {program.id}",
        body=f"{message.subject}\n\n{message.text}"[:MAX_BODY],
        origin=ORIGIN,
    )
    return _Done(email=message)


def _task_due(step: Step, member: Member, at: datetime) -> datetime:
    """When a task step's task is due: *days* (business) days later in *member*'s zone."""
    if not step.days:
        return at
    wait = WaitBusinessDays(step.days) if step.business_days else WaitDays(step.days)
    return wait_due(wait, at, member.time_zone)


def _notification(
    team_id: TeamId,
    member_id: MemberId,
    program: Program,
    contact: Contact,
    step: Step,
    at: datetime,
) -> Notification:
    return Notification(
        id=new_notification_id(),
        team_id=team_id,
        member_id=member_id,
        kind=NotificationKind.PROGRAM_STEP,
        subject_id=contact.id,
        message=f"{program.name}: {' '.join(step.text.split())}"[:500],
        created_at=at,
        data={"program_id": program.id, "contact_id": contact.id},
    )


def _editable(
    uow: UnitOfWork, owner: Member, team_id: TeamId, bucket_id: BucketId | None
) -> Bucket:
    """The bucket, if the owner may still edit it (``PermissionDenied`` otherwise)."""
    if bucket_id is None:  # pragma: no cover - the Step checks make it impossible
        raise ValidationError("Step.bucket_id", None, "is required")
    bucket = uow.buckets.get(team_id, bucket_id)
    if not perm.can_edit_bucket(owner, bucket):
        raise PermissionDenied(owner.id, f"edit the bucket {bucket_id}", "editors only")
    return bucket


def _record_failure(crm: CRM, claimed: Enrolment, error: str, at: datetime) -> str:
    """Count a failed try in a unit of its own; return ``retried``, ``failed`` or ``lost``."""
    try:
        with crm.store.unit_of_work() as uow:
            enrolment = _current(uow, claimed)
            after = enrolment.retried(error, at)
            uow.enrolments.update(after)
            uow.collect(
                DomainEvent(
                    name=EventName.PROGRAM_STEP_FAILED,
                    team_id=enrolment.team_id,
                    subject_id=enrolment.id,
                    occurred_at=at,
                    data={
                        "program_id": enrolment.program_id,
                        "contact_id": enrolment.contact_id,
                        "step": enrolment.step_index,
                        "attempts": after.attempts,
                        "final": not after.active,
                        "error": error[:500],
                    },
                )
            )
            uow.commit()
    except (ConcurrencyError, _Lost):
        return "lost"
    log.store.warning("program step failed (%s, try %d): %s", claimed.id, after.attempts, error)
    return "retried" if after.active else "failed"
