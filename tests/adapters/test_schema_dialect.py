"""Shared migrations are built from the schema dialect, never rewritten (issue 14).

Safety net of the move: each store's rendering of every migration equals what
the release before it ran (SQLite: the text as written; PostgreSQL: what the
regex translation ``ddl_to_postgres`` made of it), up to whitespace.
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

BEFORE = json.loads((Path(__file__).parent / "migrations_before_issue14.json").read_text())


def _norm(statement: str) -> str:
    return " ".join(statement.split()).replace(" ,", ",").replace("( ", "(").replace(" )", ")")


def test_every_migration_of_the_release_before_is_still_registered() -> None:
    assert {m.name for m in registered_migrations()} == set(BEFORE)


def test_sqlite_renders_every_migration_exactly_as_written_before() -> None:
    for m in registered_migrations():
        assert list(m.statements_for(SQLITE_SCHEMA)) == BEFORE[m.name]["sqlite"], m.name


def test_postgres_renders_every_migration_as_the_translation_did() -> None:
    pg = {m.name: m.statements for m in registered_postgres_migrations()}
    assert set(pg) == set(BEFORE)
    for name, before in BEFORE.items():
        assert [_norm(s) for s in pg[name]] == [_norm(s) for s in before["postgres"]], name
