"""Migration ``0420_pool_reminders``: the legacy pool follow-up tasks are cancelled.

Before it, a pool with a follow-up cadence gave each assignee one *task*
(note ``"Follow up your new lead from <pool> (<cadence>)"``) that a
reassignment had to move.  A pool's reminder is now computed when the
owner's list is read (:mod:`teamcrm.pool_reminder`), so the tasks still open
would remind twice: they are marked ``cancelled`` (closed at the migration's
time, version + 1).  No event is emitted for them (a data migration, not a
use case); completed and cancelled tasks are left as they are.
"""

from __future__ import annotations

from teamcrm.pool_reminder import LEGACY_TASK_NOTE

__all__ = ["cancel_legacy_tasks_sql"]


def cancel_legacy_tasks_sql(now_micros: str) -> str:
    """The ``UPDATE`` cancelling the open legacy tasks; *now_micros*: SQL for the time."""
    prefix = LEGACY_TASK_NOTE.replace("'", "''")
    return (
        f"UPDATE tasks SET status = 'cancelled', closed_at = {now_micros},"
        " version = version + 1"
        f" WHERE status = 'open' AND substr(note, 1, {len(LEGACY_TASK_NOTE)}) = '{prefix}'"
    )
