"""SQLite's form of migration ``0300_phone_keys``.

The data step :func:`rekey_phones` is shared: :mod:`teamcrm.adapters.sql.schema.phones`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from teamcrm.adapters.sql.migrations import register_migration
from teamcrm.adapters.sql.schema.phones import Run, rekey_phones

__all__ = ["Run", "rekey_phones"]


def _apply(conn: sqlite3.Connection) -> None:
    def run(sql: str, params: Sequence[Any]) -> list[Any]:
        return conn.execute(sql, params).fetchall()

    rekey_phones(run)


# The columns come early in name order (0009_phone_columns); the data step runs after them all.
register_migration("0300_phone_keys", apply=_apply)
