"""Schema migrations of the PostgreSQL store, recorded in ``teamcrm_migrations``.

The PostgreSQL store runs the same named migrations as the SQLite store
(:func:`teamcrm.adapters.sql.migrations.registered_migrations`), so both
stores of one release always agree on what a database must contain.  A
shared migration's statements are built for PostgreSQL by its ``build``
function with :data:`~teamcrm.adapters.sql.ddl.POSTGRES_SCHEMA` (its words:
``BIGINT``, ``TEXT COLLATE "C"``, identity columns, an explicit ``rowid``);
nothing rewrites a statement.  A migration that is SQLite's alone (virtual
tables, triggers, Python data steps, or table definitions written as plain
text) has a PostgreSQL version registered with
:func:`register_postgres_migration` under the same name; without one it is
refused with :class:`~teamcrm.errors.StoreError` before anything runs.

Opening a store first reads which migrations the schema records (nothing is
written to a schema made by a newer release: it is refused with
:class:`~teamcrm.errors.SchemaVersionError`), then applies the missing ones
in one transaction that holds ``pg_advisory_xact_lock`` for the schema, so
several processes opening a new database at once apply each migration once.
PostgreSQL DDL is transactional: a failed migration leaves nothing behind.

A schema that holds tables or views but no ``teamcrm_migrations`` table
belongs to another application: it is refused with
:class:`~teamcrm.errors.ForeignDatabaseError` and nothing is written (checked
before and again under the advisory lock).  With ``create=False`` a schema
without teamcrm's tables is refused with
:class:`~teamcrm.errors.MissingDatabaseError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import psycopg

from teamcrm import log
from teamcrm.adapters.postgres.connection import translate_error
from teamcrm.adapters.sql import schema as _shared_schema  # noqa: F401 (registers them)
from teamcrm.adapters.sql.ddl import POSTGRES_SCHEMA
from teamcrm.adapters.sql.migrations import (
    MIGRATIONS_TABLE,
    Migration,
    refuse_unknown,
    registered_migrations,
)
from teamcrm.errors import (
    ForeignDatabaseError,
    MissingDatabaseError,
    StoreError,
    ValidationError,
)

__all__ = [
    "MIGRATION_LOCK",
    "PostgresMigration",
    "applied_migrations",
    "migrate",
    "migration_count",
    "register_postgres_migration",
    "registered_postgres_migrations",
    "release_migrations",
]

#: First key of the advisory lock that serialises migrations (the second is the schema).
MIGRATION_LOCK = 0x7C3A_0001

PostgresApply = Callable[[psycopg.Connection[Any]], None]

_OVERRIDES: dict[str, tuple[str, ...]] = {}
_APPLY: dict[str, PostgresApply] = {}


@attrs.frozen(kw_only=True)
class PostgresMigration:
    """One named migration as PostgreSQL statements (and an optional Python data step)."""

    name: str
    statements: tuple[str, ...]
    apply: PostgresApply | None = None


def register_postgres_migration(
    name: str, *statements: str, apply: PostgresApply | None = None
) -> None:
    """Give the shared migration *name* PostgreSQL statements of its own.

    *apply*, if given, runs after the statements in the same transaction (a
    data migration in Python).
    """
    Migration(name=name, statements=tuple(statements) or ("-- python",))  # checks the name
    existing = _OVERRIDES.get(name)
    if existing is not None and (existing != tuple(statements) or _APPLY.get(name) != apply):
        raise ValidationError("Migration.name", name, "already has a PostgreSQL version")
    _OVERRIDES[name] = tuple(statements)
    if apply is not None:
        _APPLY[name] = apply


def release_migrations() -> tuple[Migration, ...]:
    """Every migration of the release as the PostgreSQL store knows it, in name order.

    The shared registry, plus each migration that only has PostgreSQL's
    version registered in this process (its SQLite version lives in the
    SQLite package, which the PostgreSQL store does not import).
    """
    shared = {m.name: m for m in registered_migrations()}
    for name in sorted({*_OVERRIDES, *_APPLY} - set(shared)):
        shared[name] = Migration(
            name=name, statements=_OVERRIDES.get(name, ()), apply=_APPLY.get(name)
        )
    return tuple(sorted(shared.values(), key=lambda m: m.name))


def registered_postgres_migrations(
    migrations: Sequence[Migration] | None = None,
) -> list[PostgresMigration]:
    """Every migration of the release (or of *migrations*) as PostgreSQL, in name order."""
    known = sorted(release_migrations() if migrations is None else migrations, key=lambda m: m.name)
    out: list[PostgresMigration] = []
    for m in known:
        statements = _OVERRIDES.get(m.name)
        if statements is None:
            _refuse_sqlite_only(m)
            statements = m.statements_for(POSTGRES_SCHEMA)
        out.append(PostgresMigration(name=m.name, statements=statements, apply=_APPLY.get(m.name)))
    return out


#: Leading words of plain statements that are SQLite's alone: table
#: definitions written as text (their types are SQLite's) and SQLite-only objects.
_SQLITE_ONLY = (
    ("CREATE", "TABLE"),
    ("CREATE", "VIRTUAL"),
    ("CREATE", "TRIGGER"),
    ("PRAGMA",),
)


def _refuse_sqlite_only(m: Migration) -> None:
    """Refuse a shared migration without PostgreSQL version that only SQLite can run.

    A Python step runs on SQLite's connection; a plain statement that defines
    columns spells SQLite's types (shared table definitions are built with
    the schema dialect: ``build=``).  Nothing is rewritten: such a migration
    needs :func:`register_postgres_migration`.
    """
    why = None
    if m.apply is not None:
        why = "runs Python on SQLite"
    for statement in m.statements:
        words = statement.upper().split()
        adds_column = "ADD COLUMN" in " ".join(words)
        if adds_column or any(tuple(words[: len(lead)]) == lead for lead in _SQLITE_ONLY):
            why = f"has the SQLite-only statement {statement[:60]!r}"
    if why is not None:
        raise StoreError(
            f"migration {m.name} {why}; it needs a PostgreSQL version"
            " (register_postgres_migration) or statements built with build="
        )


def applied_migrations(conn: psycopg.Connection[Any]) -> list[str]:
    """Return the names the current schema records, in the order they were applied."""
    try:
        row = conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()
        if row is None or row[0] is None:
            return []
        rows = conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY seq").fetchall()
    except psycopg.Error as exc:
        raise translate_error(exc) from exc
    return [r[0] for r in rows]


#: Counts the relations (tables, views...) of the current schema.
_RELATIONS = (
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
)


def migration_count(conn: psycopg.Connection[Any]) -> int:
    """How many migrations the current schema records (what a unit compares)."""
    try:
        row = conn.execute(f"SELECT count(*) FROM {MIGRATIONS_TABLE}").fetchone()
    except psycopg.Error as exc:
        raise translate_error(exc) from exc
    return 0 if row is None else int(row[0])


def _refuse_foreign(conn: psycopg.Connection[Any], where: str, *, create: bool) -> None:
    """Refuse a schema without teamcrm's migrations table that holds relations.

    Unless *create*, refuse one without teamcrm's migrations table at all.
    """
    try:
        row = conn.execute("SELECT to_regclass(%s), current_schema()", (MIGRATIONS_TABLE,))
        found = row.fetchone()
        if found is not None and found[0] is not None:
            return
        schema = None if found is None else found[1]
        count = conn.execute(_RELATIONS).fetchone()
    except psycopg.Error as exc:
        raise translate_error(exc) from exc
    relations = 0 if count is None else int(count[0])
    name = f"{where} (schema {schema!r})"
    if relations:
        raise ForeignDatabaseError(
            name,
            f"it holds {relations} tables or views but no {MIGRATIONS_TABLE} table:"
            " another application's data; give teamcrm a schema of its own"
            " (options=-csearch_path=...)",
        )
    if not create:
        raise MissingDatabaseError(name, "holds no teamcrm data (the schema is empty)")


def migrate(
    conn: psycopg.Connection[Any],
    migrations: Sequence[Migration] | None = None,
    *,
    where: str = "",
    create: bool = True,
) -> list[str]:
    """Bring the current schema up to date; return the names of the migrations applied.

    *conn* must be in autocommit mode.  Raises ``SchemaVersionError`` for a
    schema made by a newer release, ``ForeignDatabaseError`` for another
    application's schema (and ``MissingDatabaseError`` for an empty one when
    *create* is false), before writing anything.
    """
    shared = list(release_migrations() if migrations is None else migrations)
    known = registered_postgres_migrations(shared)
    _refuse_foreign(conn, where, create=create)
    applied = applied_migrations(conn)
    refuse_unknown(applied, shared, where)
    if {m.name for m in known} <= set(applied):
        return []
    newly: list[str] = []
    try:
        with conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(coalesce(current_schema(), '')))",
                (MIGRATION_LOCK,),
            )
            _refuse_foreign(conn, where, create=create)  # again, under the lock
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
                " seq BIGINT GENERATED ALWAYS AS IDENTITY,"
                ' name TEXT COLLATE "C" PRIMARY KEY,'
                " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = applied_migrations(conn)
            refuse_unknown(done, shared, where)
            for migration in known:
                if migration.name in done:
                    continue
                if migration.statements:  # one round trip per migration
                    conn.execute(";\n".join(migration.statements))
                if migration.apply is not None:
                    migration.apply(conn)
                conn.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES (%s)", (migration.name,)
                )
                newly.append(migration.name)
    except psycopg.Error as exc:
        raise StoreError(f"migrating the PostgreSQL database {where} failed: {exc}") from exc
    if newly:
        log.store.info("PostgreSQL schema %s: applied migrations %s", where, ", ".join(newly))
    return newly
