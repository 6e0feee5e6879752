"""Shared migrations are built from the schema dialect, never rewritten (issue 14).

``shipped_migrations.json`` holds what each migration now built from the
schema dialect ran on each store in the release before, when PostgreSQL's
form was made from SQLite's text by regular expressions (``ddl_to_postgres``).
A shipped migration never changes (databases record it as done), so each
store must still render each one the same: SQLite exactly as written,
PostgreSQL as the translation made it, up to whitespace.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("psycopg", reason="the postgres extra is not installed")

import teamcrm.adapters.postgres
import teamcrm.adapters.sqlite  # noqa: F401 (registers SQLite's versions)
from teamcrm.adapters.postgres.migrations import registered_postgres_migrations
from teamcrm.adapters.sql.ddl import SQLITE_SCHEMA
from teamcrm.adapters.sql.migrations import registered_migrations

SHIPPED = json.loads((Path(__file__).parent / "shipped_migrations.json").read_text())


def _norm(statement: str) -> str:
    return " ".join(statement.split()).replace(" ,", ",").replace("( ", "(").replace(" )", ")")


def test_every_shipped_migration_is_still_registered() -> None:
    assert len(SHIPPED) >= 20
    assert set(SHIPPED) <= {m.name for m in registered_migrations()}


def test_sqlite_renders_every_shipped_migration_exactly_as_written() -> None:
    for m in registered_migrations():
        if m.name in SHIPPED:
            assert list(m.statements_for(SQLITE_SCHEMA)) == SHIPPED[m.name]["sqlite"], m.name


def test_postgres_renders_every_shipped_migration_as_before() -> None:
    pg = {m.name: m.statements for m in registered_postgres_migrations()}
    for name, shipped in SHIPPED.items():
        assert [_norm(s) for s in pg[name]] == [_norm(s) for s in shipped["postgres"]], name


def test_both_stores_know_the_same_migrations() -> None:
    """Every PostgreSQL version belongs to a migration the SQLite store runs too."""
    assert [m.name for m in registered_postgres_migrations()] == [
        m.name for m in registered_migrations()
    ]
