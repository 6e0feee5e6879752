"""The few SQL constructs in which SQLite and PostgreSQL differ, as one object.

The repositories shared by the SQLite and the PostgreSQL store (the
:mod:`teamcrm.adapters.sql` layer and the modules of
:mod:`teamcrm.adapters.sqlite` built on it) write every statement once and
ask their unit of work's :class:`Dialect` for each construct that differs.
Nothing rewrites a finished statement: a statement is *built* from the
dialect's pieces, once per repository class and dialect (module-level builders
cached with :func:`functools.cache`, keyed by the dialect), so building
costs nothing per call.

The constructs (SQLite form → PostgreSQL form):

* ``ids_in(col, p)``: ``col IN (SELECT value FROM json_each(p))`` →
  ``col = ANY(ARRAY(SELECT json_array_elements_text(p::json)))``;
  ``not_ids_in``: ``NOT IN`` → ``<> ALL``;
* ``json_rows(x)``: ``json_each(x)`` → ``json_array_elements_text(x::json)``
  (a table function whose column is ``value``);
* ``left_json_rows(x, a)``: ``LEFT JOIN json_each(x) a`` →
  ``LEFT JOIN LATERAL json_array_elements_text(x::json) a ON true``;
* ``json_array_agg(x, o)``: ``json_group_array(x)`` →
  ``coalesce(json_agg(x ORDER BY o), '[]')::text`` (the same JSON text; SQLite
  reads the child rows in key order);
* ``json_array(*xs)``: ``json_array(...)`` → ``json_build_array(...)``;
* ``greatest(a, b)``: ``max(a, b)`` → ``greatest(a, b)``;
* ``insert_ignore(t, cols)`` + ``on_conflict_nothing``:
  ``INSERT OR IGNORE INTO t (cols) ...`` → ``INSERT INTO t (cols) ... ON CONFLICT DO NOTHING``;
* ``index_hint(name)``: `` INDEXED BY name`` → nothing (the planner chooses);
* ``no_index(col)``: ``+col`` (keeps the column out of SQLite's index
  choice) → ``col``;
* ``fixed_join``: ``CROSS JOIN`` (SQLite keeps the written join order) → ``JOIN``;
* ``null_param(p)``: ``p`` → ``p::text`` (so ``p IS NULL`` has a type).

A list of ids is passed as one JSON array parameter (SQLite has a limit on
bound variables); PostgreSQL guesses 100 rows for a set-returning function
and planned ``IN (SELECT ...)`` as a hash semi-join over a sequential scan,
so its ``ids_in`` computes the array first and probes the index with it (a
plan test in ``tests/adapters/test_postgres_store.py``).

Placeholders: shared statements are written with ``?`` (positional) or
``:name`` (named) parameters, SQLite's native forms.  The PostgreSQL dialect's
:meth:`Dialect.statement` maps them, by one lexical pass (no regular
expression) cached per statement text, to psycopg's forms: outside quoted
literals and identifiers, ``?`` becomes ``%s`` and ``:name`` (not after a
``:``, i.e. not a ``::type`` cast) becomes ``%(name)s``; a ``%`` anywhere
becomes ``%%``.  Nothing else in the statement changes.  The PostgreSQL
connection applies it in ``execute``/``executemany``; SQLite's is the
identity.

Driver errors are translated at each driver's edge: :attr:`Dialect.errors`
names the exceptions the shared code may see from its connection and
:meth:`Dialect.translate` turns one into a teamcrm error.  The SQLite
dialect names ``sqlite3.Error`` (its connection is used bare, so nothing
costs per statement); the PostgreSQL connection turns its driver's errors
into teamcrm errors or the neutral :class:`~teamcrm.adapters.sql.errors.DuplicateKey`
before they leave it, and its dialect names only that one.  The dialects
themselves live with their drivers (``teamcrm.adapters.sqlite.dialect.SQLITE``,
``teamcrm.adapters.postgres.dialect.POSTGRES``): this package imports neither.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from teamcrm.errors import TeamCRMError

__all__ = ["Dialect", "insert_ignoring"]


class Dialect:
    """How one database spells the constructs the shared statements need (see the module).

    Subclasses define every construct; instances are immutable and hashable
    (builders cache statements keyed by them).
    """

    __slots__ = ()

    #: A short name (``"sqlite"``, ``"postgresql"``).
    name = ""
    #: Joining in the written order (SQLite's ``CROSS JOIN``).
    fixed_join = "JOIN"
    #: Appended to an :meth:`insert_ignore` statement.
    on_conflict_nothing = ""
    #: Ends a correlated ``EXISTS`` subquery that must be probed row by row
    #: (PostgreSQL's ``OFFSET 0``: no hashed subplan reading the whole table).
    per_row = ""
    #: The exceptions the shared repositories may see from this dialect's connection.
    errors: tuple[type[Exception], ...] = ()

    def __repr__(self) -> str:
        return f"<{self.name} dialect>"

    # ---------------------------------------------------------------- errors
    def translate(self, exc: Exception, *, kind: str = "record", key: Any = None) -> TeamCRMError:
        """Return the teamcrm error for *exc*, one of :attr:`errors`.

        A duplicate key becomes ``AlreadyExists`` naming *kind* and *key*.
        """
        raise NotImplementedError

    # ------------------------------------------------------------ statements
    def statement(self, sql: str) -> str:
        """Return *sql* (``?``/``:name`` placeholders) in the driver's parameter style."""
        raise NotImplementedError

    def ids_in(self, column: str, param: str = "?") -> str:
        """``column`` is one of the ids in the JSON array *param*."""
        raise NotImplementedError

    def not_ids_in(self, column: str, param: str = "?") -> str:
        """``column`` is none of the ids in the JSON array *param*."""
        raise NotImplementedError

    def json_rows(self, expr: str) -> str:
        """A table function: a row (column ``value``) per element of the JSON array *expr*."""
        raise NotImplementedError

    def left_json_rows(self, expr: str, alias: str) -> str:
        """``LEFT JOIN`` the elements of the JSON array *expr* as *alias* (``alias.value``)."""
        raise NotImplementedError

    def json_array_agg(self, expr: str, order_by: str) -> str:
        """An aggregate: the JSON array text of *expr* over the rows, in *order_by* order."""
        raise NotImplementedError

    def json_array(self, *items: str) -> str:
        """A JSON array of *items*."""
        raise NotImplementedError

    def greatest(self, a: str, b: str) -> str:
        """The larger of two values."""
        raise NotImplementedError

    def insert_ignore(self, table: str, columns: str) -> str:
        """The head of an insert that skips conflicts (end it with :attr:`on_conflict_nothing`)."""
        raise NotImplementedError

    def index_hint(self, index: str) -> str:
        """Make the table before it read through *index* (empty where unsupported)."""
        raise NotImplementedError

    def no_index(self, column: str) -> str:
        """*column*, kept out of the planner's index choice where the dialect allows it."""
        raise NotImplementedError

    def null_param(self, param: str = "?") -> str:
        """*param* typed enough to be tested with ``IS NULL``."""
        raise NotImplementedError


@cache
def insert_ignoring(d: Dialect, table: str, columns: str, values: str = "") -> str:
    """An ``INSERT`` of one row that skips a conflicting one, built once per arguments.

    *values* defaults to one ``?`` per column of *columns* (comma-separated).
    """
    values = values or ", ".join("?" for _ in columns.split(","))
    return f"{d.insert_ignore(table, columns)} VALUES ({values}){d.on_conflict_nothing}"
