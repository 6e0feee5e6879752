"""PostgreSQL version of ``0300_phone_keys`` (see :mod:`teamcrm.adapters.sql.schema.phones`).

The same statements, then the same Python data step through psycopg
(placeholders mapped by :func:`~teamcrm.adapters.postgres.dialect.placeholders`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from teamcrm.adapters.postgres.dialect import POSTGRES, placeholders
from teamcrm.adapters.postgres.migrations import register_postgres_migration
from teamcrm.adapters.sql.schema.phones import rekey_phones

__all__: list[str] = []


def _apply(conn: psycopg.Connection[Any]) -> None:
    def run(sql: str, params: Sequence[Any]) -> list[Any]:
        cur = conn.execute(placeholders(sql), tuple(params))
        return cur.fetchall() if cur.description is not None else []

    rekey_phones(run, POSTGRES)


register_postgres_migration("0300_phone_keys", apply=_apply)
