"""The ``follow_up_overdue`` trigger: the runner's scan of its programs' owners' due lists.

A follow-up becoming overdue is not a change anyone makes - it happens as
time passes - so no reaction can enrol on it.  Instead every
:func:`~teamcrm.service.program_runner.run_programs` call first runs
:func:`enrol_overdue`:

1. one reading unit lists the running programs (personal, active) whose
   trigger is ``follow_up_overdue`` (``ProgramRepository.with_trigger``);
2. for each, the owner's follow-up list (``follow_ups``: policies, tasks and
   pool reminders, with the owner's rights at that moment) is read **page by
   page, most overdue first**, and stops at the first row less than the
   trigger's ``days`` overdue: the scan reads only the rows that qualify,
   never the whole list at once;
3. per batch of up to :data:`OVERDUE_BATCH` contacts, one writing unit drops
   those already handled - an active run of the program, any earlier run
   when the program's ``re_enrol`` is ``never``, or (``after_finished``) a
   run started since this follow-up fell due (one run per overdue episode:
   a touch that resets the follow-up starts a new episode) - and emits
   ``program.follow_ups_overdue`` for the rest; its declared reaction
   (:func:`~teamcrm.service.program_reactions.enrol_overdue_follow_ups`)
   enrols them, checking the conditions and the owner's rights again, in the
   same unit.

So the scan is **idempotent**: running it twice, or in several workers at
once (the batch's unit locks the team, so workers take turns: none misses a
run another just started, even one already finished), enrols a contact once
per episode.  A program whose scan fails (its owner deactivated meanwhile, say)
is logged and skipped; the others go on.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from teamcrm import log
from teamcrm.errors import TeamCRMError
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import ContactId
from teamcrm.program import Program, ReEnrol, TriggerKind

if TYPE_CHECKING:
    from teamcrm.service.crm import CRM

__all__ = ["OVERDUE_BATCH", "enrol_overdue"]

#: Contacts handed to enrolment per writing unit (and rows per page read).
OVERDUE_BATCH = 500


def enrol_overdue(crm: CRM, at: datetime, *, batch: int = OVERDUE_BATCH) -> int:
    """Enrol, at *at*, the contacts overdue for every running ``follow_up_overdue`` program.

    Returns how many runs it started.  See the module docs.
    """
    with crm.store.unit_of_work(write=False) as uow:
        programs = [p for p in uow.programs.with_trigger(TriggerKind.FOLLOW_UP_OVERDUE) if p.runs]
    started = 0
    for program in programs:
        try:
            started += _scan(crm, program, at, batch)
        except TeamCRMError as exc:
            log.store.warning("programs: overdue scan of %s skipped: %s", program.id, exc)
    return started


def _scan(crm: CRM, program: Program, at: datetime, batch: int) -> int:
    """Read the owner's due list down to the trigger's days; enrol batch by batch."""
    from teamcrm.service.crm import MemberSession

    days = program.trigger.days or 1
    session = MemberSession(crm, program.team_id, program.owner_id)
    since: dict[ContactId, datetime] = {}  # contact -> when its (most overdue) follow-up fell due
    started = 0
    for row in session.iter_follow_ups(at=at, page_size=batch):
        if row.days_overdue < days:
            break  # most overdue first: no later row qualifies
        since.setdefault(row.contact.id, row.due_at)
        if len(since) >= batch:
            started += _enrol(crm, program, since, at)
            since = {}
    if since:
        started += _enrol(crm, program, since, at)
    return started


def _enrol(crm: CRM, program: Program, since: dict[ContactId, datetime], at: datetime) -> int:
    """In one unit: drop the contacts already handled, emit the event for the rest."""
    team_id = program.team_id
    with crm.store.unit_of_work() as uow:
        # Scanning workers take turns per team (PostgreSQL locks the team's row), so
        # one never misses a run another has just started and finished.
        uow.teams.lock(team_id)
        runs: dict[str, list[datetime]] = {}
        active: set[str] = set()
        for e in uow.enrolments.for_contacts(team_id, list(since)):
            if e.program_id == program.id:
                runs.setdefault(e.contact_id, []).append(e.enrolled_at)
                if e.active:
                    active.add(e.contact_id)
        fresh = [
            cid
            for cid, due_at in since.items()
            if cid not in active
            and not (runs.get(cid) and program.re_enrol is ReEnrol.NEVER)
            and not any(started >= due_at for started in runs.get(cid, ()))
        ]
        if not fresh:
            return 0
        event = DomainEvent(
            name=EventName.PROGRAM_FOLLOW_UPS_OVERDUE,
            team_id=team_id,
            subject_id=program.id,
            occurred_at=at,
            actor_id=None,
            data={"contact_ids": list(fresh), "days": program.trigger.days},
        )
        crm.reactions.emit(uow, event)
        new = [
            e
            for e in uow.enrolments.for_contacts(team_id, fresh)
            if e.program_id == program.id and e.active and e.contact_id not in active
        ]
        uow.commit()
    return len(new)
