"""SQLite table and repository for notifications (in-app feed, email digest queue).

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.notifications`; this module keeps the SQLite
migrations, registers the repositories and re-exports them under their old
import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.notifications import SQLiteNotifications
from teamcrm.adapters.sqlite.migrations import register_migration

__all__ = ["SQLiteNotifications"]

register_migration(
    "0007_notifications",
    """CREATE TABLE notifications (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        message TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        read_at INTEGER,
        emailed_at INTEGER,
        data TEXT NOT NULL DEFAULT '{}'
    )""",
    """CREATE INDEX notifications_by_member
        ON notifications (team_id, member_id, created_at DESC, id DESC)""",
)


# Not registered here: ``uow.notifications`` is the subclass with the digest
# methods, registered once in ``digests.py`` (a name is registered once).
