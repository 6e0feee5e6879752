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
from teamcrm.adapters.sqlite.migrations import register_migration

__all__ = [
    "SQLiteFollowUpDues",
    "SQLiteFollowUpPolicies",
    "SQLiteSnoozes",
    "SQLiteTasks",
    "SQLiteTouches",
]

register_migration(
    "0006_followups",
    """CREATE TABLE followup_policies (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        bucket_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        cadence_count INTEGER NOT NULL,
        cadence_unit TEXT NOT NULL,
        reset_by_team INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX followup_policies_by_team ON followup_policies (team_id, created_at, id)",
    "CREATE INDEX followup_policies_by_bucket ON followup_policies (team_id, bucket_id)",
    "CREATE INDEX followup_policies_by_member ON followup_policies (team_id, member_id)",
    """CREATE TABLE touches_team (
        team_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        team_wide INTEGER NOT NULL,
        PRIMARY KEY (team_id, contact_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE touches_member (
        team_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        team_wide INTEGER NOT NULL,
        PRIMARY KEY (team_id, contact_id, member_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE touches_pending (
        team_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        team_wide INTEGER NOT NULL,
        kind TEXT NOT NULL,
        UNIQUE (team_id, contact_id, member_id, at, team_wide)
    )""",
    "CREATE INDEX touches_pending_by_time ON touches_pending (team_id, at)",
    """CREATE TABLE followup_dues (
        policy_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        bucket_id TEXT NOT NULL,
        due_on TEXT NOT NULL,
        since INTEGER NOT NULL,
        touch_at INTEGER,
        touch_by TEXT,
        touch_kind TEXT,
        PRIMARY KEY (policy_id, contact_id)
    ) WITHOUT ROWID""",
    """CREATE INDEX followup_dues_by_member
        ON followup_dues (team_id, member_id, due_on, contact_id, policy_id)""",
    "CREATE INDEX followup_dues_by_contact ON followup_dues (team_id, contact_id)",
    """CREATE TABLE snoozes (
        team_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        until INTEGER NOT NULL,
        PRIMARY KEY (team_id, member_id, contact_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        note TEXT NOT NULL,
        status TEXT NOT NULL,
        closed_at INTEGER,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX tasks_by_member ON tasks (team_id, member_id, status, due_at, id)",
    "CREATE INDEX tasks_by_contact ON tasks (team_id, contact_id)",
)
