"""SQLite's :class:`~teamcrm.adapters.sql.dialect.Dialect` (:data:`SQLITE`).

The shared statements' reference forms: ``json_each``, ``json_group_array``,
``INSERT OR IGNORE``, the planner hints ``INDEXED BY``, unary ``+`` and
``CROSS JOIN``; ``?``/``:name`` placeholders are SQLite's own.  Driver errors
(``sqlite3.Error``) reach the shared code from the bare connection (no
wrapper costs per statement) and are translated here, at SQLite's edge, by
:func:`teamcrm.adapters.sqlite.connection.translate`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from teamcrm.adapters.sql.dialect import Dialect
from teamcrm.adapters.sqlite.connection import translate
from teamcrm.errors import TeamCRMError

__all__ = ["SQLITE", "SQLiteDialect"]


class SQLiteDialect(Dialect):
    """SQLite's spelling of the differing constructs (see :mod:`teamcrm.adapters.sql.dialect`)."""

    __slots__ = ()

    name = "sqlite"
    fixed_join = "CROSS JOIN"
    on_conflict_nothing = ""
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def translate(self, exc: Exception, *, kind: str = "record", key: Any = None) -> TeamCRMError:
        """``sqlite3`` uniqueness violations → ``AlreadyExists``; other errors → ``StoreError``."""
        assert isinstance(exc, sqlite3.Error)
        return translate(exc, kind=kind, key=key)

    def statement(self, sql: str) -> str:
        """*sql* itself: ``?`` and ``:name`` are SQLite's placeholders."""
        return sql

    def ids_in(self, column: str, param: str = "?") -> str:
        """``column IN (SELECT value FROM json_each(param))``."""
        return f"{column} IN (SELECT value FROM json_each({param}))"

    def not_ids_in(self, column: str, param: str = "?") -> str:
        """``column NOT IN (SELECT value FROM json_each(param))``."""
        return f"{column} NOT IN (SELECT value FROM json_each({param}))"

    def json_rows(self, expr: str) -> str:
        """``json_each(expr)``."""
        return f"json_each({expr})"

    def left_json_rows(self, expr: str, alias: str) -> str:
        """``LEFT JOIN json_each(expr) alias``."""
        return f"LEFT JOIN json_each({expr}) {alias}"

    def json_array_agg(self, expr: str, order_by: str) -> str:
        """``json_group_array(expr)`` (rows come in the child table's key order)."""
        return f"json_group_array({expr})"

    def json_array(self, *items: str) -> str:
        """``json_array(...)``."""
        return f"json_array({', '.join(items)})"

    def greatest(self, a: str, b: str) -> str:
        """The two-argument ``max(a, b)``."""
        return f"max({a}, {b})"

    def insert_ignore(self, table: str, columns: str) -> str:
        """``INSERT OR IGNORE INTO table (columns)``."""
        return f"INSERT OR IGNORE INTO {table} ({columns})"

    def index_hint(self, index: str) -> str:
        """`` INDEXED BY index``."""
        return f" INDEXED BY {index}"

    def no_index(self, column: str) -> str:
        """``+column``: the planner may not use an index on it."""
        return f"+{column}"

    def null_param(self, param: str = "?") -> str:
        """*param* as is."""
        return param


#: The SQLite dialect.
SQLITE = SQLiteDialect()
