"""SQLite tables and repositories for lead routing: pools, leads, offers, cursors, inbound buckets.

Plugged in with this package's extension points (a named migration and
registered repositories).  The database itself guards the routing races:

* a partial unique index allows one *open* lead per (team, pool, contact),
  so a contact can never become two open leads of one pool;
* the round-robin cursor is written with ``UPDATE ... WHERE version = ?``
  (or a first ``INSERT``), inside the unit's ``BEGIN IMMEDIATE`` transaction;
* offers and leads are updated with version checks, so two acceptances of
  one lead cannot both commit.

Migration ``0110_routing_more`` (weights, capacity, response windows,
dedupe switch, roles) adds pool and lead columns and three tables kept by
:class:`SQLiteLeads` in the same statement batch as the lead itself:
``lead_loads`` (open leads and last receipt per pool and member, read by
``least_loaded`` with one primary-key range per pool: ``SQLiteLeads.loads``),
``lead_receipts`` (which member received which lead when, for capacity: an
indexed range per member: ``SQLiteLeads.received``) and ``role_slots``
(``SQLiteLeadPools.role_slots``).

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.pools`, :mod:`~teamcrm.adapters.sql.leads`,
:mod:`~teamcrm.adapters.sql.offers` and :mod:`~teamcrm.adapters.sql.inbound`;
this module keeps the SQLite migrations, registers the repositories and
re-exports them under their old import path.
"""

from __future__ import annotations

import sqlite3

from teamcrm.adapters.sql.inbound import SQLiteInboundBuckets
from teamcrm.adapters.sql.leads import LEAD_INSERT, LEAD_SELECT, SQLiteLeads, lead_from_row
from teamcrm.adapters.sql.offers import OFFER_SELECT, SQLiteOffers, offer_from_row
from teamcrm.adapters.sql.pools import SQLiteLeadPools, SQLiteRoutingCursors
from teamcrm.adapters.sqlite.migrations import register_migration

__all__ = [
    "LEAD_INSERT",
    "LEAD_SELECT",
    "OFFER_SELECT",
    "SQLiteInboundBuckets",
    "SQLiteLeadPools",
    "SQLiteLeads",
    "SQLiteOffers",
    "SQLiteRoutingCursors",
    "lead_from_row",
    "offer_from_row",
]

