"""PostgreSQL versions of the shared migrations that cannot be translated as they are.

* ``0200_views`` (an SQLite FTS5 index of names): see
  :mod:`teamcrm.adapters.postgres.views`;
* ``0111_routing_loads_backfill`` is a Python step on SQLite: here it is SQL;
* ``0300_no_dangling_rows`` (an SQLite trigger): here foreign keys with
  ``ON DELETE CASCADE`` tie memberships and inbound-bucket choices to their
  bucket.  The foreign key's check locks the bucket row (``FOR KEY SHARE``)
  inside the insert, so an insert and a concurrent ``delete_bucket`` are
  ordered by the database: no membership of a deleted bucket, at no extra
  round trip.
"""

from __future__ import annotations

from teamcrm.adapters.postgres.migrations import register_postgres_migration
from teamcrm.adapters.sqlite.integrity import CLEANUP
from teamcrm.adapters.sqlite.pool_reminders import cancel_legacy_tasks_sql

__all__: list[str] = []

# The SQLite version is a Python step (``apply``); the same backfill in SQL.
register_postgres_migration(
    "0111_routing_loads_backfill",
    "INSERT INTO lead_receipts (team_id, pool_key, member_id, lead_id, received_at)"
    " SELECT l.team_id, l.pool_key, j.value, l.id, l.assigned_at"
    " FROM leads l, json_array_elements_text(l.assignee_ids::json) j"
    " WHERE l.status = 'assigned' AND l.assigned_at IS NOT NULL ON CONFLICT DO NOTHING",
    "INSERT INTO lead_loads (team_id, pool_key, member_id, open_leads, last_assigned_at)"
    " SELECT team_id, pool_key, member_id, COUNT(*), MAX(received_at)"
    " FROM lead_receipts GROUP BY team_id, pool_key, member_id ON CONFLICT DO NOTHING",
)

# SQLite keeps a new lead's loads and receipts with a trigger; here the
# repository writes them (PGLeads.loads_by_trigger is False).
register_postgres_migration(
    "0112_lead_load_triggers",
    "COMMENT ON TABLE lead_loads IS 'open leads per pool and member, kept by the repository'",
)

register_postgres_migration(
    "0300_no_dangling_rows",
    *CLEANUP,
    "ALTER TABLE memberships ADD CONSTRAINT memberships_bucket_fk"
    " FOREIGN KEY (bucket_id) REFERENCES buckets (id) ON DELETE CASCADE",
    "ALTER TABLE inbound_buckets ADD CONSTRAINT inbound_buckets_bucket_fk"
    " FOREIGN KEY (bucket_id) REFERENCES buckets (id) ON DELETE CASCADE",
    "CREATE INDEX inbound_buckets_by_bucket ON inbound_buckets (bucket_id)",
)

# The legacy pool follow-up tasks (see teamcrm.adapters.sqlite.pool_reminders).
register_postgres_migration(
    "0420_pool_reminders",
    cancel_legacy_tasks_sql("CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"),
)
