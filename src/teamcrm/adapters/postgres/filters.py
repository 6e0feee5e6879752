"""PostgreSQL versions of the filter indexes (``0430``) and the name trigram index (``0431``).

``0430_filter_indexes``: the same status and source indexes as SQLite, and
``contact_fields`` with ``value`` as ``jsonb`` (so ``1`` equals ``1.0`` and
``true`` never equals ``1``, as :func:`teamcrm.search.matches` compares),
kept by a PL/pgSQL trigger on ``contacts`` (no extra round trip for the
writers) and emptied with its contact by ``ON DELETE CASCADE``.

``0431_name_trigrams``: a ``pg_trgm`` GIN index on ``contact_names.words``,
so a name search (``words LIKE '% ann o%'``) reads the trigrams of the
query instead of every name of the team.  The extension is created if it
is missing (``CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public``; on
PostgreSQL 13 and later a database owner or a role with ``CREATE`` on the
database may do so, pg_trgm being a trusted extension).  When it cannot be
created the migration still succeeds without the index (name search stays
correct, and linear in the team's names) and says so: a warning in the log
and a comment on ``contact_names`` (``trigram_index_missing`` tells).
"""

from __future__ import annotations

from typing import Any

import psycopg

from teamcrm import log
from teamcrm.adapters.postgres.migrations import register_postgres_migration

__all__ = ["EXTENSION", "TRIGRAM_MISSING", "trigram_index", "trigram_index_missing"]

_FILL = (
    "INSERT INTO contact_fields (contact_id, team_id, field, kind, value, created_at)"
    " SELECT {r}.id, {r}.team_id, j.key, jsonb_typeof(j.value), j.value, {r}.created_at"
    " FROM jsonb_each({r}.custom_fields::jsonb) j"
)

register_postgres_migration(
    "0430_filter_indexes",
    "CREATE INDEX contacts_by_team_status ON contacts (team_id, status, created_at, id)",
    "CREATE INDEX contacts_by_team_source ON contacts (team_id, source, created_at, id)",
    """CREATE TABLE contact_fields (
        contact_id TEXT COLLATE "C" NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        team_id TEXT COLLATE "C" NOT NULL,
        field TEXT COLLATE "C" NOT NULL,
        kind TEXT COLLATE "C" NOT NULL,
        value JSONB,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (contact_id, field)
    )""",
    "CREATE INDEX contact_fields_by_value"
    " ON contact_fields (team_id, field, kind, value, created_at, contact_id)",
    "CREATE INDEX contact_fields_by_field"
    " ON contact_fields (team_id, field, created_at, contact_id)",
    f"""CREATE FUNCTION teamcrm_contact_fields() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM contact_fields WHERE contact_id = OLD.id;
        END IF;
        {_FILL.format(r="NEW")};
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER contact_fields_insert AFTER INSERT ON contacts FOR EACH ROW"
    " WHEN (NEW.custom_fields <> '{}') EXECUTE FUNCTION teamcrm_contact_fields()",
    "CREATE TRIGGER contact_fields_update AFTER UPDATE OF custom_fields, created_at, team_id"
    " ON contacts FOR EACH ROW WHEN (OLD.custom_fields IS DISTINCT FROM NEW.custom_fields"
    " OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.team_id IS DISTINCT FROM"
    " NEW.team_id) EXECUTE FUNCTION teamcrm_contact_fields()",
    _FILL.format(r="c").replace("FROM jsonb_each", "FROM contacts c, jsonb_each"),
)

#: The comment ``0431_name_trigrams`` leaves on ``contact_names`` when pg_trgm is missing.
TRIGRAM_MISSING = "name search without a trigram index: pg_trgm could not be created"


#: The extension ``0431_name_trigrams`` uses (a name, so a test can ask for a missing one).
EXTENSION = "pg_trgm"


def _extension_schema(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = %s",
        (EXTENSION,),
    ).fetchone()
    return None if row is None else str(row[0])


def trigram_index(conn: psycopg.Connection[Any], table: str, index: str, missing: str) -> bool:
    """Create a pg_trgm GIN index *index* on ``table.words``; return whether it was made.

    Creates pg_trgm first if needed; when it cannot be created, logs a
    warning, leaves the comment *missing* on *table* and returns ``False``
    (the migration goes on: search stays correct, without the index).
    """
    schema = _extension_schema(conn)
    if schema is None:
        try:
            with conn.transaction():  # a savepoint: a refusal leaves the migration usable
                conn.execute(f'CREATE EXTENSION IF NOT EXISTS "{EXTENSION}" SCHEMA public')
        except psycopg.Error as exc:
            log.store.warning("%s is not available (%s); %s", EXTENSION, exc, missing)
            conn.execute(f"COMMENT ON TABLE {table} IS '{missing}'")
            return False
        schema = _extension_schema(conn) or "public"
    quoted = '"' + schema.replace('"', '""') + '"'
    conn.execute(f"CREATE INDEX {index} ON {table} USING gin (words {quoted}.gin_trgm_ops)")
    return True


def _name_trigrams(conn: psycopg.Connection[Any]) -> None:
    """Create the trigram index, creating pg_trgm first if needed (or record that it cannot)."""
    trigram_index(conn, "contact_names", "contact_names_trigrams", TRIGRAM_MISSING)


register_postgres_migration("0431_name_trigrams", apply=_name_trigrams)


def trigram_index_missing(
    conn: psycopg.Connection[Any], table: str = "contact_names", missing: str = TRIGRAM_MISSING
) -> bool:
    """Did ``0431_name_trigrams`` run without pg_trgm (name search without the index)?

    With *table* and *missing*, the same question about another name table
    (``company_names`` of ``0470_company_search``).
    """
    row = conn.execute("SELECT obj_description(%s::regclass, 'pg_class')", (table,)).fetchone()
    return row is not None and row[0] == missing
