"""Use cases of programs: create, change, pause, publish to the team library, copy, attach.

What a program does runs elsewhere: enrolling and stopping are reactions
(:mod:`teamcrm.service.program_reactions`, declared in
:func:`~teamcrm.service.reactions.default_reactions`), steps are run by
``crm.run_programs`` (:mod:`teamcrm.service.program_runner`).

Rights: a member creates, changes, pauses, resumes and deletes their own
programs; managers and admins publish to the team library and change or
delete library programs; any member copies a library program (the copy is
theirs, independent of later edits to the original) and attaches it to a
bucket they may see.  Every program is checked when saved, against the
saver's rights: the trigger's bucket must be one the owner may see, every
bucket a step changes one the owner may edit, statuses the team's, named
members active members of the team (``ValidationError`` naming the field
and the value).  Members see their own programs and the library; managers
and admins see all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs

from teamcrm import permissions as perm
from teamcrm.errors import ConcurrencyError, NotFound, ValidationError
from teamcrm.events import EventName
from teamcrm.ids import PREFIXES, BucketId, CompanyId, ContactId, MemberId
from teamcrm.pool import PoolId
from teamcrm.ports import UnitOfWork
from teamcrm.program import (
    Condition,
    Enrolment,
    EnrolmentState,
    Program,
    ProgramId,
    ProgramScope,
    ProgramState,
    ReEnrol,
    Step,
    Trigger,
    new_program_id,
)
from teamcrm.service.base import SessionBase, bumped
from teamcrm.team import Member
from teamcrm.validation import check_id, check_int, check_text

__all__ = ["ContactProgram", "ProgramReport", "ProgramUseCases"]


@attrs.frozen(kw_only=True)
class ProgramReport:
    """How a program's runs stand.

    :ivar enrolled: runs ever started (every state).
    :ivar stopped: stopped runs by reason (``{"left_bucket": 2}``).
    :ivar companies: ``company_bucket_entered``: runs started (every state)
        by each company that entered the bucket (``{"co_…": 3}``).
    """

    program_id: ProgramId
    name: str
    state: ProgramState
    enrolled: int
    active: int
    completed: int
    stopped: dict[str, int]
    failed: int
    companies: dict[str, int] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ContactProgram:
    """One run of a program for a contact, and what comes next (with the reason).

    :ivar next_step: the kind of the step that runs next (``None`` when finished).
    :ivar due_at: when it is due (``None`` when finished).
    :ivar reason: why it stands as it does, in words.
    :ivar company_id: the company whose entry into the program's bucket
        started the run (``company_bucket_entered``), else ``None``.
    :ivar enrolled_because: why the run started, in words, when a company
        started it (``"company co_… entered bucket bk_…"``), else ``None``.
    """

    program_id: ProgramId
    name: str
    state: EnrolmentState
    step_index: int
    next_step: str | None
    due_at: datetime | None
    reason: str
    company_id: CompanyId | None = None
    enrolled_because: str | None = None


def _sequence(field: str, value: Any, cls: type) -> tuple[Any, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(field, value, "must be a list")
    items = tuple(value)
    for n, item in enumerate(items):
        if not isinstance(item, cls):
            raise ValidationError(f"{field}[{n}]", item, f"must be a {cls.__name__}")
    return items


class ProgramUseCases(SessionBase):
    """Programs and the team library (mixed into :class:`~teamcrm.service.crm.MemberSession`)."""

    # ------------------------------------------------------------ commands
    def create_program(
        self,
        name: str,
        trigger: Trigger,
        steps: Sequence[Step],
        *,
        conditions: Sequence[Condition] = (),
        re_enrol: ReEnrol | str = ReEnrol.NEVER,
    ) -> Program:
        """Create a personal program owned by the member (active at once).

        >>> susan.create_program("To my team bucket",          # doctest: +SKIP
        ...     Trigger(kind="bucket_entered", bucket_id=mine.id),
        ...     [Step(kind="add_to_bucket", bucket_id=team_bucket.id)])
        """
        with self._unit() as (uow, actor):
            now = self.crm.now()
            program = Program(
                id=new_program_id(),
                team_id=self.team_id,
                owner_id=actor.id,
                name=name,
                trigger=trigger,
                steps=_sequence("steps", steps, Step),
                conditions=_sequence("conditions", conditions, Condition),
                re_enrol=re_enrol,
                created_at=now,
            )
            self._check_program(uow, actor, program)
            uow.programs.add(program)
            self._emit(uow, self._event(EventName.PROGRAM_CREATED, program.id, now, name=name))
            uow.commit()
            return program

    def update_program(
        self,
        program_id: ProgramId,
        *,
        name: str | None = None,
        trigger: Trigger | None = None,
        steps: Sequence[Step] | None = None,
        conditions: Sequence[Condition] | None = None,
        re_enrol: ReEnrol | str | None = None,
        expected_version: int | None = None,
    ) -> Program:
        """Change a program (its owner; managers and admins for library programs).

        Runs already started keep their place: a run whose next step no
        longer exists completes when it is next run.
        """
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if trigger is not None:
            changes["trigger"] = trigger
        if steps is not None:
            changes["steps"] = _sequence("steps", steps, Step)
        if conditions is not None:
            changes["conditions"] = _sequence("conditions", conditions, Condition)
        if re_enrol is not None:
            changes["re_enrol"] = re_enrol
        if expected_version is not None:
            check_int("expected_version", expected_version, minimum=1)
        with self._unit() as (uow, actor):
            program = self._own_program(uow, actor, program_id, "change this program")
            if expected_version is not None and expected_version != program.version:
                raise ConcurrencyError("program", program.id, expected_version)
            changed: Program = bumped(program, **changes)
            self._check_program(uow, actor, changed)
            uow.programs.update(changed)
            self._emit(
                uow,
                self._event(
                    EventName.PROGRAM_UPDATED, program.id, self.crm.now(), fields=sorted(changes)
                ),
            )
            uow.commit()
            return changed

    def attach_program(self, program_id: ProgramId, bucket_id: BucketId) -> Program:
        """Attach the member's program to one of their buckets (its bucket trigger).

        ``bucket_entered``: contacts entering the bucket are enrolled;
        ``company_bucket_entered``: companies entering it enrol their contacts.

        Seed 003: members "attach it to the Buckets in their accounts that
        receive assigned leads".  Contacts entering the bucket from now on are
        enrolled; leaving it stops their run.
        """
        check_id("bucket_id", bucket_id, PREFIXES["bucket"])
        with self._unit() as (uow, actor):
            program = self._own_program(uow, actor, program_id, "attach this program")
            if not program.trigger.kind.attached:
                raise ValidationError(
                    "program_id",
                    program_id,
                    "its trigger is not a bucket (bucket_entered, company_bucket_entered)",
                )
            changed: Program = bumped(
                program, trigger=attrs.evolve(program.trigger, bucket_id=bucket_id)
            )
            self._check_program(uow, actor, changed)
            uow.programs.update(changed)
            self._emit(
                uow,
                self._event(
                    EventName.PROGRAM_UPDATED, program.id, self.crm.now(), fields=["trigger"]
                ),
            )
            uow.commit()
            return changed

    def pause_program(self, program_id: ProgramId) -> Program:
        """Pause a program: it enrols nobody, and its active runs stop (``program_paused``)."""
        return self._set_state(program_id, ProgramState.PAUSED, EventName.PROGRAM_PAUSED)

    def resume_program(self, program_id: ProgramId) -> Program:
        """Resume a paused program: contacts meeting its trigger from now on are enrolled."""
        return self._set_state(program_id, ProgramState.ACTIVE, EventName.PROGRAM_RESUMED)

    def _set_state(self, program_id: ProgramId, state: ProgramState, event: EventName) -> Program:
        with self._unit() as (uow, actor):
            program = self._own_program(uow, actor, program_id, f"{state.value} this program")
            if program.state is state:
                return program
            changed: Program = bumped(program, state=state)
            uow.programs.update(changed)
            self._emit(uow, self._event(event, program.id, self.crm.now()))
            uow.commit()
            return changed

    def delete_program(self, program_id: ProgramId) -> None:
        """Delete a program and every run of it (its owner; managers/admins for the library)."""
        with self._unit() as (uow, actor):
            program = self._own_program(uow, actor, program_id, "delete this program")
            uow.programs.delete(self.team_id, program.id, program.version)
            self._emit(uow, self._event(EventName.PROGRAM_DELETED, program.id, self.crm.now()))
            uow.commit()

    def publish_program(self, program_id: ProgramId, *, name: str | None = None) -> Program:
        """Put a copy of a program in the team library (managers and admins).

        The library copy is a template: it runs for nobody; members copy it
        with :meth:`copy_program`.  Returns the library program.
        """
        with self._unit() as (uow, actor):
            perm.require(
                actor.role.is_manager, actor, "publish to the team library", "managers and admins"
            )
            program = self._visible_program(uow, actor, program_id)
            now = self.crm.now()
            published = attrs.evolve(
                program,
                id=new_program_id(),
                owner_id=actor.id,
                name=program.name if name is None else name,
                scope=ProgramScope.TEAM_LIBRARY,
                state=ProgramState.ACTIVE,
                copied_from=program.id,
                created_at=now,
                version=1,
            )
            uow.programs.add(published)
            self._emit(
                uow,
                self._event(EventName.PROGRAM_PUBLISHED, published.id, now, copied_from=program.id),
            )
            uow.commit()
            return published

    def copy_program(
        self,
        program_id: ProgramId,
        *,
        bucket_id: BucketId | None = None,
        name: str | None = None,
    ) -> Program:
        """Copy a team-library program into a personal program of the member's own.

        The copy is independent of later edits to the original.  With
        *bucket_id*, a ``bucket_entered`` (or ``company_bucket_entered``) copy
        is attached to that bucket (a library template may leave its bucket
        unset: then *bucket_id* is required).  Checked against the member's
        rights like a new program.
        """
        if bucket_id is not None:
            check_id("bucket_id", bucket_id, PREFIXES["bucket"])
        with self._unit() as (uow, actor):
            original = self._visible_program(uow, actor, program_id)
            if original.scope is not ProgramScope.TEAM_LIBRARY:
                raise ValidationError("program_id", program_id, "is not in the team library")
            trigger = original.trigger
            if bucket_id is not None:
                if not trigger.kind.attached:
                    raise ValidationError("bucket_id", bucket_id, "the trigger is not a bucket")
                trigger = attrs.evolve(trigger, bucket_id=bucket_id)
            now = self.crm.now()
            copy = attrs.evolve(
                original,
                id=new_program_id(),
                owner_id=actor.id,
                name=original.name if name is None else name,
                trigger=trigger,
                scope=ProgramScope.PERSONAL,
                state=ProgramState.ACTIVE,
                copied_from=original.id,
                created_at=now,
                version=1,
            )
            self._check_program(uow, actor, copy)
            uow.programs.add(copy)
            self._emit(
                uow,
                self._event(EventName.PROGRAM_CREATED, copy.id, now, copied_from=original.id),
            )
            uow.commit()
            return copy

    # ------------------------------------------------------------ queries
    def programs(self) -> list[Program]:
        """The member's programs and the team library (managers and admins: every program)."""
        with self._unit(write=False) as (uow, actor):
            return [p for p in uow.programs.all(self.team_id) if _may_see(actor, p)]

    def program(self, program_id: ProgramId) -> Program:
        """One program the member may see (``NotFound`` otherwise)."""
        with self._unit(write=False) as (uow, actor):
            return self._visible_program(uow, actor, program_id)

    def program_report(self, program_id: ProgramId) -> ProgramReport:
        """Runs of the program: started, active, completed, stopped (by reason) and failed."""
        with self._unit(write=False) as (uow, actor):
            program = self._visible_program(uow, actor, program_id)
            runs = uow.enrolments.for_program(self.team_id, program.id)
        states = Counter(e.state for e in runs)
        reasons = Counter(e.stop_reason.value for e in runs if e.stop_reason is not None)
        companies = Counter(e.company_id for e in runs if e.company_id is not None)
        return ProgramReport(
            program_id=program.id,
            name=program.name,
            state=program.state,
            enrolled=len(runs),
            active=states[EnrolmentState.ACTIVE],
            completed=states[EnrolmentState.COMPLETED],
            stopped=dict(sorted(reasons.items())),
            failed=states[EnrolmentState.FAILED],
            companies=dict(sorted(companies.items())),
        )

    def contact_programs(self, contact_id: ContactId) -> list[ContactProgram]:
        """The runs of programs the member may see for a contact they may see, with what is next."""
        with self._unit(write=False) as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id)
            runs = uow.enrolments.for_contacts(self.team_id, [contact.id])
            programs = {p.id: p for p in uow.programs.all(self.team_id) if _may_see(actor, p)}
        out = []
        for e in runs:
            program = programs.get(e.program_id)
            if program is not None:
                out.append(_explained(program, e))
        return out

    # ------------------------------------------------------------ helpers
    def _visible_program(self, uow: UnitOfWork, actor: Member, program_id: str) -> Program:
        check_id("program_id", program_id, PREFIXES["program"])
        program = uow.programs.get(self.team_id, ProgramId(program_id))
        if not _may_see(actor, program):
            raise NotFound("program", program_id)
        return program

    def _own_program(self, uow: UnitOfWork, actor: Member, program_id: str, action: str) -> Program:
        program = self._visible_program(uow, actor, program_id)
        if program.scope is ProgramScope.TEAM_LIBRARY:
            perm.require(actor.role.is_manager, actor, action, "managers and admins only")
        else:
            perm.require(program.owner_id == actor.id, actor, action, "its owner only")
        return program

    def _check_program(self, uow: UnitOfWork, actor: Member, program: Program) -> None:
        """Refuse a program naming what its owner may not use (``ValidationError``)."""
        trigger = program.trigger
        if trigger.bucket_id is not None:
            bucket = self._bucket_named(uow, actor, "trigger.bucket_id", trigger.bucket_id)
            if not perm.can_view_bucket(actor, bucket):  # pragma: no cover - _bucket_named
                raise ValidationError("trigger.bucket_id", trigger.bucket_id, "not visible")
        if trigger.pool_id is not None:
            try:
                uow.lead_pools.get(self.team_id, PoolId(trigger.pool_id))
            except NotFound:
                raise ValidationError(
                    "trigger.pool_id", trigger.pool_id, "no such pool in the team"
                ) from None
        for n, cond in enumerate(program.conditions):
            if cond.bucket_id is not None:
                self._bucket_named(uow, actor, f"conditions[{n}].bucket_id", cond.bucket_id)
        statuses = uow.teams.get(self.team_id).settings.statuses
        for n, step in enumerate(program.steps):
            for attr in ("bucket_id", "to_bucket_id"):
                bucket_id = getattr(step, attr)
                if bucket_id is None:
                    continue
                field = f"steps[{n}].{attr}"
                bucket = self._bucket_named(uow, actor, field, bucket_id)
                if not perm.can_edit_bucket(actor, bucket):
                    raise ValidationError(field, bucket_id, "the owner may not edit this bucket")
            if step.status is not None and step.status not in statuses:
                raise ValidationError(
                    f"steps[{n}].status", step.status, f"must be one of {statuses!r}"
                )
            for cond in step.conditions:
                if cond.bucket_id is not None:
                    self._bucket_named(uow, actor, f"steps[{n}].conditions", cond.bucket_id)
            if step.member_id is not None:
                self._member_named(uow, actor, f"steps[{n}].member_id", step.member_id)
        if trigger.status is not None and trigger.status not in statuses:
            raise ValidationError("trigger.status", trigger.status, f"must be one of {statuses!r}")
        check_text("name", program.name, max_len=200)

    def _bucket_named(self, uow: UnitOfWork, actor: Member, field: str, bucket_id: str) -> Any:
        try:
            bucket = uow.buckets.get(self.team_id, BucketId(bucket_id))
        except NotFound:
            bucket = None
        if bucket is None or not perm.can_view_bucket(actor, bucket):
            raise ValidationError(field, bucket_id, "no such bucket the owner may see")
        return bucket

    def _member_named(self, uow: UnitOfWork, actor: Member, field: str, member_id: str) -> None:
        try:
            member = uow.members.get(self.team_id, MemberId(member_id))
        except NotFound:
            member = None
        if member is None or not member.active:
            raise ValidationError(field, member_id, "no such active member in the team")
        if member.id != actor.id and not actor.role.is_manager:
            raise ValidationError(field, member_id, "only managers and admins name other members")


