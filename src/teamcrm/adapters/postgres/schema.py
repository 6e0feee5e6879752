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
from teamcrm.adapters.sql.schema.integrity import CLEANUP
from teamcrm.adapters.sql.schema.pool_reminders import cancel_legacy_tasks_sql

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

# A new lead's owners gain it in lead_loads and lead_receipts inside the
# lead's own INSERT (a PL/pgSQL trigger, as SQLite's trigger does): two
# round trips fewer per routed lead.
register_postgres_migration(
    "0112_lead_load_triggers",
    """CREATE FUNCTION teamcrm_lead_loads_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO lead_loads (team_id, pool_key, member_id, open_leads, last_assigned_at)
            SELECT NEW.team_id, NEW.pool_key, j.value, 1, NEW.assigned_at
            FROM json_array_elements_text(NEW.assignee_ids::json) AS j(value)
            ON CONFLICT (team_id, pool_key, member_id) DO UPDATE SET
                open_leads = lead_loads.open_leads + 1,
                last_assigned_at = CASE WHEN lead_loads.last_assigned_at IS NULL
                    OR lead_loads.last_assigned_at < excluded.last_assigned_at
                    THEN excluded.last_assigned_at ELSE lead_loads.last_assigned_at END;
        IF NEW.assigned_at IS NOT NULL THEN
            INSERT INTO lead_receipts (team_id, pool_key, member_id, lead_id, received_at)
                SELECT NEW.team_id, NEW.pool_key, j.value, NEW.id, NEW.assigned_at
                FROM json_array_elements_text(NEW.assignee_ids::json) AS j(value)
                ON CONFLICT DO NOTHING;
        END IF;
        RETURN NULL;
    END
    $$""",
    """CREATE TRIGGER lead_loads_on_insert AFTER INSERT ON leads FOR EACH ROW
        WHEN (json_array_length(NEW.assignee_ids::json) > 0)
        EXECUTE FUNCTION teamcrm_lead_loads_on_insert()""",
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

# The legacy pool follow-up tasks (see teamcrm.adapters.sql.schema.pool_reminders).
register_postgres_migration(
    "0420_pool_reminders",
    cancel_legacy_tasks_sql("CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"),
)
