"""The PostgreSQL repository of opportunities and cases: the shared one plus a row lock.

Writers run side by side on PostgreSQL (READ COMMITTED), so a use case that
reads a record and writes it back first locks its row (``FOR UPDATE``): a
concurrent change of the same record waits, then reads what the other
committed, and neither fails nor is lost.  Links need no lock of their own:
the use cases lock the contacts and companies they link (``FOR KEY SHARE``)
and the links' foreign keys cascade on delete.
"""

from __future__ import annotations

from teamcrm.adapters.postgres.repositories import pg, writing
from teamcrm.adapters.sql.base import translated
from teamcrm.adapters.sql.records import SQLiteRecords
from teamcrm.ids import PREFIXES, TeamId

__all__ = ["PGRecords"]


class PGRecords(SQLiteRecords):
    """Opportunities and cases; ``lock`` holds one row until the unit ends."""

    @translated
    def lock(self, team_id: TeamId, record_id: str) -> None:
        """Hold the record's row (``FOR UPDATE``) until the unit ends; nothing when reading."""
        if not writing(self):
            return
        table = "cases" if record_id.startswith(PREFIXES["case"]) else "opportunities"
        pg(self).run(
            f"SELECT 1 FROM {table} WHERE id = %s AND team_id = %s FOR UPDATE", (record_id, team_id)
        ).fetchall()