def _may_see(actor: Member, program: Program) -> bool:
    return (
        actor.role.is_manager
        or program.owner_id == actor.id
        or program.scope is ProgramScope.TEAM_LIBRARY
    )


def _explained(program: Program, e: Enrolment) -> ContactProgram:
    """What comes next for run *e* of *program*, with the reason, in words."""
    if e.state is EnrolmentState.ACTIVE and e.step_index < len(program.steps):
        step = program.steps[e.step_index]
        next_step: str | None = step.kind.value
        if e.attempts:
            reason = (
                f"step {e.step_index + 1} failed {e.attempts} time(s) ({e.last_error}); retrying"
            )
        elif program.state is ProgramState.PAUSED:
            reason = "the program is paused"
        else:
            reason = f"step {e.step_index + 1} of {len(program.steps)} ({step.kind.value}) is due"
        due: datetime | None = e.due_at
    else:
        next_step, due = None, None
        if e.state is EnrolmentState.STOPPED and e.stop_reason is not None:
            reason = f"stopped: {e.stop_reason.value}"
        elif e.state is EnrolmentState.FAILED:
            reason = f"failed after {e.attempts} tries: {e.last_error}"
        else:
            reason = "completed every step"
    return ContactProgram(
        program_id=program.id,
        name=program.name,
        state=e.state,
        step_index=e.step_index,
        next_step=next_step,
        due_at=due,
        reason=reason,
        company_id=e.company_id,
        enrolled_because=(
            None
            if e.company_id is None
            else f"company {e.company_id} entered bucket {program.trigger.bucket_id}"
        ),
    )
