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
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, NewType

import attrs

from teamcrm import ids as _ids
from teamcrm.contact import Contact
from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, BucketId, CompanyId, ContactId, MemberId, TeamId
from teamcrm.templates import Template
from teamcrm.validation import Checker, check_enum, check_field_name, check_int, check_text
from teamcrm.waits import Wait, parse_wait, wait_to_dict

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

ProgramId = NewType("ProgramId", str)
EnrolmentId = NewType("EnrolmentId", str)

#: Most steps of one program.
MAX_STEPS = 50
#: Most conditions of one program (or of one ``stop_if`` step).
MAX_CONDITIONS = 20
#: Tries of one step whose side effect fails before the enrolment is marked failed.
MAX_ATTEMPTS = 5
#: Wait before the first retry of a failed step; doubled for each further try.
BACKOFF = timedelta(minutes=1)
#: Longest delay of a task step (days).
MAX_DAYS = 3650


def new_program_id() -> ProgramId:
    """Return a fresh, time-ordered program id (``pg_…``)."""
    return ProgramId(PREFIXES["program"] + _ids.id_suffix())  # looked up: tests may patch it


def new_enrolment_id() -> EnrolmentId:
    """Return a fresh, time-ordered enrolment id (``en_…``)."""
    return EnrolmentId(PREFIXES["enrolment"] + _ids.id_suffix())


#: The library's own suffix maker (tests may replace ``ids.id_suffix`` to make ids deterministic).
_ID_SUFFIX = _ids.id_suffix


