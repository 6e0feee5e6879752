"""The ``intake_keys`` table: lead submissions taken in, by idempotency key.

Migration ``0300_intake_keys``; the primary key (team, key) is what makes a
repeated submission — even from two processes at once — create one contact
and one lead (see :mod:`teamcrm.intake`).

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.intake`; this module keeps the SQLite migrations,
registers the repositories and re-exports them under their old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.intake import SQLiteIntake
from teamcrm.adapters.sqlite.migrations import register_migration

__all__ = ["SQLiteIntake"]

register_migration(
    "0300_intake_keys",
    """CREATE TABLE intake_keys (
        team_id TEXT NOT NULL,
        key TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        bucket_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        created INTEGER NOT NULL,
        received_by TEXT,
        PRIMARY KEY (team_id, key)
    )""",
)
