"""The base of the repositories shared by the SQLite and the PostgreSQL store.

Each repository works on the connection of its unit of work, reached through
a shared :class:`SQLContext`, and spells what differs between the databases
with the context's :class:`~teamcrm.adapters.sql.dialect.Dialect`.  Rules kept:

* every query is scoped by ``team_id``;
* ``update``/``delete`` check the version in the ``WHERE`` clause and look at
  the row count - the database, not an earlier read, decides the race;
* every driver error is translated by the dialect (uniqueness →
  ``AlreadyExists``, anything else → ``StoreError``);
* bulk writes use ``executemany`` inside the unit's one transaction, and
  lists of ids are passed as one JSON array (``Dialect.ids_in``), so no query
  comes near SQLite's limit on bound variables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import wraps
from typing import Any, ParamSpec, Protocol, TypeVar

from teamcrm.adapters.sql.dialect import Dialect
from teamcrm.errors import ConcurrencyError, NotFound, StoreError

__all__ = ["Connection", "Cursor", "SQLContext", "SQLRepository", "translated"]

P = ParamSpec("P")
R = TypeVar("R")


class Cursor(Protocol):
    """What the shared repositories read from a cursor (DB-API subset)."""

    @property
    def rowcount(self) -> int:
        """Rows the statement changed."""

    def fetchone(self) -> Any:
        """The next row, or ``None``."""

    def fetchall(self) -> list[Any]:
        """The remaining rows."""

    def __iter__(self) -> Iterator[Any]:
        """The remaining rows, one by one."""


class Connection(Protocol):
    """What the shared repositories call on their unit's connection (DB-API subset).

    ``sqlite3.Connection`` is one; the PostgreSQL store's is
    :class:`~teamcrm.adapters.postgres.connection.PGConnection`.
    """

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor:
        """Run one statement (``?`` or ``:name`` placeholders); return its cursor."""

    def executemany(self, sql: str, parameters: Any, /) -> Cursor:
        """Run one statement once per row of parameters."""


class SQLContext:
    """What the repositories of one unit of work share: its dialect and open connection.

    ``facts`` holds what the unit learnt on the side of a read it made anyway,
    by key (emptied whenever a connection is bound or unbound): reading a
    team also tells whether the team has programs (``"programs:<team id>"``),
    so the programs' reactions skip their own read for teams without any
    (``programs_table``: the schema has the programs table).
    """

    __slots__ = ("_conn", "dialect", "facts", "programs_table")

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._conn: Connection | None = None
        self.facts: dict[str, Any] = {}
        self.programs_table: bool | None = None  # None: not known (the store did not say)

    @property
    def conn(self) -> Connection:
        """The connection of the open unit of work (``StoreError`` when not open)."""
        if self._conn is None:
            raise StoreError("the unit of work is not open")
        return self._conn

    def attach(self, conn: Connection | None) -> None:
        """Bind (or, with ``None``, unbind) the unit's connection."""
        self._conn = conn
        self.facts.clear()


def translated(method: Callable[P, R]) -> Callable[P, R]:
    """Decorate a repository method so that driver errors become teamcrm errors."""

    @wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            repository = args[0] if args else None
            ctx = getattr(repository, "_ctx", None)
            dialect: Dialect | None = getattr(ctx, "dialect", None)
            if dialect is None or not isinstance(exc, dialect.errors):
                raise
            kind = getattr(repository, "kind", "record")
            raise dialect.translate(exc, kind=kind) from exc

    return wrapper


class SQLRepository:
    """Base class of the shared SQL repositories (also for repositories added later).

    :cvar kind: the noun used in ``NotFound``/``AlreadyExists`` messages.
    :cvar table: the main table, used by the version checks.
    :ivar _dialect: the unit's dialect (build statements with it, cached per dialect).
    """

    kind = "record"
    table = ""

    def __init__(self, ctx: SQLContext) -> None:
        self._ctx = ctx
        self._dialect = ctx.dialect

    @property
    def _conn(self) -> Connection:
        conn = self._ctx._conn  # as SQLContext.conn, one call fewer per statement
        if conn is None:
            raise StoreError("the unit of work is not open")
        return conn

    def _insert(self, key: Any, sql: str, params: Sequence[Any]) -> None:
        try:
            self._conn.execute(sql, params)
        except self._dialect.errors as exc:
            raise self._dialect.translate(exc, kind=self.kind, key=key) from exc

    def _version_failed(self, key: str, team_id: str | None, expected: int) -> None:
        """Called when a versioned write touched no row: raise the right error."""
        if team_id is None:
            row = self._conn.execute(f"SELECT 1 FROM {self.table} WHERE id = ?", (key,))
        else:
            row = self._conn.execute(
                f"SELECT 1 FROM {self.table} WHERE id = ? AND team_id = ?", (key, team_id)
            )
        if row.fetchone() is None:
            raise NotFound(self.kind, key)
        raise ConcurrencyError(self.kind, key, expected)

    def _update_versioned(
        self, key: str, team_id: str | None, version: int, values: Mapping[str, Any]
    ) -> None:
        """Write *values* (column: value, maybe none) and ``version`` to row *key* at version - 1.

        The optimistic check every versioned repository makes: the row is
        changed only if its stored version is the previous one; otherwise
        ``NotFound`` (no such row in the team) or ``ConcurrencyError``.
        *team_id* ``None`` matches the id alone (teams).
        """
        columns = ", ".join([*(f"{name} = ?" for name in values), "version = ?"])
        keys: tuple[str, ...] = (key,) if team_id is None else (key, team_id)
        where = "id = ?" if team_id is None else "id = ? AND team_id = ?"
        cur = self._conn.execute(
            f"UPDATE {self.table} SET {columns} WHERE {where} AND version = ?",
            (*values.values(), version, *keys, version - 1),
        )
        if cur.rowcount != 1 and not (cur.rowcount < 0 and self._holds(key, version - 1)):
            self._version_failed(key, team_id, version - 1)

    def _holds(self, key: str, version: int) -> bool:
        """True when the unit holds the row *key* locked at *version* (nobody else can change it).

        Its versioned update then cannot miss the row, and a store may send
        it later, without a row count (PostgreSQL's writes sent later: the
        count is then unknown, ``-1``).  None here.
        """
        return False

    def _delete_versioned(self, team_id: str, key: str, version: int) -> None:
        cur = self._conn.execute(
            f"DELETE FROM {self.table} WHERE id = ? AND team_id = ? AND version = ?",
            (key, team_id, version),
        )
        if cur.rowcount != 1:
            self._version_failed(key, team_id, version)
