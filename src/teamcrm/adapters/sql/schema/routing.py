"""Lead routing's tables (pools, leads, offers, cursors, loads), shared by both SQL stores.

See :mod:`teamcrm.adapters.sqlite.routing` for the SQLite-only parts (the
backfill step and the load trigger) and
:mod:`teamcrm.adapters.postgres.schema` for PostgreSQL's versions of them.
"""

from __future__ import annotations

from teamcrm.adapters.sql.ddl import SchemaDialect
from teamcrm.adapters.sql.migrations import migration

__all__: list[str] = []


@migration("0100_routing")
def _routing(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE lead_pools (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        name {d.text} NOT NULL,
        created_at {d.integer} NOT NULL,
        source_bucket_ids {d.text} NOT NULL,
        member_ids {d.text} NOT NULL,
        method {d.text} NOT NULL,
        active {d.integer} NOT NULL,
        offer_window_us {d.integer} NOT NULL,
        follow_up_count {d.integer},
        follow_up_unit {d.text},
        fallback_member_id {d.text},
        created_by {d.text},
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX lead_pools_by_team ON lead_pools (team_id, created_at, id)",
        f"""CREATE TABLE leads (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        contact_id {d.text} NOT NULL,
        pool_key {d.text} NOT NULL,
        status {d.text} NOT NULL,
        is_open {d.integer} NOT NULL,
        assignee_ids {d.text} NOT NULL,
        assigned_at {d.integer},
        entry {d.integer} NOT NULL,
        keys {d.text} NOT NULL,
        declined_by {d.text} NOT NULL,
        explanation {d.text},
        created_at {d.integer} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        """CREATE UNIQUE INDEX leads_one_open
        ON leads (team_id, pool_key, contact_id) WHERE is_open = 1""",
        "CREATE INDEX leads_by_team ON leads (team_id, created_at, id)",
        "CREATE INDEX leads_by_contact ON leads (team_id, contact_id, pool_key, entry)",
        f"""CREATE TABLE lead_keys (
        team_id {d.text} NOT NULL,
        pool_key {d.text} NOT NULL,
        key {d.text} NOT NULL,
        lead_id {d.text} NOT NULL,
        PRIMARY KEY (team_id, pool_key, key, lead_id)
    {d.table_end(without_rowid=True)}""",
        "CREATE INDEX lead_keys_by_lead ON lead_keys (lead_id)",
        f"""CREATE TABLE offers (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        lead_id {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        created_at {d.integer} NOT NULL,
        expires_at {d.integer} NOT NULL,
        status {d.text} NOT NULL,
        settled_at {d.integer},
        offered_by {d.text},
        note {d.text},
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX offers_by_lead ON offers (team_id, lead_id, created_at, id)",
        "CREATE INDEX offers_by_member ON offers (team_id, member_id, created_at, id)",
        "CREATE INDEX offers_open_by_expiry ON offers (expires_at, id) WHERE status = 'open'",
        f"""CREATE TABLE routing_cursors (
        team_id {d.text} NOT NULL,
        pool_id {d.text} NOT NULL,
        position {d.integer} NOT NULL,
        version {d.integer} NOT NULL,
        PRIMARY KEY (team_id, pool_id)
    {d.table_end(without_rowid=True)}""",
        f"""CREATE TABLE inbound_buckets (
        team_id {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        bucket_id {d.text} NOT NULL,
        PRIMARY KEY (team_id, member_id)
    {d.table_end(without_rowid=True)}""",
    )


@migration("0110_routing_more")
def _routing_more(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"ALTER TABLE lead_pools ADD COLUMN weights {d.text} NOT NULL DEFAULT '{{}}'",
        f"ALTER TABLE lead_pools ADD COLUMN capacity {d.text}",
        f"ALTER TABLE lead_pools ADD COLUMN member_capacity {d.text} NOT NULL DEFAULT '{{}}'",
        f"ALTER TABLE lead_pools ADD COLUMN response_window_us {d.integer}",
        f"ALTER TABLE lead_pools ADD COLUMN dedupe {d.integer} NOT NULL DEFAULT 1",
        f"ALTER TABLE leads ADD COLUMN role {d.text}",
        f"ALTER TABLE leads ADD COLUMN respond_by {d.integer}",
        "CREATE INDEX leads_response_due ON leads (respond_by, id) WHERE respond_by IS NOT NULL",
        f"""CREATE TABLE lead_loads (
        team_id {d.text} NOT NULL,
        pool_key {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        open_leads {d.integer} NOT NULL,
        last_assigned_at {d.integer},
        PRIMARY KEY (team_id, pool_key, member_id)
    {d.table_end(without_rowid=True)}""",
        f"""CREATE TABLE lead_receipts (
        team_id {d.text} NOT NULL,
        pool_key {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        lead_id {d.text} NOT NULL,
        received_at {d.integer} NOT NULL,
        PRIMARY KEY (team_id, pool_key, member_id, lead_id)
    {d.table_end(without_rowid=True)}""",
        """CREATE INDEX lead_receipts_by_time
        ON lead_receipts (team_id, pool_key, member_id, received_at)""",
        f"""CREATE TABLE role_slots (
        team_id {d.text} NOT NULL,
        name {d.text} NOT NULL,
        created_at {d.integer} NOT NULL,
        created_by {d.text},
        PRIMARY KEY (team_id, name)
    {d.table_end(without_rowid=True)}""",
    )
