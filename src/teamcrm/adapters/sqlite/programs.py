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
:mod:`teamcrm.adapters.sql.programs`; their tables are
shared migrations (:mod:`teamcrm.adapters.sql.schema`) and they are registered
in :mod:`teamcrm.adapters.sql.repositories`; this module re-exports them under
their old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.programs import (
    ENROLMENT_COLUMNS,
    SQLiteEnrolments,
    SQLitePrograms,
    enrolment_from_row,
)
from teamcrm.adapters.sql.programs import ENROLMENTS_PER_INSERT as ENROLMENTS_PER_INSERT

__all__ = ["ENROLMENT_COLUMNS", "SQLiteEnrolments", "SQLitePrograms", "enrolment_from_row"]


# ``company_bucket_entered``: the company whose entry started a run (NULL for other triggers).
