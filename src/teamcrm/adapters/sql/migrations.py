"""The release's named schema migrations, which both SQL stores run and record.

A migration is a name and what it does: statements built by a function of
the store's :class:`~teamcrm.adapters.sql.ddl.SchemaDialect` (``build``, the
form of every migration both stores share: see
:mod:`teamcrm.adapters.sql.schema`), statements run as written
(``statements``: SQL that reads the same on both stores, or SQLite's own
version of a migration PostgreSQL registers a version of), and an optional
Python data step (``apply``).  Names start with a four-digit number and
migrations run in name order, whatever order their modules are imported in.

Each store records the names it has applied in :data:`MIGRATIONS_TABLE` and
refuses (:func:`refuse_unknown`) a database recording a name this release
does not know: a newer release made it.  The runners live with their
drivers (:mod:`teamcrm.adapters.sqlite.migrations`,
:mod:`teamcrm.adapters.postgres.migrations`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from teamcrm.adapters.sql.ddl import POSTGRES_SCHEMA, SQLITE_SCHEMA, SchemaDialect
from teamcrm.errors import SchemaVersionError, ValidationError

__all__ = [
    "MIGRATIONS_TABLE",
    "Build",
    "Migration",
    "migration",
    "refuse_unknown",
    "register_migration",
    "registered_migrations",
]

#: The table that records which migrations a database has.
MIGRATIONS_TABLE = "teamcrm_migrations"
#: The statements of a migration, spelled in a store's schema dialect.
Build = Callable[[SchemaDialect], Sequence[str]]

_NAME = re.compile(r"^[0-9]{4}_[a-z0-9_]{1,100}$")  # checks a migration name, not SQL


@attrs.frozen(kw_only=True)
class Migration:
    """One named, one-way schema change.

    :ivar name: unique and stable forever (it is what databases record).
    :ivar statements: SQL run as written, first (may be empty).
    :ivar build: optional function of the store's schema dialect returning
        the statements run next (table definitions: their types differ).
    :ivar apply: optional function of the store's connection run after the
        statements, inside the same transaction (for data migrations).
    """

    name: str
    statements: tuple[str, ...] = ()
    build: Build | None = None
    apply: Callable[[Any], None] | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValidationError(
                "Migration.name", self.name, "must look like '0100_leads' (4 digits, _, a-z 0-9 _)"
            )
        if not self.statements and self.build is None and self.apply is None:
            raise ValidationError("Migration.statements", self.statements, "nothing to do")

    def statements_for(self, dialect: SchemaDialect) -> tuple[str, ...]:
        """The statements this migration runs on a store of *dialect*, in order."""
        built = () if self.build is None else tuple(self.build(dialect))
        return (*self.statements, *built)

    def _content(self) -> tuple[tuple[str, ...], ...]:
        return (self.statements_for(SQLITE_SCHEMA), self.statements_for(POSTGRES_SCHEMA))


_REGISTRY: list[Migration] = []


def register_migration(
    name: str,
    *statements: str,
    build: Build | None = None,
    apply: Callable[[Any], None] | None = None,
) -> Migration:
    """Add a migration to the release's list (they run in name order).

    Registering the same name twice with the same content is a no-op (module
    re-import); with different content it is a ``ValidationError``.
    """
    new = Migration(name=name, statements=tuple(statements), build=build, apply=apply)
    for existing in _REGISTRY:
        if existing.name == name:
            if existing._content() != new._content():
                raise ValidationError("Migration.name", name, "is already registered")
            return existing
    _REGISTRY.append(new)
    _REGISTRY.sort(key=lambda m: m.name)
    return new


def migration(name: str) -> Callable[[Build], Build]:
    """Register the decorated function of a schema dialect as migration *name*'s ``build``."""

    def register(build: Build) -> Build:
        register_migration(name, build=build)
        return build

    return register


def registered_migrations() -> tuple[Migration, ...]:
    """Every migration this release knows, in the order they run (by name)."""
    return tuple(_REGISTRY)


def refuse_unknown(applied: Sequence[str], known: Sequence[Migration], where: str) -> None:
    """Raise ``SchemaVersionError`` if *applied* names a migration not in *known*."""
    names = {m.name for m in known}
    unknown = [name for name in applied if name not in names]
    if unknown:
        raise SchemaVersionError(
            f"the database {where} has migrations this release of teamcrm does not know "
            f"({', '.join(unknown)}); it was made by a newer release - upgrade teamcrm"
        )
