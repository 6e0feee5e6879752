"""What a program's run does: its ordered steps, one :class:`Step` each.

Add to / remove from / move between buckets, set the status, create a task,
notify, send an email from a template, wait, or stop if a condition holds.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, BucketId, MemberId
from teamcrm.program_triggers import MAX_DAYS, Condition, _conditions, _need
from teamcrm.templates import Template
from teamcrm.validation import Checker, check_enum, check_int
from teamcrm.waits import Wait, parse_wait, wait_to_dict

__all__ = [
    "MAX_STEPS",
    "Step",
    "StepKind",
]

#: Most steps of one program.
MAX_STEPS = 50


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


def _step_kind(value: StepKind | str) -> StepKind:
    return check_enum("Step.kind", StepKind, value)


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
