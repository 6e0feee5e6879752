"""Who enters a program: its trigger and the conditions a contact must meet to be enrolled.

A :class:`Trigger` says what starts a run (a contact or a company enters a
bucket, a contact is created, becomes a lead assigned to the owner, changes
status, or has a follow-up overdue); :class:`Condition`\\ s are checked on the
contact when it would be enrolled (and by ``stop_if`` steps).
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from typing import Any

import attrs

from teamcrm.contact import Contact
from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, BucketId
from teamcrm.validation import Checker, check_enum, check_field_name, check_int, check_text

__all__ = [
    "MAX_CONDITIONS",
    "MAX_DAYS",
    "Condition",
    "ConditionKind",
    "Trigger",
    "TriggerKind",
]

#: Most conditions of one program (or of one ``stop_if`` step).
MAX_CONDITIONS = 20
#: Longest delay of a task step (days).
MAX_DAYS = 3650


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


def _trigger_kind(value: TriggerKind | str) -> TriggerKind:
    return check_enum("Trigger.kind", TriggerKind, value)


def _condition_kind(value: ConditionKind | str) -> ConditionKind:
    return check_enum("Condition.kind", ConditionKind, value)


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
