"""SQLite table and repository for notifications (in-app feed, email digest queue).

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.notifications`; this module keeps the SQLite
migrations, registers the repositories and re-exports them under their old
import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.notifications import SQLiteNotifications

__all__ = ["SQLiteNotifications"]


# Not registered here: ``uow.notifications`` is the subclass with the digest
# methods, registered once in ``digests.py`` (a name is registered once).
