"""Intake keys (idempotent web-form intake) and outbox consumer positions (shared tables)."""

from __future__ import annotations

from teamcrm.adapters.sql.ddl import SchemaDialect
from teamcrm.adapters.sql.migrations import migration

__all__: list[str] = []


@migration("0300_intake_keys")
def _intake_keys(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE intake_keys (
        team_id {d.text} NOT NULL,
        key {d.text} NOT NULL,
        contact_id {d.text} NOT NULL,
        bucket_id {d.text} NOT NULL,
        received_at {d.integer} NOT NULL,
        created {d.integer} NOT NULL,
        received_by {d.text},
        PRIMARY KEY (team_id, key)
    {d.table_end()}""",
    )


@migration("0300_consumer_positions")
def _consumer_positions(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE consumer_positions (
        consumer {d.text} NOT NULL,
        team_id {d.text} NOT NULL,
        position {d.integer} NOT NULL,
        claim_token {d.text},
        claimed_until {d.integer},
        PRIMARY KEY (consumer, team_id)
    {d.table_end(without_rowid=True)}""",
    )
