"""SQLite tables and repositories for follow-ups: policies, touches, due rows, snoozes, tasks.

Added with the extension points of this package (a named migration and
registered repositories), the way any later feature adds its storage.

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.followups` and :mod:`teamcrm.adapters.sql.tasks`;
their tables are
shared migrations (:mod:`teamcrm.adapters.sql.schema`) and they are registered
in :mod:`teamcrm.adapters.sql.repositories`; this module re-exports them under
their old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.followups import (
    SQLiteFollowUpDues,
    SQLiteFollowUpPolicies,
    SQLiteSnoozes,
    SQLiteTouches,
)
from teamcrm.adapters.sql.tasks import SQLiteTasks

__all__ = [
    "SQLiteFollowUpDues",
    "SQLiteFollowUpPolicies",
    "SQLiteSnoozes",
    "SQLiteTasks",
    "SQLiteTouches",
]
