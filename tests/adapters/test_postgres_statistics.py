"""Migration ``0240_statistics`` analyses the store's own schema and nothing else.

A bare ``ANALYZE`` reads every table of the database.  Two stores created side
by side in one database (one schema each, as the test suite and the
benchmarks do, and as an application with a schema per tenant would) then
took each other's tables' locks in opposite orders and deadlocked
("deadlock detected" while migrating).  The migration now analyses only the
tables of ``current_schema()``.
"""

from __future__ import annotations

import psycopg

import pg_support
import teamcrm
from pg_support import schemas

pg_support.require_server()


def _analysed(url: str, schema: str) -> dict[str, bool]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables"
            " WHERE schemaname = %s",
            (schema,),
        ).fetchall()
    return dict(rows)


def _schema_of(url: str) -> str:
    return url.split("search_path%3D", 1)[1].split("%20", 1)[0]


def test_migrating_one_store_does_not_analyse_another_schema() -> None:
    with schemas() as made:
        bystander = made.fresh()
        with psycopg.connect(bystander, autocommit=True) as conn:
            conn.execute("CREATE TABLE someone_elses (id int)")
        mine = made.fresh()
        with teamcrm.open(mine):
            pass
        assert _analysed(bystander, _schema_of(bystander)) == {"someone_elses": False}
        own = _analysed(mine, _schema_of(mine))
        assert own["contacts"]  # its own tables were analysed
        assert own["leads"]
