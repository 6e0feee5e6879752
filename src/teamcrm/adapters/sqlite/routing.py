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
