"""SQLite tables and repositories for follow-ups: policies, touches, due rows, snoozes, tasks.

Added with the extension points of this package (a named migration and
registered repositories), the way any later feature adds its storage.

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.followups` and :mod:`teamcrm.adapters.sql.tasks`;
this module keeps the SQLite migrations, registers the repositories and
re-exports them under their old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.followups import (
    SQLiteFollowUpDues,
    SQLiteFollowUpPolicies,
    SQLiteSnoozes,
    SQLiteTouches,
)
from teamcrm.adapters.sql.tasks import SQLiteTasks
from teamcrm.adapters.sqlite.store import register_repository

__all__ = [
    "SQLiteFollowUpDues",
    "SQLiteFollowUpPolicies",
    "SQLiteSnoozes",
    "SQLiteTasks",
    "SQLiteTouches",
]


register_repository("followup_policies", SQLiteFollowUpPolicies)
register_repository("touches", SQLiteTouches)
register_repository("followup_dues", SQLiteFollowUpDues)
register_repository("snoozes", SQLiteSnoozes)
register_repository("tasks", SQLiteTasks)
