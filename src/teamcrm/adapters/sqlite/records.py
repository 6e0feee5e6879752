"""SQLite tables and repository of opportunities and cases (migration ``0410``).

* ``opportunities`` and ``cases``: one row per record (an opportunity's
  value is exact decimal text);
* ``record_contacts`` / ``record_companies``: a record's links, in order, each
  with a foreign key ``ON DELETE CASCADE`` to the contact or company: deleting
  a contact or company removes its links in the same statement, so no link
  ever names a deleted row (on PostgreSQL the foreign key's check also locks
  the contact or company row while a link is inserted: a concurrent delete
  waits, then removes the new link too);
* ``record_notes``: the interactions filed under a record.

The PostgreSQL store runs the same statements through its dialect.

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.records`; their tables are
shared migrations (:mod:`teamcrm.adapters.sql.schema`) and they are registered
in :mod:`teamcrm.adapters.sql.repositories`; this module re-exports them under
their old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.records import SQLiteRecords

__all__ = ["SQLiteRecords"]
