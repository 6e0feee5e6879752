"""Translating the SQLite adapter's SQL into PostgreSQL SQL.

The PostgreSQL store shares the SQLite store's repositories, row codecs and
migrations: the statements are written once, in the SQLite dialect, and
translated here, mechanically and with a cache, before psycopg sees them.

Statements (DML):

* ``?`` placeholders become ``%s`` (and a literal ``%`` becomes ``%%``);
* named parameters ``:name`` become ``%(name)s``;
* ``a IN (SELECT value FROM json_each(?))`` (a list of ids passed as one
  JSON array) becomes ``a = ANY(ARRAY(SELECT json_array_elements_text(%s::json)))``
  (``NOT IN``: ``<> ALL(...)``).
  PostgreSQL guesses 100 rows for a set-returning function, so it planned
  the ``IN`` form as a hash semi-join over a sequential scan of the table;
  the array is computed first and probed through the index, so the cost of
  a lookup does not grow with the table (a plan test in
  ``tests/adapters/test_postgres_store.py``; figures in docs/benchmarks.md);
* any other ``json_each(x)`` (a JSON array: a parameter or a column) becomes
  ``json_array_elements_text(x::json)`` (its column is also ``value``), and
  ``LEFT JOIN json_each(x) j`` a ``LEFT JOIN LATERAL ... ON true``;
* ``(SELECT json_group_array(x) FROM child c WHERE ...)`` becomes
  ``(SELECT coalesce(json_agg(x ORDER BY c.<key>), '[]')::text ...)``: the
  same JSON text, in the child table's key order (:data:`CHILD_ORDER`);
* ``json_array(...)`` becomes ``json_build_array(...)``, the two-argument
  ``max(coalesce(...), ...)`` becomes ``greatest(...)``;
* ``INSERT OR IGNORE`` becomes ``INSERT ... ON CONFLICT DO NOTHING``;
* ``? IS NULL`` gets a type (``%s::text IS NULL``);
* SQLite's planner hints, the unary ``+`` that keeps a column out of index
  choice (``+c.team_id``) and ``INDEXED BY``, are dropped, and a
  ``CROSS JOIN t ON ...`` (SQLite's fixed join order) is a plain ``JOIN``.

Table definitions (DDL, see :func:`ddl_to_postgres`): ``INTEGER`` becomes
``BIGINT`` (times are microseconds), ``TEXT`` is compared byte by byte
(``COLLATE "C"``, as in SQLite and Python), ``INTEGER PRIMARY KEY
AUTOINCREMENT`` becomes an identity column, and every table that SQLite
gives an implicit ``rowid`` gets an explicit ``rowid`` identity column, so
"oldest first, ties in insertion order" reads the same on both.
Statements with no PostgreSQL meaning (virtual tables, triggers) are
refused: such a migration needs a PostgreSQL version registered with
:func:`teamcrm.adapters.postgres.migrations.register_postgres_migration`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from teamcrm.errors import StoreError

__all__ = ["CHILD_ORDER", "ddl_to_postgres", "to_postgres"]

#: The key order of the child tables that the shared SELECTs fold into JSON arrays.
CHILD_ORDER = {
    "team_statuses": "position",
    "contact_emails": "position",
    "contact_phones": "position",
    "contact_companies": "position",
    "bucket_grants": "member_id",
    "interaction_targets": "position",
    "record_contacts": "position",
    "record_companies": "position",
}

_GROUP = re.compile(
    r"\(SELECT json_group_array\((?P<expr>.+?)\)\s+FROM (?P<table>\w+) (?P<alias>\w+)\s+WHERE",
    re.S,
)
_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.I)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_IN_EACH = re.compile(r"\b(NOT\s+)?IN\s*\(\s*SELECT\s+value\s+FROM\s+json_each\((\?|:\w+)\)\s*\)")
_LEFT_EACH = re.compile(r"LEFT JOIN json_each\(([^()]+)\) (\w+)")
_EACH = re.compile(r"json_each\(([^()]+)\)")
_CROSS_ON = re.compile(r"CROSS JOIN (\w+ \w+) ON ")
_INDEXED_BY = re.compile(r"\s+INDEXED BY \w+")
_UNARY_PLUS = re.compile(r"(?<=[\s(,=])\+(?=[A-Za-z_]\w*\.\w)")


def _group(match: re.Match[str]) -> str:
    table, alias = match["table"], match["alias"]
    key = CHILD_ORDER.get(table)
    if key is None:
        raise StoreError(f"no PostgreSQL order is known for json_group_array over {table!r}")
    return (
        f"(SELECT coalesce(json_agg({match['expr']} ORDER BY {alias}.{key}), '[]')::text"
        f" FROM {table} {alias} WHERE"
    )


def _in_array(match: re.Match[str]) -> str:
    test = "<> ALL" if match[1] else "= ANY"
    return f"{test}(ARRAY(SELECT json_array_elements_text({match[2]}::json)))"


@lru_cache(maxsize=2048)
def to_postgres(sql: str) -> str:
    """Return the PostgreSQL (psycopg ``%s``) form of a statement written for SQLite."""
    out = sql.replace("%", "%%")
    out = _IN_EACH.sub(_in_array, out)
    out = _LEFT_EACH.sub(r"LEFT JOIN LATERAL json_array_elements_text(\1::json) \2 ON true", out)
    out = _EACH.sub(r"json_array_elements_text(\1::json)", out)
    out = _INDEXED_BY.sub("", out)
    out = _CROSS_ON.sub(r"JOIN \1 ON ", out)
    out = _GROUP.sub(_group, out)
    out = out.replace("json_array(", "json_build_array(")
    out = out.replace("max(coalesce(", "greatest(coalesce(")
    out = out.replace("? IS NULL", "?::text IS NULL")
    out = _UNARY_PLUS.sub("", out)
    if _OR_IGNORE.match(out):
        out = _OR_IGNORE.sub("INSERT INTO", out, count=1) + " ON CONFLICT DO NOTHING"
    out = _NAMED.sub(r"%(\1)s", out)
    return out.replace("?", "%s")


_DDL_REFUSED = re.compile(r"\b(VIRTUAL\s+TABLE|TRIGGER|PRAGMA)\b", re.I)
_CREATE_TABLE = re.compile(r"^\s*CREATE TABLE", re.I)
_ADD_COLUMN = re.compile(r"^\s*ALTER TABLE \w+ ADD COLUMN", re.I)
_AUTO_KEY = re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b", re.I)
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT ROWID\s*$", re.I)
_LAST_PAREN = re.compile(r"\)\s*$")


def ddl_to_postgres(statement: str) -> str:
    """Return the PostgreSQL form of one SQLite schema statement (or raise ``StoreError``)."""
    if _DDL_REFUSED.search(statement):
        raise StoreError(
            "this SQLite schema statement has no PostgreSQL translation; register a"
            f" PostgreSQL version of its migration: {statement[:80]!r}"
        )
    out = statement
    is_table = bool(_CREATE_TABLE.match(out))
    if is_table or _ADD_COLUMN.match(out):
        out = _AUTO_KEY.sub("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", out)
        out = re.sub(r"\bINTEGER\b", "BIGINT", out)
        out = re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', out)
    if is_table:
        if _WITHOUT_ROWID.search(out):
            out = _WITHOUT_ROWID.sub(")", out)
        else:
            out = _LAST_PAREN.sub(",\n        rowid BIGINT GENERATED BY DEFAULT AS IDENTITY)", out)
    return out
