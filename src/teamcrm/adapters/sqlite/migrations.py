"""Named schema migrations, recorded in the ``teamcrm_migrations`` table.

The registry (:class:`Migration`, :func:`register_migration`,
:func:`registered_migrations`) is shared by both SQL stores and lives in
:mod:`teamcrm.adapters.sql.migrations` (re-exported here); the migrations
both stores share are functions of the schema dialect in
:mod:`teamcrm.adapters.sql.schema`, rendered here with
:data:`~teamcrm.adapters.sql.ddl.SQLITE_SCHEMA`.  :mod:`teamcrm.adapters.sqlite`
imports every module that registers migrations, so every process knows every
migration of the release.

Opening a store applies, inside one ``BEGIN IMMEDIATE`` transaction, the
registered migrations that the database has not recorded yet (a database made
by an older release upgrades in place).  A database that records a migration
this release does not know was made by a newer release: it is refused with
:class:`~teamcrm.errors.SchemaVersionError` before anything is written.

Every teamcrm file carries ``PRAGMA application_id`` = :data:`APPLICATION_ID`
(the ASCII bytes ``tCRM``) and ``PRAGMA user_version`` = the number of
migrations it records.  Opening refuses (:class:`~teamcrm.errors.ForeignDatabaseError`,
nothing written) a file with another application id, or one that holds
tables but no ``teamcrm_migrations`` table: another application's database.
A teamcrm file made before the application id existed is recognised by its
migrations table and gets the id.  A running store notices a newer release's
migration through the header stamp (:data:`STAMP_SQL`), see
:class:`~teamcrm.adapters.sqlite.store.SQLiteStore`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

import attrs

from teamcrm import log
from teamcrm.adapters.sql.ddl import SQLITE_SCHEMA
from teamcrm.adapters.sql.migrations import (
    MIGRATIONS_TABLE,
    Migration,
    refuse_unknown,
    register_migration,
    registered_migrations,
)
from teamcrm.adapters.sqlite.connection import retry_busy, translate
from teamcrm.errors import (
    ForeignDatabaseError,
    MissingDatabaseError,
    StoreError,
)

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS_TABLE",
    "STAMP_SQL",
    "DatabaseState",
    "Migration",
    "applied_migrations",
    "check_known",
    "inspect_database",
    "migrate",
    "refuse_unknown",
    "register_migration",
    "registered_migrations",
]

#: ``PRAGMA application_id`` of a teamcrm SQLite file: the ASCII bytes "tCRM".
APPLICATION_ID = 0x7443524D
#: One statement reading the header stamp a running store compares per unit:
#: ``schema_version`` (moves on any DDL) and ``user_version`` (set by
#: :func:`migrate` to the number of recorded migrations, so a migration without
#: DDL moves it too).
STAMP_SQL = (
    "SELECT s.schema_version, u.user_version FROM pragma_schema_version s, pragma_user_version u"
)


def _table_exists(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    ).fetchone()
    return row is not None


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """Return the names recorded in the database, in the order they were applied."""
    try:
        if not _table_exists(conn):
            return []
        rows = conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY rowid").fetchall()
    except sqlite3.Error as exc:
        raise translate(exc) from exc
    return [r[0] for r in rows]


@attrs.frozen(kw_only=True)
class DatabaseState:
    """What a SQLite database holds, as far as deciding whether it is teamcrm's.

    :ivar application_id: ``PRAGMA application_id`` (0 when never set).
    :ivar user_version: ``PRAGMA user_version``.
    :ivar objects: how many tables, indexes, views and triggers it holds.
    :ivar has_migrations: true when it has the ``teamcrm_migrations`` table.
    :ivar applied: the migrations it records, in the order they were applied.
    """

    application_id: int
    user_version: int
    objects: int
    has_migrations: bool
    applied: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """True for a database with no schema object at all (a new or empty file)."""
        return self.objects == 0

    @property
    def foreign(self) -> str | None:
        """Why the database belongs to another application, or ``None`` if it may be teamcrm's."""
        if self.application_id not in (0, APPLICATION_ID):
            return (
                f"its application_id is {self.application_id:#010x},"
                f" teamcrm's is {APPLICATION_ID:#010x}"
            )
        if not self.has_migrations and not self.empty:
            return (
                f"it holds {self.objects} tables or indexes but no {MIGRATIONS_TABLE} table:"
                " another application's data"
            )
        return None


