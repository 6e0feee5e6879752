"""PostgreSQL's :class:`~teamcrm.adapters.sql.dialect.Dialect` (:data:`POSTGRES`).

Statements (DML) are built by the shared repositories from the dialect's
constructs (the table in :mod:`teamcrm.adapters.sql.dialect`); nothing
rewrites a finished statement.  What remains is the placeholder pass of
:meth:`PostgresDialect.statement` (:func:`placeholders`): one lexical scan,
cached per statement text, that turns ``?`` into ``%s``, ``:name`` into
``%(name)s`` and ``%`` into ``%%`` (quoted literals and identifiers are kept;
``::type`` casts are not parameters).
:class:`~teamcrm.adapters.postgres.connection.PGConnection` applies it in
``execute``/``executemany``; its ``run`` takes native SQL.

Uniqueness violations arrive as the neutral
:class:`~teamcrm.adapters.sql.errors.DuplicateKey` (the connection translates
psycopg's errors at its edge); :meth:`PostgresDialect.translate` makes it
:class:`~teamcrm.errors.AlreadyExists`.

Table definitions (DDL) are built the same way: each shared migration is a
function of :data:`~teamcrm.adapters.sql.ddl.POSTGRES_SCHEMA` (see
:mod:`teamcrm.adapters.sql.schema`), never a translated SQLite text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from teamcrm.adapters.sql.dialect import Dialect
from teamcrm.adapters.sql.errors import DuplicateKey
from teamcrm.errors import AlreadyExists, StoreError, TeamCRMError

__all__ = ["POSTGRES", "PostgresDialect", "placeholders"]

_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


#: SQLite-only spellings: a statement holding one was not built with the dialect.
_SQLITE_ONLY = ("json_each(", "json_group_array(", "INSERT OR IGNORE", " INDEXED BY ")


@lru_cache(maxsize=4096)
def placeholders(sql: str) -> str:
    """Return *sql* with SQLite placeholders in psycopg's style (one lexical pass, cached).

    Outside ``'...'`` literals and ``"..."`` identifiers: ``?`` → ``%s`` and
    ``:name`` → ``%(name)s`` (a ``:`` after a ``:`` or a word character is
    left alone, so ``x::json`` stays a cast).  Everywhere: ``%`` → ``%%``.

    A statement holding a SQLite-only spelling (``json_each``,
    ``json_group_array``, ``INSERT OR IGNORE``, ``INDEXED BY``) is refused with
    ``StoreError``: it was not built with the dialect, and nothing translates
    it.  The check is part of the cached pass, so it costs once per statement.
    """
    for spelling in _SQLITE_ONLY:
        if spelling in sql:
            raise StoreError(
                f"a statement written for SQLite reached PostgreSQL ({spelling.strip()!r});"
                f" build it with the dialect (teamcrm.adapters.sql.dialect): {sql[:120]!r}"
            )
    out: list[str] = []
    i, n = 0, len(sql)
    quote = ""
    while i < n:
        ch = sql[i]
        if ch == "%":
            out.append("%%")
        elif quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif (
            ch == ":"
            and i + 1 < n
            and (sql[i + 1].isalpha() or sql[i + 1] == "_")
            and (i == 0 or (sql[i - 1] != ":" and sql[i - 1] not in _WORD))
        ):
            j = i + 1
            while j < n and sql[j] in _WORD:
                j += 1
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


class PostgresDialect(Dialect):
    """PostgreSQL's spelling of the differing constructs (:mod:`teamcrm.adapters.sql.dialect`)."""

    __slots__ = ()

    name = "postgresql"
    fixed_join = "JOIN"
    on_conflict_nothing = " ON CONFLICT DO NOTHING"
    #: ``OFFSET 0`` keeps the planner from turning a per-contact ``EXISTS`` (the
    #: visibility of a member's search) into a hashed subplan that reads every
    #: membership of the team (issue 17: 16 ms at 10,000 contacts, 50 ms at 100,000).
    per_row = " OFFSET 0"
    errors: tuple[type[Exception], ...] = (DuplicateKey,)

    def translate(self, exc: Exception, *, kind: str = "record", key: Any = None) -> TeamCRMError:
        """``DuplicateKey`` → ``AlreadyExists`` naming *kind* and *key*."""
        if isinstance(exc, DuplicateKey):
            return AlreadyExists(kind, key)
        return StoreError(f"PostgreSQL failed: {type(exc).__name__}: {exc}")  # pragma: no cover

    def statement(self, sql: str) -> str:
        """psycopg's parameter style: :func:`placeholders`."""
        return placeholders(sql)

    def ids_in(self, column: str, param: str = "?") -> str:
        """``column = ANY(ARRAY(SELECT json_array_elements_text(param::json)))``: an index probe."""
        return f"{column} = ANY(ARRAY(SELECT json_array_elements_text({param}::json)))"

    def not_ids_in(self, column: str, param: str = "?") -> str:
        """``column <> ALL(ARRAY(...))``."""
        return f"{column} <> ALL(ARRAY(SELECT json_array_elements_text({param}::json)))"

    def json_rows(self, expr: str) -> str:
        """``json_array_elements_text(expr::json)`` (its column is ``value``)."""
        return f"json_array_elements_text({expr}::json)"

    def left_json_rows(self, expr: str, alias: str) -> str:
        """``LEFT JOIN LATERAL json_array_elements_text(expr::json) alias ON true``."""
        return f"LEFT JOIN LATERAL json_array_elements_text({expr}::json) {alias} ON true"

    def json_array_agg(self, expr: str, order_by: str) -> str:
        """``coalesce(json_agg(expr ORDER BY order_by), '[]')::text``: SQLite's JSON text."""
        return f"coalesce(json_agg({expr} ORDER BY {order_by}), '[]')::text"

    def json_array(self, *items: str) -> str:
        """``json_build_array(...)``."""
        return f"json_build_array({', '.join(items)})"

    def greatest(self, a: str, b: str) -> str:
        """``greatest(a, b)``."""
        return f"greatest({a}, {b})"

    def insert_ignore(self, table: str, columns: str) -> str:
        """``INSERT INTO table (columns)`` (the statement ends with :attr:`on_conflict_nothing`)."""
        return f"INSERT INTO {table} ({columns})"

    def index_hint(self, index: str) -> str:
        """Nothing: PostgreSQL's planner chooses."""
        return ""

    def no_index(self, column: str) -> str:
        """*column* as is."""
        return column

    def null_param(self, param: str = "?") -> str:
        """``param::text``: an untyped ``IS NULL`` parameter is refused."""
        return f"{param}::text"


#: The PostgreSQL dialect.
POSTGRES = PostgresDialect()
