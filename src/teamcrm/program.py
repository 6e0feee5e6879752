"""Programs: automation a team writes for itself (pure values and rules, no I/O).

A :class:`Program` belongs to one member (its *owner*).  It has a
:class:`Trigger` (a contact or a company enters a bucket, a contact is created, becomes a lead
assigned to the owner, or changes status), optional :class:`Condition`\\ s
the contact must meet when it would be enrolled, and ordered
:class:`Step`\\ s (add to / remove from / move between buckets, set the
status, create a task, notify, send an email from a template, wait, stop if
a condition holds).

A *personal* program runs; a *team library* program is a template that
managers and admins publish and members copy (the copy is personal and
independent of later edits to the original).

An :class:`Enrolment` is one run of a program for one contact: which step
comes next and when, the lease of the worker running it, and how it ended
(completed, stopped with a :class:`StopReason`, or failed after
:data:`MAX_ATTEMPTS` tries).  Seed 000: Susan "created a program to
automatically bucket her contacts into her shared bucket" - a program whose
trigger is her personal bucket and whose one step adds the contact to her
team bucket.  Seed 001 validates an address "by scheduling drip emails": a
``send_email`` step, ``wait`` steps between them.

This module holds :class:`Program` (its scope, state and re-enrolment) and
re-exports the rest from their rooms: :mod:`teamcrm.program_triggers`
(triggers and conditions), :mod:`teamcrm.program_steps` (steps),
:mod:`teamcrm.enrolment` (runs) and :mod:`teamcrm.program_ids`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from datetime import datetime

import attrs

from teamcrm.contact import Contact
from teamcrm.enrolment import BACKOFF, MAX_ATTEMPTS, Enrolment, EnrolmentState, StopReason, backoff
from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, BucketId, MemberId, TeamId
from teamcrm.program_ids import (
    EnrolmentId,
    ProgramId,
    new_enrolment_id,
    new_enrolment_ids,
    new_program_id,
)
from teamcrm.program_steps import MAX_STEPS, Step, StepKind
from teamcrm.program_triggers import (
    MAX_CONDITIONS,
    Condition,
    ConditionKind,
    Trigger,
    TriggerKind,
    _conditions,
)
from teamcrm.program_triggers import MAX_DAYS as MAX_DAYS
from teamcrm.validation import Checker, check_enum

__all__ = [
    "BACKOFF",
    "MAX_ATTEMPTS",
    "MAX_CONDITIONS",
    "MAX_STEPS",
    "Condition",
    "ConditionKind",
    "Enrolment",
    "EnrolmentId",
    "EnrolmentState",
    "Program",
    "ProgramId",
    "ProgramScope",
    "ProgramState",
    "ReEnrol",
    "Step",
    "StepKind",
    "StopReason",
    "Trigger",
    "TriggerKind",
    "backoff",
    "new_enrolment_id",
    "new_enrolment_ids",
    "new_program_id",
]


class ProgramScope(enum.StrEnum):
    """A member's own program, or a template in the team library."""

    PERSONAL = "personal"
    TEAM_LIBRARY = "team_library"


class ProgramState(enum.StrEnum):
    """Only active programs enrol contacts and run steps."""

    ACTIVE = "active"
    PAUSED = "paused"


class ReEnrol(enum.StrEnum):
    """What happens when a contact that finished a run meets the trigger again.

    ``never``: a contact runs a program at most once; ``after_finished``: a
    new run starts once the previous one completed or stopped (never two at
    a time).
    """

    NEVER = "never"
    AFTER_FINISHED = "after_finished"


def _re_enrol(value: ReEnrol | str) -> ReEnrol:
    return check_enum("Program.re_enrol", ReEnrol, value)


@attrs.frozen(kw_only=True)
class Program:
    """A trigger, conditions and ordered steps, owned by one member.

    :ivar scope: ``personal`` (it runs, on what its owner may see) or
        ``team_library`` (a template members copy; it never runs itself).
    :ivar state: only ``active`` programs enrol contacts and run steps.
    :ivar re_enrol: see :class:`ReEnrol`.
    :ivar copied_from: the library program this one was copied from.
    :ivar version: optimistic version, +1 on every change.
    """

    id: ProgramId
    team_id: TeamId
    owner_id: MemberId
    name: str
    trigger: Trigger
    steps: tuple[Step, ...]
    created_at: datetime
    conditions: tuple[Condition, ...] = ()
    scope: ProgramScope = ProgramScope.PERSONAL
    state: ProgramState = ProgramState.ACTIVE
    re_enrol: ReEnrol = attrs.field(default=ReEnrol.NEVER, converter=_re_enrol)
    copied_from: ProgramId | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["program"])
        c.ident("team_id", PREFIXES["team"])
        c.ident("owner_id", PREFIXES["member"])
        c.text("name", max_len=200)
        if not isinstance(self.trigger, Trigger):
            raise ValidationError(c.name("trigger"), self.trigger, "must be a Trigger")
        steps = c.sequence("steps", self.steps)
        if not 1 <= len(steps) <= MAX_STEPS:
            raise ValidationError(c.name("steps"), len(steps), f"must hold 1 to {MAX_STEPS} steps")
        for n, step in enumerate(steps):
            if not isinstance(step, Step):
                raise ValidationError(f"{c.name('steps')}[{n}]", step, "must be a Step")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "conditions", _conditions(c, "conditions", self.conditions))
        c.utc("created_at")
        c.enum("scope", ProgramScope)
        c.enum("state", ProgramState)
        c.enum("re_enrol", ReEnrol)
        c.optional_ident("copied_from", PREFIXES["program"])
        c.integer("version", minimum=1)
        trigger = self.trigger
        if (
            self.scope is ProgramScope.PERSONAL
            and trigger.kind.attached
            and trigger.bucket_id is None
        ):
            raise ValidationError(
                "Program.trigger.bucket_id", None, "a personal program must be attached to a bucket"
            )

    @property
    def runs(self) -> bool:
        """True when the program enrols contacts (personal and active)."""
        return self.scope is ProgramScope.PERSONAL and self.state is ProgramState.ACTIVE

    def bucket_ids(self) -> tuple[BucketId, ...]:
        """Every bucket the program names (trigger, conditions, steps), without duplicates."""
        found: dict[BucketId, None] = {}
        if self.trigger.bucket_id is not None:
            found[self.trigger.bucket_id] = None
        for cond in (*self.conditions, *(x for s in self.steps for x in s.conditions)):
            if cond.bucket_id is not None:
                found[cond.bucket_id] = None
        for step in self.steps:
            found.update(dict.fromkeys(step.bucket_ids()))
        return tuple(found)

    def statuses(self) -> tuple[str, ...]:
        """Every status the program names (to check against the team's statuses)."""
        found = [self.trigger.status] if self.trigger.status else []
        found += [s.status for s in self.steps if s.status is not None]
        return tuple(dict.fromkeys(found))

    def member_ids(self) -> tuple[MemberId, ...]:
        """Every member named by a step (task and notification recipients)."""
        return tuple(dict.fromkeys(s.member_id for s in self.steps if s.member_id is not None))

    def admits(self, contact: Contact, bucket_ids: Collection[str]) -> bool:
        """Does *contact* (held in *bucket_ids*) meet every condition of the program?"""
        return all(cond.holds(contact, bucket_ids) for cond in self.conditions)
