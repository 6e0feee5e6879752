"""Named schema migrations, recorded in the ``teamcrm_migrations`` table.

A migration is a name and either SQL statements or a function of the
connection.  Names start with a four-digit number and migrations run in name
order (whatever order the modules that register them are imported in)::

    from teamcrm.adapters.sqlite.migrations import register_migration

    register_migration(
        "0100_leads",
        "CREATE TABLE leads (id TEXT PRIMARY KEY, team_id TEXT NOT NULL, ...)",
        "CREATE INDEX leads_by_pool ON leads (team_id, pool_id)",
    )

and :mod:`teamcrm.adapters.sqlite` imports every module that registers
migrations, so every process knows every migration of the release.

Opening a store applies, inside one ``BEGIN IMMEDIATE`` transaction, the
registered migrations that the database has not recorded yet (a database made
by an older release upgrades in place).  A database that records a migration
this release does not know was made by a newer release: it is refused with
:class:`~teamcrm.errors.SchemaVersionError` before anything is written.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import attrs

from teamcrm.adapters.sqlite.connection import retry_busy, translate
from teamcrm.errors import SchemaVersionError, StoreError, ValidationError

__all__ = [
    "MIGRATIONS_TABLE",
    "Migration",
    "applied_migrations",
    "check_known",
    "migrate",
    "register_migration",
    "registered_migrations",
]

#: The table that records which migrations a database has.
MIGRATIONS_TABLE = "teamcrm_migrations"
_NAME = re.compile(r"^[0-9]{4}_[a-z0-9_]{1,100}$")


@attrs.frozen(kw_only=True)
class Migration:
    """One named, one-way schema change.

    :ivar name: unique and stable forever (it is what databases record).
    :ivar statements: SQL run in order (may be empty when *apply* is given).
    :ivar apply: optional function run after the statements, inside the same
        transaction (for data migrations).
    """

    name: str
    statements: tuple[str, ...] = ()
    apply: Callable[[sqlite3.Connection], None] | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValidationError(
                "Migration.name", self.name, "must look like '0100_leads' (4 digits, _, a-z 0-9 _)"
            )
        if not self.statements and self.apply is None:
            raise ValidationError("Migration.statements", self.statements, "nothing to do")


_REGISTRY: list[Migration] = []


def register_migration(
    name: str,
    *statements: str,
    apply: Callable[[sqlite3.Connection], None] | None = None,
) -> Migration:
    """Add a migration to the release's list (they run in name order).

    Registering the same name twice with the same content is a no-op (module
    re-import); with different content it is a ``ValidationError``.
    """
    migration = Migration(name=name, statements=tuple(statements), apply=apply)
    for existing in _REGISTRY:
        if existing.name == name:
            if existing.statements != migration.statements:
                raise ValidationError("Migration.name", name, "is already registered")
            return existing
    _REGISTRY.append(migration)
    _REGISTRY.sort(key=lambda m: m.name)
    return migration


def registered_migrations() -> tuple[Migration, ...]:
    """Every migration this release knows, in the order they run (by name)."""
    return tuple(_REGISTRY)


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


def _refuse_unknown(applied: Sequence[str], known: Sequence[Migration], where: str) -> None:
    names = {m.name for m in known}
    unknown = [name for name in applied if name not in names]
    if unknown:
        raise SchemaVersionError(
            f"the database {where} has migrations this release of teamcrm does not know "
            f"({', '.join(unknown)}); it was made by a newer release - upgrade teamcrm"
        )


def _read_applied(conn: sqlite3.Connection) -> list[str]:
    retry_busy(lambda: conn.execute("BEGIN"))
    try:
        return applied_migrations(conn)
    finally:
        conn.execute("COMMIT")


def check_known(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration] | None = None,
    *,
    where: str = "",
) -> list[str]:
    """Refuse (``SchemaVersionError``) a database with unknown migrations; write nothing.

    Returns the names the database records.
    """
    known = list(registered_migrations() if migrations is None else migrations)
    applied = _read_applied(conn)
    _refuse_unknown(applied, known, where)
    return applied


def migrate(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration] | None = None,
    *,
    where: str = "",
) -> list[str]:
    """Bring the database up to date; return the names of the migrations applied.

    First a read-only check (nothing is written to a database that is
    refused), then one ``BEGIN IMMEDIATE`` transaction applies what is
    missing and records it.  Safe when several processes open the same new
    file at once: the second one finds the work done.
    """
    known = sorted(
        registered_migrations() if migrations is None else migrations, key=lambda m: m.name
    )
    applied = check_known(conn, known, where=where)
    if all(m.name in set(applied) for m in known):
        return []
    retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
            " name TEXT PRIMARY KEY,"
            " applied_at TEXT NOT NULL)"
        )
        done = set(applied_migrations(conn))
        _refuse_unknown(list(done), known, where)
        newly: list[str] = []
        now = datetime.now(UTC).isoformat()
        for migration in known:
            if migration.name in done:
                continue
            for statement in migration.statements:
                conn.execute(statement)
            if migration.apply is not None:
                migration.apply(conn)
            conn.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                (migration.name, now),
            )
            newly.append(migration.name)
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"migrating the SQLite database {where} failed: {exc}") from exc
        raise
    return newly
