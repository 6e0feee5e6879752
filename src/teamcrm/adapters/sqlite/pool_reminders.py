"""SQLite's form of migration ``0420_pool_reminders``.

See :mod:`teamcrm.adapters.sql.schema.pool_reminders`.
"""

from __future__ import annotations

from teamcrm.adapters.sql.migrations import register_migration
from teamcrm.adapters.sql.schema.pool_reminders import cancel_legacy_tasks_sql

__all__ = ["cancel_legacy_tasks_sql"]

register_migration(
    "0420_pool_reminders",
    cancel_legacy_tasks_sql("CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"),
)
