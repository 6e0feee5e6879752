"""The ``programs`` and ``program_enrolments`` tables (migration ``0400_programs``).

A program is stored as its JSON (made by :mod:`teamcrm.converter`) next to
the columns the queries need.  Enrolments are plain columns; two indexes do
the work:

* ``program_enrolments_one_active`` - a partial unique index on
  (program, contact) for active rows: at most one active run of a program
  per contact, decided by the database (``INSERT OR IGNORE`` skips the rest);
* ``program_enrolments_due`` - active rows by ``due_at``: what the runner
  claims.  :meth:`SQLiteEnrolments.claim_due` is one ``UPDATE ... RETURNING``
  in the caller's writing unit; SQLite's write lock makes concurrent claims
  take turns, so no row is handed to two workers while its lease holds.

Foreign keys delete a program's or a contact's enrolments with it.

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.programs`; this module keeps the SQLite migrations,
registers the repositories and re-exports them under their old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.programs import (
    ENROLMENT_COLUMNS,
    SQLiteEnrolments,
    SQLitePrograms,
    enrolment_from_row,
)
from teamcrm.adapters.sql.programs import ENROLMENTS_PER_INSERT as ENROLMENTS_PER_INSERT
from teamcrm.adapters.sqlite.migrations import register_migration

__all__ = ["ENROLMENT_COLUMNS", "SQLiteEnrolments", "SQLitePrograms", "enrolment_from_row"]

register_migration(
    "0400_programs",
    """CREATE TABLE programs (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        data TEXT NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX programs_by_team ON programs (team_id, id)",
    """CREATE TABLE program_enrolments (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        program_id TEXT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
        contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        enrolled_at INTEGER NOT NULL,
        due_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        step_index INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER,
        stop_reason TEXT,
        last_error TEXT,
        finished_at INTEGER,
        version INTEGER NOT NULL
    )""",
    "CREATE UNIQUE INDEX program_enrolments_one_active ON program_enrolments"
    " (program_id, contact_id) WHERE state = 'active'",
    "CREATE INDEX program_enrolments_due ON program_enrolments (due_at, id) WHERE state = 'active'",
    "CREATE INDEX program_enrolments_by_contact ON program_enrolments (contact_id)",
    "CREATE INDEX program_enrolments_by_program ON program_enrolments (program_id)",
)

# ``company_bucket_entered``: the company whose entry started a run (NULL for other triggers).
register_migration(
    "0450_enrolment_companies",
    "ALTER TABLE program_enrolments ADD COLUMN company_id TEXT",
    "CREATE INDEX program_enrolments_by_company ON program_enrolments (company_id)"
    " WHERE company_id IS NOT NULL",
)
