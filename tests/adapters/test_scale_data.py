"""The scale benchmark's fast builder writes what the library would have written.

``benchmarks/scale_data.py`` builds the 1,000,000-contact data set with raw
inserts, its triggers dropped, and the derived tables (trigram name indexes,
``contact_fields``) filled set-based afterwards.  Here a small data set is
built both ways, fast and through the library's API only, and the two files
must hold the same rows in every table but the history (the outbox), the
statistics and the migrations' timestamps; the FTS5 indexes must pass their
integrity check and answer name searches alike, and the schemas (triggers
included) must be identical.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import teamcrm
import teamcrm.ids

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
try:
    import scale_data
finally:
    sys.path.remove(str(BENCHMARKS))

#: Tables that differ by design: history the builder does not write, statistics, timestamps.
NOT_COMPARED = {"outbox", "sqlite_sequence", "sqlite_stat1", "teamcrm_migrations"}
#: FTS5 segment tables: their layout depends on how the rows were batched.
FTS_SEGMENTS = ("_data", "_idx")
SIZE = 300


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Reset the library's id factory to hand out the same ids on every build."""

    def reset() -> None:
        counters: dict[str, int] = {}

        def new(prefix: str) -> str:
            counters[prefix] = counters.get(prefix, 0) + 1
            return f"{prefix}{0xFFF00000 + counters[prefix]:026x}"

        monkeypatch.setattr(teamcrm.ids, "_new", new)

    return reset


def _rows(conn: sqlite3.Connection, table: str, rename: dict[str, str]) -> list[str]:
    out = []
    for row in conn.execute(f'SELECT * FROM "{table}"'):
        text = repr(row)
        for old, new in rename.items():
            text = text.replace(old, new)
        out.append(text)
    return sorted(out)


def test_fast_build_equals_the_library_build(tmp_path: Path, fixed_ids: Callable[[], None]) -> None:
    fixed_ids()
    fast_world = scale_data.build(tmp_path / "fast.db", SIZE)
    fixed_ids()
    api_world = scale_data.build_with_api(tmp_path / "api.db", SIZE)
    # Ids the library makes without the id factory (policies, pools, filters) differ.
    rename = {api_world.ids[k]: v for k, v in fast_world.ids.items()}
    fast = sqlite3.connect(tmp_path / "fast.db")
    api = sqlite3.connect(tmp_path / "api.db")
    try:
        schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        assert fast.execute(schema).fetchall() == api.execute(schema).fetchall()
        tables = [
            name
            for (name,) in fast.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name not in NOT_COMPARED and not name.endswith(FTS_SEGMENTS)
        ]
        assert {"contact_fields", "followup_dues", "contact_words_content"} <= set(tables)
        compared = 0
        for table in tables:
            rows = _rows(fast, table, {})
            assert rows == _rows(api, table, rename), table
            compared += len(rows)
        assert compared > 5 * SIZE
        for conn in (fast, api):
            for fts in ("contact_words", "company_words"):
                conn.execute(f"INSERT INTO {fts} ({fts}) VALUES ('integrity-check')")
        assert fast.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        fast.close()
        api.close()
    # The same answers through the library, from the FTS5 indexes and contact_fields.
    answers = []
    for name, world in (("fast", fast_world), ("api", api_world)):
        crm = teamcrm.open(f"sqlite:///{tmp_path / name}.db")
        try:
            bob = crm.as_member(world.bob)  # type: ignore[arg-type]
            ana = crm.as_member(world.ana)  # type: ignore[arg-type]
            answers.append(
                (
                    [r.contact.id for r in bob.search(name="first15", limit=50).rows],
                    [r.contact.id for r in bob.search(name="st25 la", limit=50).rows],
                    [
                        r.contact.id
                        for r in bob.search(custom_field="plan", custom_value="gold").rows
                    ],
                    [r.contact.id for r in bob.search(status="closed").rows],
                    [r.company_id for r in ana.search_companies("company2")],
                    len(bob.follow_ups(world.bob, limit=500)),  # type: ignore[arg-type]
                )
            )
        finally:
            crm.close()
    assert answers[0] == answers[1]
    first15, _, gold, _, companies, dues = answers[0]
    assert len(first15) == 11  # First15 and First150..First159
    assert len(gold) == (SIZE + scale_data.ROUTE_SPARE) // scale_data.RARE
    assert len(companies) == 11
    assert dues == SIZE


def _pg_rows(url: str, rename: dict[str, str]) -> dict[str, list[str]]:
    import psycopg

    from teamcrm.adapters.postgres.transfer import tables_in_order

    out: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        for table in tables_in_order(conn):
            if table in NOT_COMPARED:
                continue
            rows = []
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                text = repr(row)
                for old, new in rename.items():
                    text = text.replace(old, new)
                rows.append(text)
            out[table] = sorted(rows)
    return out


def test_fast_postgres_build_equals_the_library_build(fixed_ids: Callable[[], None]) -> None:
    """``build_postgres`` (``COPY``, a trigger disabled) writes what the API writes."""
    import pg_support

    pg_support.server_url()
    with pg_support.schemas() as made:
        fast_url, api_url = made.fresh(), made.fresh()
        fixed_ids()
        fast_world = scale_data.build_postgres(fast_url, SIZE)
        fixed_ids()
        api_world = scale_data.build_with_api(api_url, SIZE)
        rename = {api_world.ids[k]: v for k, v in fast_world.ids.items()}
        fast, api = _pg_rows(fast_url, {}), _pg_rows(api_url, rename)
        assert fast.keys() == api.keys()
        assert {"contact_fields", "contact_names", "company_names", "followup_dues"} <= set(fast)
        for table, rows in fast.items():
            assert rows == api[table], table
        assert sum(len(r) for r in fast.values()) > 5 * SIZE
        with teamcrm.open(fast_url) as crm:
            bob = crm.as_member(fast_world.bob)  # type: ignore[arg-type]
            assert len(bob.search(name="first15", limit=50).rows) == 11
            assert len(bob.search(custom_field="plan", custom_value="gold").rows) == 5
            assert len(crm.as_member(fast_world.ana).search_companies("company2")) == 11  # type: ignore[arg-type]