register_migration(
    "0100_routing",
    """CREATE TABLE lead_pools (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        source_bucket_ids TEXT NOT NULL,
        member_ids TEXT NOT NULL,
        method TEXT NOT NULL,
        active INTEGER NOT NULL,
        offer_window_us INTEGER NOT NULL,
        follow_up_count INTEGER,
        follow_up_unit TEXT,
        fallback_member_id TEXT,
        created_by TEXT,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX lead_pools_by_team ON lead_pools (team_id, created_at, id)",
    """CREATE TABLE leads (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        pool_key TEXT NOT NULL,
        status TEXT NOT NULL,
        is_open INTEGER NOT NULL,
        assignee_ids TEXT NOT NULL,
        assigned_at INTEGER,
        entry INTEGER NOT NULL,
        keys TEXT NOT NULL,
        declined_by TEXT NOT NULL,
        explanation TEXT,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    )""",
    """CREATE UNIQUE INDEX leads_one_open
        ON leads (team_id, pool_key, contact_id) WHERE is_open = 1""",
    "CREATE INDEX leads_by_team ON leads (team_id, created_at, id)",
    "CREATE INDEX leads_by_contact ON leads (team_id, contact_id, pool_key, entry)",
    """CREATE TABLE lead_keys (
        team_id TEXT NOT NULL,
        pool_key TEXT NOT NULL,
        key TEXT NOT NULL,
        lead_id TEXT NOT NULL,
        PRIMARY KEY (team_id, pool_key, key, lead_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX lead_keys_by_lead ON lead_keys (lead_id)",
    """CREATE TABLE offers (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        lead_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        settled_at INTEGER,
        offered_by TEXT,
        note TEXT,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX offers_by_lead ON offers (team_id, lead_id, created_at, id)",
    "CREATE INDEX offers_by_member ON offers (team_id, member_id, created_at, id)",
    "CREATE INDEX offers_open_by_expiry ON offers (expires_at, id) WHERE status = 'open'",
    """CREATE TABLE routing_cursors (
        team_id TEXT NOT NULL,
        pool_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (team_id, pool_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE inbound_buckets (
        team_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        bucket_id TEXT NOT NULL,
        PRIMARY KEY (team_id, member_id)
    ) WITHOUT ROWID""",
)

register_migration(
    "0110_routing_more",
    "ALTER TABLE lead_pools ADD COLUMN weights TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE lead_pools ADD COLUMN capacity TEXT",
    "ALTER TABLE lead_pools ADD COLUMN member_capacity TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE lead_pools ADD COLUMN response_window_us INTEGER",
    "ALTER TABLE lead_pools ADD COLUMN dedupe INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE leads ADD COLUMN role TEXT",
    "ALTER TABLE leads ADD COLUMN respond_by INTEGER",
    "CREATE INDEX leads_response_due ON leads (respond_by, id) WHERE respond_by IS NOT NULL",
    """CREATE TABLE lead_loads (
        team_id TEXT NOT NULL,
        pool_key TEXT NOT NULL,
        member_id TEXT NOT NULL,
        open_leads INTEGER NOT NULL,
        last_assigned_at INTEGER,
        PRIMARY KEY (team_id, pool_key, member_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE lead_receipts (
        team_id TEXT NOT NULL,
        pool_key TEXT NOT NULL,
        member_id TEXT NOT NULL,
        lead_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (team_id, pool_key, member_id, lead_id)
    ) WITHOUT ROWID""",
    """CREATE INDEX lead_receipts_by_time
        ON lead_receipts (team_id, pool_key, member_id, received_at)""",
    """CREATE TABLE role_slots (
        team_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT,
        PRIMARY KEY (team_id, name)
    ) WITHOUT ROWID""",
)


def _backfill_loads(conn: sqlite3.Connection) -> None:
    """Loads and receipts of the leads assigned before ``0110_routing_more``."""
    conn.execute(
        "INSERT OR IGNORE INTO lead_receipts (team_id, pool_key, member_id, lead_id, received_at)"
        " SELECT l.team_id, l.pool_key, j.value, l.id, l.assigned_at"
        " FROM leads l, json_each(l.assignee_ids) j"
        " WHERE l.status = 'assigned' AND l.assigned_at IS NOT NULL"
    )
    conn.execute(
        "INSERT OR IGNORE INTO lead_loads (team_id, pool_key, member_id, open_leads,"
        " last_assigned_at) SELECT team_id, pool_key, member_id, COUNT(*), MAX(received_at)"
        " FROM lead_receipts GROUP BY team_id, pool_key, member_id"
    )


#: SQLite only (a Python step); a PostgreSQL store registers its own version.
register_migration("0111_routing_loads_backfill", apply=_backfill_loads)

#: A new lead's owners gain it in ``lead_loads`` and ``lead_receipts`` inside
#: the lead's own ``INSERT`` (a trigger), instead of two more statements per
#: routed lead.  Changes of owners (``SQLiteLeads.update``) are still written
#: by the repository.  PostgreSQL registers its own version (a PL/pgSQL
#: trigger doing the same, ``adapters/postgres/schema.py``).
register_migration(
    "0112_lead_load_triggers",
    """CREATE TRIGGER lead_loads_on_insert AFTER INSERT ON leads
        WHEN json_array_length(NEW.assignee_ids) > 0
        BEGIN
            INSERT INTO lead_loads (team_id, pool_key, member_id, open_leads, last_assigned_at)
                SELECT NEW.team_id, NEW.pool_key, j.value, 1, NEW.assigned_at
                FROM json_each(NEW.assignee_ids) j WHERE true
                ON CONFLICT (team_id, pool_key, member_id) DO UPDATE SET
                    open_leads = lead_loads.open_leads + 1,
                    last_assigned_at = CASE WHEN lead_loads.last_assigned_at IS NULL
                        OR lead_loads.last_assigned_at < excluded.last_assigned_at
                        THEN excluded.last_assigned_at ELSE lead_loads.last_assigned_at END;
            INSERT OR IGNORE INTO lead_receipts
                (team_id, pool_key, member_id, lead_id, received_at)
                SELECT NEW.team_id, NEW.pool_key, j.value, NEW.id, NEW.assigned_at
                FROM json_each(NEW.assignee_ids) j WHERE NEW.assigned_at IS NOT NULL;
        END""",
)