def _state(conn: sqlite3.Connection) -> DatabaseState:
    app = conn.execute("PRAGMA application_id").fetchone()
    user = conn.execute("PRAGMA user_version").fetchone()
    objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    has = _table_exists(conn)
    applied = applied_migrations(conn) if has else []
    return DatabaseState(
        application_id=int(app[0]),
        user_version=int(user[0]),
        objects=int(objects[0]),
        has_migrations=has,
        applied=tuple(applied),
    )


def inspect_database(conn: sqlite3.Connection) -> DatabaseState:
    """Read :class:`DatabaseState` in one read transaction (writes nothing)."""
    retry_busy(lambda: conn.execute("BEGIN"))
    try:
        return _state(conn)
    except sqlite3.Error as exc:
        raise translate(exc) from exc
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def _refuse_state(state: DatabaseState, where: str, *, create: bool) -> None:
    reason = state.foreign
    if reason is not None:
        raise ForeignDatabaseError(where, reason)
    if not create and not state.has_migrations:
        raise MissingDatabaseError(where, "holds no teamcrm data (it is empty)")


def check_known(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration] | None = None,
    *,
    where: str = "",
    create: bool = True,
) -> list[str]:
    """Refuse a database teamcrm must not touch; write nothing.

    ``ForeignDatabaseError`` for another application's database,
    ``MissingDatabaseError`` for an empty one when *create* is false,
    ``SchemaVersionError`` for one with migrations this release does not
    know.  Returns the names the database records.
    """
    known = list(registered_migrations() if migrations is None else migrations)
    state = inspect_database(conn)
    _refuse_state(state, where, create=create)
    refuse_unknown(state.applied, known, where)
    return list(state.applied)


def migrate(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration] | None = None,
    *,
    where: str = "",
    create: bool = True,
) -> list[str]:
    """Bring the database up to date; return the names of the migrations applied.

    First a read-only check (nothing is written to a database that is
    refused: see :func:`check_known`), then one ``BEGIN IMMEDIATE``
    transaction applies what is missing, records it, and sets
    ``application_id`` and ``user_version``.  Safe when several processes open the same new
    file at once: the second one finds the work done.
    """
    known = sorted(
        registered_migrations() if migrations is None else migrations, key=lambda m: m.name
    )
    state = inspect_database(conn)
    _refuse_state(state, where, create=create)
    refuse_unknown(state.applied, known, where)
    if (
        all(m.name in set(state.applied) for m in known)
        and state.application_id == APPLICATION_ID
        and state.user_version == len(state.applied)
    ):
        return []
    retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        locked = _state(conn)  # again, under the write lock: another process may have begun
        _refuse_state(locked, where, create=create)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
            " name TEXT PRIMARY KEY,"
            " applied_at TEXT NOT NULL)"
        )
        done = set(applied_migrations(conn))
        refuse_unknown(list(done), known, where)
        newly: list[str] = []
        now = datetime.now(UTC).isoformat()
        for migration in known:
            if migration.name in done:
                continue
            for statement in migration.statements_for(SQLITE_SCHEMA):
                conn.execute(statement)
            if migration.apply is not None:
                migration.apply(conn)
            conn.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                (migration.name, now),
            )
            newly.append(migration.name)
        # Header fields, written in the same transaction: the file says whose it is,
        # and how many migrations it records (a running store's per-unit stamp).
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {len(done) + len(newly)}")
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"migrating the SQLite database {where} failed: {exc}") from exc
        raise
    if newly:
        log.store.info("SQLite database %s: applied migrations %s", where, ", ".join(newly))
    return newly
