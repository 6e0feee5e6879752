"""SQLite's form of migration ``0300_phone_keys``.

The data step :func:`rekey_phones` is shared: :mod:`teamcrm.adapters.sql.schema.phones`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from teamcrm.adapters.sql.ddl import SQLITE_SCHEMA
from teamcrm.adapters.sql.migrations import register_migration
from teamcrm.adapters.sql.schema.core import phone_columns
from teamcrm.adapters.sql.schema.phones import Run, rekey_phones
from teamcrm.adapters.sqlite.dialect import SQLITE

__all__ = ["PHONE_STATEMENTS", "Run", "rekey_phones"]

#: ``0009_phone_columns`` on SQLite (now built in :mod:`teamcrm.adapters.sql.schema.core`).
PHONE_STATEMENTS = tuple(phone_columns(SQLITE_SCHEMA))


def _apply(conn: sqlite3.Connection) -> None:
    def run(sql: str, params: Sequence[Any]) -> list[Any]:
        return conn.execute(sql, params).fetchall()

    rekey_phones(run, SQLITE)


# The columns come early in name order (0009_phone_columns); the data step runs after them all.
register_migration("0300_phone_keys", apply=_apply)
