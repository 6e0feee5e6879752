"""Tasks: explicit follow-ups (a member, a contact, a due time, a note)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal, NewType

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, ContactId, MemberId, TeamId, id_suffix
from teamcrm.validation import Checker

__all__ = [
    "MAX_NOTE",
    "Task",
    "TaskId",
    "TaskStatus",
    "TaskStatusName",
    "new_task_id",
]

TaskId = NewType("TaskId", str)

#: Longest task note (characters).
MAX_NOTE = 10_000


def new_task_id() -> TaskId:
    """Return a fresh, random task id (``tk_…``)."""
    return TaskId(PREFIXES["task"] + id_suffix())


class TaskStatus(enum.StrEnum):
    """A task is open until it is done or cancelled."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


#: The statuses as text, for type checkers.
TaskStatusName = Literal["open", "done", "cancelled"]


@attrs.frozen(kw_only=True)
class Task:
    """Follow up *contact_id*, as *member_id*, by *due_at*.

    :ivar closed_at: when it was completed or cancelled (``None`` while open).
    :ivar version: optimistic version, +1 on every change.
    """

    id: TaskId
    team_id: TeamId
    member_id: MemberId
    contact_id: ContactId
    due_at: datetime
    created_at: datetime
    created_by: MemberId
    note: str = ""
    status: TaskStatus = TaskStatus.OPEN
    closed_at: datetime | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["task"])
        c.ident("team_id", PREFIXES["team"])
        c.ident("member_id", PREFIXES["member"])
        c.ident("contact_id", PREFIXES["contact"])
        c.utc("due_at")
        c.utc("created_at")
        c.ident("created_by", PREFIXES["member"])
        c.text("note", max_len=MAX_NOTE, allow_empty=True, multiline=True)
        c.enum("status", TaskStatus)
        c.optional_utc("closed_at")
        c.integer("version", minimum=1)
        if (self.status is TaskStatus.OPEN) != (self.closed_at is None):
            raise ValidationError(
                "Task.closed_at", self.closed_at, "is set exactly when the task is closed"
            )

    @property
    def is_open(self) -> bool:
        """True while the task is neither done nor cancelled."""
        return self.status is TaskStatus.OPEN
