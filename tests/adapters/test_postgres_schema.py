"""The schema a fresh PostgreSQL store builds: SQLite's tables with PostgreSQL's words.

Built from :data:`~teamcrm.adapters.sql.ddl.POSTGRES_SCHEMA` (issue 14): each
column SQLite declares ``INTEGER`` is ``bigint`` here, each ``TEXT`` one is
``text`` compared byte by byte (collation ``"C"``), and a table has an
identity ``rowid`` exactly when SQLite gives it an implicit one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import pg_support
import teamcrm

pg_support.require_server()

import psycopg  # noqa: E402 (after the skip)

#: Columns of PostgreSQL's own tables and types (not built from a shared migration).
OWN = {
    ("contact_fields", "value"): "jsonb: custom-field values indexed by GIN (0430)",
    ("teamcrm_migrations", "applied_at"): "the runner's own table",
    ("teamcrm_migrations", "seq"): "the runner's own table",
}
#: PostgreSQL's own tables (SQLite keeps FTS5 or B-tree tables instead).
OWN_TABLES = {"contact_names", "company_names", "contact_fields", "teamcrm_migrations"}


def _sqlite_columns(tmp_path: Path) -> tuple[dict[tuple[str, str], str], set[str]]:
    db = tmp_path / "shape.db"
    teamcrm.open(f"sqlite:///{db}").close()
    conn = sqlite3.connect(db)
    tables = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    columns = {
        (t, row[1]): row[2] for t in tables for row in conn.execute(f"PRAGMA table_info({t})")
    }
    conn.close()
    with_rowid = {t for t, sql in tables.items() if sql and "WITHOUT ROWID" not in sql}
    return columns, with_rowid


def test_a_fresh_schema_has_sqlite_tables_in_postgresql_words(tmp_path: Path) -> None:
    sqlite_columns, sqlite_rowid = _sqlite_columns(tmp_path)
    with pg_support.schemas() as made:
        url = made.fresh()
        teamcrm.open(url).close()
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT table_name, column_name, data_type, collation_name, is_identity"
                " FROM information_schema.columns WHERE table_schema = current_schema()"
            ).fetchall()
    pg = {(t, c): (kind, coll, ident) for t, c, kind, coll, ident in rows}
    assert len(pg) > 300
    wrong = {
        key: got
        for key, got in pg.items()
        if key not in OWN and got[:2] not in {("bigint", None), ("text", "C")}
    }
    assert not wrong, wrong
    for (table, column), declared in sqlite_columns.items():
        if (table, column) not in pg or (table, column) in OWN:
            continue  # SQLite's own tables (name words, the grid, FTS5 shadows)
        expected = "bigint" if declared == "INTEGER" else "text"
        assert pg[(table, column)][0] == expected, (table, column, declared)
    pg_tables = {t for t, _c in pg} - OWN_TABLES
    pg_rowid = {t for (t, c), got in pg.items() if c == "rowid" and got[2] == "YES"}
    assert pg_rowid == sqlite_rowid & pg_tables
    assert {"contacts", "outbox", "leads"} <= pg_rowid
    assert "team_statuses" not in pg_rowid  # WITHOUT ROWID on SQLite
    assert pg[("outbox", "seq")][2] == "YES"  # d.auto_key: an identity column


@pytest.mark.parametrize("table", ["contacts", "team_statuses"])
def test_sqlite_and_postgresql_tables_have_the_same_columns(tmp_path: Path, table: str) -> None:
    sqlite_columns, _ = _sqlite_columns(tmp_path)
    with pg_support.schemas() as made:
        url = made.fresh()
        teamcrm.open(url).close()
        with psycopg.connect(url) as conn:
            pg = {
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = %s",
                    (table,),
                )
            }
    mine = {c for t, c in sqlite_columns if t == table}
    assert pg - {"rowid"} == mine
