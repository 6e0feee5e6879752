"""Tasks (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import from_micros, optional_micros, to_micros
from teamcrm.errors import NotFound
from teamcrm.ids import MemberId, TeamId
from teamcrm.task import Task, TaskId, TaskStatus
from teamcrm.validation import trusted

__all__ = ["SQLiteTasks"]


# --------------------------------------------------------------------- tasks
_TASK_SELECT = (
    "SELECT id, team_id, member_id, contact_id, due_at, created_at, created_by, note, status,"
    " closed_at, version FROM tasks"
)


def _task(row: Sequence[Any]) -> Task:
    kid, tid, mid, cid, due, created, by, note, status, closed, version = row
    return trusted(
        Task,
        id=kid,
        team_id=tid,
        member_id=mid,
        contact_id=cid,
        due_at=from_micros(due),
        created_at=from_micros(created),
        created_by=by,
        note=note,
        status=TaskStatus(status),
        closed_at=None if closed is None else from_micros(closed),
        version=version,
    )


class SQLiteTasks(SQLRepository):
    """Tasks (explicit follow-ups)."""

    kind = "task"
    table = "tasks"

    @staticmethod
    def _values(t: Task) -> dict[str, Any]:
        """The task's columns but id, team and version, in ``add``'s order."""
        return {
            "member_id": t.member_id,
            "contact_id": t.contact_id,
            "due_at": to_micros(t.due_at),
            "created_at": to_micros(t.created_at),
            "created_by": t.created_by,
            "note": t.note,
            "status": t.status.value,
            "closed_at": optional_micros(t.closed_at),
        }

    @translated
    def get(self, team_id: TeamId, task_id: TaskId) -> Task:
        """Return the task or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_TASK_SELECT} WHERE id = ? AND team_id = ?", (task_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, task_id)
        return _task(row)

    @translated
    def add(self, task: Task) -> None:
        """Insert a new task."""
        self._insert(
            task.id,
            "INSERT INTO tasks (id, team_id, member_id, contact_id, due_at, created_at,"
            " created_by, note, status, closed_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (task.id, task.team_id, *self._values(task).values(), task.version),
        )

    @translated
    def update(self, task: Task) -> None:
        """Replace the stored task whose version is ``task.version - 1``."""
        self._update_versioned(task.id, task.team_id, task.version, self._values(task))

    @translated
    def for_member(
        self, team_id: TeamId, member_id: MemberId, status: TaskStatus | None = None
    ) -> list[Task]:
        """Return the member's tasks (of one status if given) by (due_at, id)."""
        if status is None:
            rows = self._conn.execute(
                f"{_TASK_SELECT} WHERE team_id = ? AND member_id = ? ORDER BY due_at, id",
                (team_id, member_id),
            )
        else:
            rows = self._conn.execute(
                f"{_TASK_SELECT} WHERE team_id = ? AND member_id = ? AND status = ?"
                " ORDER BY due_at, id",
                (team_id, member_id, TaskStatus(status).value),
            )
        return [_task(r) for r in rows]

    @translated
    def open_due(
        self,
        team_id: TeamId,
        member_id: MemberId,
        at: datetime,
        limit: int,
        *,
        since: datetime | None = None,
    ) -> list[Task]:
        """Return up to *limit* of the member's open tasks due by *at*, by (due_at, id)."""
        rows = self._conn.execute(
            f"{_TASK_SELECT} WHERE team_id = ? AND member_id = ? AND status = 'open'"
            " AND due_at <= ? AND due_at >= ? ORDER BY due_at, id LIMIT ?",
            (
                team_id,
                member_id,
                to_micros(at),
                -(2**62) if since is None else to_micros(since),
                limit,
            ),
        )
        return [_task(r) for r in rows]
