"""The shared tables and indexes of ``0200_views`` (saved filters, list orders).

Each store registers ``0200_views`` itself, with its own name index around
these statements: SQLite an FTS5 table kept by triggers
(:mod:`teamcrm.adapters.sqlite.views`), PostgreSQL a ``contact_names`` table
written by its contacts repository (:mod:`teamcrm.adapters.postgres.views`).
"""

from __future__ import annotations

from teamcrm.adapters.sql.ddl import SchemaDialect

__all__ = ["views_tables"]


def views_tables(d: SchemaDialect) -> tuple[str, ...]:
    """The statements of ``0200_views`` both stores run (after their name index)."""
    return (
        "CREATE INDEX contacts_by_team_created_id ON contacts (team_id, created_at, id)",
        "CREATE INDEX touches_team_by_at ON touches_team (team_id, at)",
        f"""CREATE TABLE saved_filters (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        owner_id {d.text} NOT NULL,
        name {d.text} NOT NULL,
        shared {d.integer} NOT NULL,
        query {d.text} NOT NULL,
        created_at {d.integer} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX saved_filters_by_owner ON saved_filters (team_id, owner_id)",
        "CREATE INDEX saved_filters_shared ON saved_filters (team_id) WHERE shared = 1",
    )
