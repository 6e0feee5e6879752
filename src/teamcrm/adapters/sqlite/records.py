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
:mod:`teamcrm.adapters.sql.records`; this module keeps the SQLite migrations,
registers the repositories and re-exports them under their old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.records import SQLiteRecords
from teamcrm.adapters.sqlite.migrations import register_migration

__all__ = ["SQLiteRecords"]

register_migration(
    "0410_opportunities_cases",
    """CREATE TABLE opportunities (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        title TEXT NOT NULL,
        value TEXT NOT NULL,
        currency TEXT NOT NULL,
        stage TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX opportunities_by_team ON opportunities (team_id, created_at)",
    """CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX cases_by_team ON cases (team_id, created_at)",
    """CREATE TABLE record_contacts (
        record_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        team_id TEXT NOT NULL,
        contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        PRIMARY KEY (record_id, position)
    ) WITHOUT ROWID""",
    "CREATE INDEX record_contacts_by_contact ON record_contacts (contact_id, record_id)",
    """CREATE TABLE record_companies (
        record_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        team_id TEXT NOT NULL,
        company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
        PRIMARY KEY (record_id, position)
    ) WITHOUT ROWID""",
    "CREATE INDEX record_companies_by_company ON record_companies (company_id, record_id)",
    """CREATE TABLE record_notes (
        record_id TEXT NOT NULL,
        interaction_id TEXT NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
        team_id TEXT NOT NULL,
        PRIMARY KEY (record_id, interaction_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX record_notes_by_interaction ON record_notes (interaction_id)",
)