def new_enrolment_ids(count: int) -> list[EnrolmentId]:
    """Return *count* fresh enrolment ids, made as :func:`new_enrolment_id` makes one.

    One clock read and one ``os.urandom`` call for all of them (a bulk
    enrolment makes thousands): the same time digits, then 52 random bits
    each.  When ``ids.id_suffix`` was replaced (tests making ids
    deterministic), each id comes from it.
    """
    prefix = PREFIXES["enrolment"]
    suffix = _ids.id_suffix
    if suffix is not _ID_SUFFIX or count < 2:
        return [EnrolmentId(prefix + suffix()) for _ in range(count)]
    head = prefix + (time.time_ns() // 1000).to_bytes(7).hex()[1:]
    tail = os.urandom(7 * count).hex()
    return [EnrolmentId(head + tail[n + 1 : n + 14]) for n in range(0, 14 * count, 14)]


def backoff(attempts: int) -> timedelta:
    """The wait before trying a step again after its *attempts*-th failure (1, 2, 4... min)."""
    factor: int = 2 ** max(0, min(attempts - 1, 16))
    return BACKOFF * factor


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


class TriggerKind(enum.StrEnum):
    """What enrols a contact."""

    BUCKET_ENTERED = "bucket_entered"
    #: a company enters the bucket: its linked contacts the owner may see are enrolled
    COMPANY_BUCKET_ENTERED = "company_bucket_entered"
    CONTACT_CREATED = "contact_created"
    LEAD_ASSIGNED = "lead_assigned"
    STATUS_CHANGED = "status_changed"
    #: the owner's follow-up of the contact is overdue by ``days`` (found by the runner's scan)
    FOLLOW_UP_OVERDUE = "follow_up_overdue"

    @property
    def attached(self) -> bool:
        """True for the triggers of a bucket (``bucket_entered``, ``company_bucket_entered``)."""
        return self in (TriggerKind.BUCKET_ENTERED, TriggerKind.COMPANY_BUCKET_ENTERED)


class ConditionKind(enum.StrEnum):
    """What a condition tests on a contact."""

    STATUS_IS = "status_is"
    STATUS_IS_NOT = "status_is_not"
    SOURCE_IS = "source_is"
    FIELD_EQUALS = "field_equals"
    IN_BUCKET = "in_bucket"
    NOT_IN_BUCKET = "not_in_bucket"
    HAS_EMAIL = "has_email"
    HAS_PHONE = "has_phone"


class StepKind(enum.StrEnum):
    """What a step does."""

    ADD_TO_BUCKET = "add_to_bucket"
    REMOVE_FROM_BUCKET = "remove_from_bucket"
    MOVE_BETWEEN_BUCKETS = "move_between_buckets"
    SET_STATUS = "set_status"
    CREATE_TASK = "create_task"
    NOTIFY = "notify"
    STOP_IF = "stop_if"
    WAIT = "wait"
    SEND_EMAIL = "send_email"


class EnrolmentState(enum.StrEnum):
    """Where one run of a program for one contact stands."""

    ACTIVE = "active"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"


class StopReason(enum.StrEnum):
    """Why an enrolment stopped before its last step."""

    LEFT_BUCKET = "left_bucket"
    #: the company the run was started for left the bucket (or was deleted)
    COMPANY_LEFT_BUCKET = "company_left_bucket"
    REPLIED = "replied"
    OPTED_OUT = "opted_out"
    PROGRAM_PAUSED = "program_paused"
    CONDITION = "condition"
    NOT_VISIBLE = "not_visible"
    OWNER_INACTIVE = "owner_inactive"


def _trigger_kind(value: TriggerKind | str) -> TriggerKind:
    return check_enum("Trigger.kind", TriggerKind, value)


def _condition_kind(value: ConditionKind | str) -> ConditionKind:
    return check_enum("Condition.kind", ConditionKind, value)


def _step_kind(value: StepKind | str) -> StepKind:
    return check_enum("Step.kind", StepKind, value)


def _re_enrol(value: ReEnrol | str) -> ReEnrol:
    return check_enum("Program.re_enrol", ReEnrol, value)


def _need(obj: object, attr: str, present: bool, kind: str) -> None:
    """Raise unless *attr* is given exactly when the kind *kind* uses it."""
    value = getattr(obj, attr)
    name = f"{type(obj).__name__}.{attr}"
    if present and value is None:
        raise ValidationError(name, value, f"is required for {kind}")
    if not present and value is not None:
        raise ValidationError(name, value, f"is not used by {kind}")


@attrs.frozen(kw_only=True)
class Trigger:
    """What enrols a contact in a program.

    :ivar bucket_id: ``bucket_entered``/``company_bucket_entered``: the bucket
        the program is attached to (a contact - or, for
        ``company_bucket_entered``, the company - leaving it stops the runs
        it started).
    :ivar pool_id: ``lead_assigned``: only leads of this pool (``None``: any pool).
    :ivar status: ``status_changed``: only changes to this status (``None``: any).
    :ivar days: ``follow_up_overdue``: how many days overdue (1 to
        :data:`MAX_DAYS`) the owner's follow-up of the contact must be.
    """

    kind: TriggerKind = attrs.field(converter=_trigger_kind)
    bucket_id: BucketId | None = None
    pool_id: str | None = None
    status: str | None = None
    days: int | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.enum("kind", TriggerKind)
        kind = self.kind
        if not kind.attached:  # a library template may leave it unset
            _need(self, "bucket_id", False, kind.value)
        c.optional_ident("bucket_id", PREFIXES["bucket"])
        if kind is not TriggerKind.LEAD_ASSIGNED:
            _need(self, "pool_id", False, kind.value)
        c.optional_ident("pool_id", PREFIXES["pool"])
        if kind is not TriggerKind.STATUS_CHANGED:
            _need(self, "status", False, kind.value)
        c.optional_text("status", max_len=100)
        _need(self, "days", kind is TriggerKind.FOLLOW_UP_OVERDUE, kind.value)
        if self.days is not None:
            check_int(c.name("days"), self.days, minimum=1, maximum=MAX_DAYS)


@attrs.frozen(kw_only=True)
class Condition:
    """A test of a contact (for enrolling, or for a ``stop_if`` step).

    :ivar value: ``status_is``/``status_is_not``/``source_is``: the text;
        ``field_equals``: the custom field's value.
    :ivar field: ``field_equals``: the custom field's name.
    :ivar bucket_id: ``in_bucket``/``not_in_bucket``: the bucket.
    """

    kind: ConditionKind = attrs.field(converter=_condition_kind)
    value: Any = None  # a JSON scalar (Any: the converter passes it through as is)
    field: str | None = None
    bucket_id: BucketId | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.enum("kind", ConditionKind)
        kind = self.kind
        texts = (ConditionKind.STATUS_IS, ConditionKind.STATUS_IS_NOT, ConditionKind.SOURCE_IS)
        if kind in texts:
            check_text(c.name("value"), self.value, max_len=200)
        elif kind is not ConditionKind.FIELD_EQUALS and self.value is not None:
            raise ValidationError(c.name("value"), self.value, f"is not used by {kind.value}")
        elif kind is ConditionKind.FIELD_EQUALS and not isinstance(
            self.value, str | int | float | bool
        ):
            raise ValidationError(c.name("value"), self.value, "must be a text, number or bool")
        _need(self, "field", kind is ConditionKind.FIELD_EQUALS, kind.value)
        if self.field is not None:
            check_field_name(c.name("field"), self.field)
        in_bucket = kind in (ConditionKind.IN_BUCKET, ConditionKind.NOT_IN_BUCKET)
        _need(self, "bucket_id", in_bucket, kind.value)
        c.optional_ident("bucket_id", PREFIXES["bucket"])

    def holds(self, contact: Contact, bucket_ids: Collection[str]) -> bool:
        """Does *contact*, held in *bucket_ids*, meet the condition?"""
        kind = self.kind
        value: object = self.value
        if kind is ConditionKind.STATUS_IS:
            return contact.status == value
        if kind is ConditionKind.STATUS_IS_NOT:
            return contact.status != value
        if kind is ConditionKind.SOURCE_IS:
            return contact.source == value
        if kind is ConditionKind.FIELD_EQUALS:
            fields = contact.custom_fields
            return self.field is not None and self.field in fields and fields[self.field] == value
        if kind is ConditionKind.IN_BUCKET:
            return self.bucket_id in bucket_ids
        if kind is ConditionKind.NOT_IN_BUCKET:
            return self.bucket_id not in bucket_ids
        if kind is ConditionKind.HAS_EMAIL:
            return bool(contact.emails)
        return bool(contact.phones)


def _conditions(c: Checker, attr: str, value: Any) -> tuple[Condition, ...]:
    items = c.sequence(attr, value)
    if len(items) > MAX_CONDITIONS:
        raise ValidationError(c.name(attr), len(items), f"at most {MAX_CONDITIONS} conditions")
    for n, item in enumerate(items):
        if not isinstance(item, Condition):
            raise ValidationError(f"{c.name(attr)}[{n}]", item, "must be a Condition")
    return items


@attrs.frozen(kw_only=True)
class Step:
    """One step of a program.

    :ivar bucket_id: ``add_to_bucket``/``remove_from_bucket``: the bucket;
        ``move_between_buckets``: the bucket the contact leaves.
    :ivar to_bucket_id: ``move_between_buckets``: the bucket it enters.
    :ivar status: ``set_status``: the new status.
    :ivar member_id: ``create_task``/``notify``: the member (``None``: the owner).
    :ivar days: ``create_task``: the task is due this many days after the step runs
        (at the same wall time in the task's member's time zone).
    :ivar business_days: ``create_task``: count *days* Monday to Friday only.
    :ivar text: ``create_task``: the task's note; ``notify``: the message.
    :ivar conditions: ``stop_if``: the enrolment stops when all of them hold.
    :ivar subject: ``send_email``: the template's subject (see :mod:`teamcrm.templates`).
    :ivar body: ``send_email``: the template's body.  Both are parsed when the
        step is built: an unknown field is a :class:`~teamcrm.errors.TemplateError`.
    :ivar wait: ``wait``: how long, as :func:`teamcrm.waits.wait_to_dict` writes it
        (``{"days": 3}``, ``{"business_days": 2}``, ``{"weekday": "monday",
        "hour": 9, "minute": 0}``); a :class:`~teamcrm.waits.WaitDays` (...) is
        accepted too.  It ends in the program owner's time zone.
    """

    kind: StepKind = attrs.field(converter=_step_kind)
    bucket_id: BucketId | None = None
    to_bucket_id: BucketId | None = None
    status: str | None = None
    member_id: MemberId | None = None
    days: int = 0
    text: str = ""
    conditions: tuple[Condition, ...] = ()
    business_days: bool = False
    subject: str = ""
    body: str = ""
    wait: Any = None  # a mapping (Any: the converter passes it through as is)

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.enum("kind", StepKind)
        kind = self.kind
        buckets = (
            StepKind.ADD_TO_BUCKET,
            StepKind.REMOVE_FROM_BUCKET,
            StepKind.MOVE_BETWEEN_BUCKETS,
        )
        _need(self, "bucket_id", kind in buckets, kind.value)
        c.optional_ident("bucket_id", PREFIXES["bucket"])
        _need(self, "to_bucket_id", kind is StepKind.MOVE_BETWEEN_BUCKETS, kind.value)
        c.optional_ident("to_bucket_id", PREFIXES["bucket"])
        if kind is StepKind.MOVE_BETWEEN_BUCKETS and self.bucket_id == self.to_bucket_id:
            raise ValidationError(c.name("to_bucket_id"), self.to_bucket_id, "must differ")
        _need(self, "status", kind is StepKind.SET_STATUS, kind.value)
        c.optional_text("status", max_len=100)
        if kind not in (StepKind.CREATE_TASK, StepKind.NOTIFY) and self.member_id is not None:
            raise ValidationError(c.name("member_id"), self.member_id, f"is not used by {kind}")
        c.optional_ident("member_id", PREFIXES["member"])
        check_int(c.name("days"), self.days, maximum=MAX_DAYS)
        c.boolean("business_days")
        if kind is not StepKind.CREATE_TASK and self.business_days:
            raise ValidationError(c.name("business_days"), True, f"is not used by {kind.value}")
        if kind is not StepKind.CREATE_TASK and self.days:
            raise ValidationError(c.name("days"), self.days, f"is not used by {kind.value}")
        c.text("text", max_len=2000, allow_empty=kind is not StepKind.NOTIFY, multiline=True)
        conditions = _conditions(c, "conditions", self.conditions)
        if kind is StepKind.STOP_IF and not conditions:
            raise ValidationError(c.name("conditions"), self.conditions, "stop_if needs one")
        if kind is not StepKind.STOP_IF and conditions:
            raise ValidationError(c.name("conditions"), self.conditions, f"not used by {kind}")
        object.__setattr__(self, "conditions", conditions)
        if kind is StepKind.SEND_EMAIL:
            Template.parse(self.subject, self.body)  # TemplateError names the placeholder
        elif self.subject or self.body:
            field = "subject" if self.subject else "body"
            raise ValidationError(c.name(field), getattr(self, field), f"not used by {kind}")
        if kind is StepKind.WAIT:
            if self.wait is None:
                raise ValidationError(c.name("wait"), None, "is required for wait")
            wait = self.wait if isinstance(self.wait, Wait) else parse_wait(self.wait)
            object.__setattr__(self, "wait", wait_to_dict(wait))
        elif self.wait is not None:
            raise ValidationError(c.name("wait"), self.wait, f"is not used by {kind}")

    def template(self) -> Template:
        """The email template of a ``send_email`` step."""
        return Template.parse(self.subject, self.body)

    def wait_value(self) -> Wait:
        """The wait of a ``wait`` step."""
        return parse_wait(self.wait)

    def bucket_ids(self) -> tuple[BucketId, ...]:
        """The buckets this step names."""
        return tuple(b for b in (self.bucket_id, self.to_bucket_id) if b is not None)


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


@attrs.frozen(kw_only=True)
class Enrolment:
    """One run of a program for one contact.

    :ivar step_index: the next step to run (``len(steps)``: none left).
    :ivar due_at: when the next step is due.
    :ivar attempts: failed tries of the next step so far.
    :ivar lease_owner: the worker running the next step now (``None``: nobody).
    :ivar lease_until: when that worker's claim expires (another may then take it).
    :ivar stop_reason: why it stopped (``stopped`` only).
    :ivar last_error: what the last failed try reported.
    :ivar finished_at: when it completed, stopped or failed.
    :ivar company_id: ``company_bucket_entered``: the company whose entry into
        the program's bucket started this run (its leaving stops it);
        ``None`` for every other trigger.
    """

    id: EnrolmentId
    team_id: TeamId
    program_id: ProgramId
    contact_id: ContactId
    enrolled_at: datetime
    due_at: datetime
    state: EnrolmentState = EnrolmentState.ACTIVE
    step_index: int = 0
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None
    stop_reason: StopReason | None = None
    last_error: str | None = None
    finished_at: datetime | None = None
    version: int = 1
    company_id: CompanyId | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["enrolment"])
        c.optional_ident("company_id", PREFIXES["company"])
        c.ident("team_id", PREFIXES["team"])
        c.ident("program_id", PREFIXES["program"])
        c.ident("contact_id", PREFIXES["contact"])
        c.utc("enrolled_at")
        c.utc("due_at")
        c.enum("state", EnrolmentState)
        c.integer("step_index", maximum=MAX_STEPS)
        c.integer("attempts", maximum=1000)
        c.optional_text("lease_owner", max_len=200)
        c.optional_utc("lease_until")
        if self.stop_reason is not None:
            c.enum("stop_reason", StopReason)
        if (self.state is EnrolmentState.STOPPED) != (self.stop_reason is not None):
            raise ValidationError(c.name("stop_reason"), self.stop_reason, "only when stopped")
        c.optional_text("last_error", max_len=2000, multiline=True)
        c.optional_utc("finished_at")
        if (self.state is EnrolmentState.ACTIVE) != (self.finished_at is None):
            raise ValidationError(c.name("finished_at"), self.finished_at, "only when finished")
        c.integer("version", minimum=1)

    @property
    def active(self) -> bool:
        """True while steps remain to run."""
        return self.state is EnrolmentState.ACTIVE

    def stopped(self, reason: StopReason, at: datetime) -> Enrolment:
        """This run stopped at *at* for *reason* (next version, lease released)."""
        return attrs.evolve(
            self,
            state=EnrolmentState.STOPPED,
            stop_reason=reason,
            finished_at=at,
            lease_owner=None,
            lease_until=None,
            version=self.version + 1,
        )

    def advanced(self, steps: int, at: datetime, due_at: datetime | None = None) -> Enrolment:
        """This run after its next step succeeded at *at*: the following step is due at *due_at*.

        Completed when no step of the *steps* is left.  The lease is released.
        """
        index = self.step_index + 1
        done = index >= steps
        return attrs.evolve(
            self,
            step_index=index,
            state=EnrolmentState.COMPLETED if done else EnrolmentState.ACTIVE,
            finished_at=at if done else None,
            due_at=at if due_at is None else due_at,
            attempts=0,
            last_error=None,
            lease_owner=None,
            lease_until=None,
            version=self.version + 1,
        )

    def retried(self, error: str, at: datetime, *, max_attempts: int = MAX_ATTEMPTS) -> Enrolment:
        """This run after its next step failed at *at* with *error*.

        Due again after :func:`backoff`, or ``failed`` once *max_attempts* tries failed.
        """
        attempts = self.attempts + 1
        failed = attempts >= max_attempts
        return attrs.evolve(
            self,
            attempts=attempts,
            last_error=error[:2000] or "failed",
            state=EnrolmentState.FAILED if failed else EnrolmentState.ACTIVE,
            finished_at=at if failed else None,
            due_at=self.due_at if failed else at + backoff(attempts),
            lease_owner=None,
            lease_until=None,
            version=self.version + 1,
        )
