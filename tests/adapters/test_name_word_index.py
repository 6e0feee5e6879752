"""SQLite name search reads one range of a word B-tree (issue 17, migration 0460).

The trigram search of ``0230_name_words`` intersected the doclists of every
trigram of the needle in every FTS5 segment: the work grew with the team
(the VM steps below, FTS5's own statements included, went 1,195 -> 7,092
from 10,000 to 1,000,000 contacts for one match, and company search 3-4x).
Migration ``0460_name_word_index`` drives name search by
``contact_name_words`` / ``company_name_words``: the work must not grow from
a team of 1,000 contacts (100 companies) to one of 30,000 (3,000).  The
words kept by the triggers equal a fresh fill from the names after every
kind of write, and searches still return exactly what
:func:`teamcrm.search.name_matches` accepts (the differential tests of
``tests/test_search.py`` and the contract suite cover the rest).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import teamcrm
from teamcrm.adapters.sqlite.name_words import BACKFILL
from teamcrm.adapters.sqlite.store import SQLiteStore
from test_scale_queries import _work

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
try:
    import scale_data
finally:
    sys.path.remove(str(BENCHMARKS))

SIZES = (1_000, 30_000)


def _steps(path: Path, size: int) -> dict[str, int]:
    world = scale_data.build(path, size)
    rare = scale_data.RARE // 2 + scale_data.RARE * (size // scale_data.RARE // 2)
    with teamcrm.open(f"sqlite:///{path}", clock=teamcrm.SettableClock(scale_data.NOW)) as crm:
        store = crm.store
        assert isinstance(store, SQLiteStore)
        bob = crm.as_member(world.bob)  # type: ignore[arg-type]
        ana = crm.as_member(world.ana)  # type: ignore[arg-type]

        def one(rows: object) -> object:
            assert len(rows) == 1, rows  # type: ignore[arg-type]
            return rows

        calls = {
            "name_agent": lambda: one(bob.search(name=f"first{rare} last", limit=50).rows),
            "name_admin": lambda: one(ana.search(name=f"first{rare} last", limit=50).rows),
            "name_and_email": lambda: one(
                ana.search(name="first7", email="p7@example.com", limit=50).rows
            ),
            "company": lambda: one(ana.search_companies(f"company{size // 20} hold")),
        }
        return {name: _work(store, call) for name, call in calls.items()}


def test_name_search_work_does_not_grow_with_the_team(tmp_path: Path) -> None:
    small, large = (_steps(tmp_path / f"crm{size}.db", size) for size in SIZES)
    for name in small:
        assert large[name] < 1.3 * small[name], f"{name}: {small[name]} -> {large[name]} steps"


def test_name_search_plan_reads_the_word_index(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    world = scale_data.build(path, 2_000)
    with teamcrm.open(f"sqlite:///{path}") as crm:
        ana = crm.as_member(world.ana)  # type: ignore[arg-type]
        store = crm.store
        assert isinstance(store, SQLiteStore)
        ana.search(name="first5 last")
        conn = store._conns[-1]
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        try:
            assert len(ana.search(name="first5 last").rows) == 1
            assert len(ana.search_companies("company7 hold")) == 1
        finally:
            conn.set_trace_callback(None)
        statements = [s for s in seen if "name_words" in s]
        assert len(statements) == 2
        for sql in statements:
            plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
            assert "USING PRIMARY KEY (team_id=? AND word>? AND word<?)" in plan, plan
            assert "VIRTUAL TABLE INDEX 0:G" not in plan, plan  # no trigram scan


def test_company_domain_search_reads_the_domain_index(tmp_path: Path) -> None:
    """Migration ``0470_company_search``: a domain query is one range of an index."""
    path = tmp_path / "crm.db"
    world = scale_data.build(path, 2_000)
    with teamcrm.open(f"sqlite:///{path}") as crm:
        ana = crm.as_member(world.ana)  # type: ignore[arg-type]
        store = crm.store
        assert isinstance(store, SQLiteStore)
        ana.search_companies(domain="c7.example.com")
        conn = store._conns[-1]
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        try:
            assert len(ana.search_companies(domain="C7.Example.com")) == 1
            assert len(ana.search_companies("company7", domain="c7.example.com")) == 1
        finally:
            conn.set_trace_callback(None)
        statements = [s for s in seen if "lower(c.domain)" in s]
        assert len(statements) == 2
        plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + statements[0]))
        assert "USING INDEX companies_by_team_domain (team_id=? AND <expr>=?)" in plan, plan


def test_triggers_keep_the_word_tables_equal_to_a_fresh_fill(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    with teamcrm.open(f"sqlite:///{path}") as crm:
        _, admin = crm.create_team("Acme", admin_name="Ana")
        ana = crm.as_member(admin.id)
        zoe = ana.create_contact("Zoë Anna", "Kowalska-Anna")
        ana.create_contact("Γιώργος", "Андрей")
        gone = ana.create_contact("Алёна", "")
        ana.create_contact("", "-")  # no word at all
        ana.update_contact(zoe.id, first_name="Mary")
        ana.delete_contact(gone.id)
        company = ana.create_company("Ærø Holdings")
        ana.create_company("Ærø Holdings")  # the same words, another company
        ana.update_company(company.id, name="Øresund Ærø")
        assert [r.contact_id for r in ana.search(name="mary kowalska").rows] == [zoe.id]
        assert [r.contact_id for r in ana.search(name="kowalska an").rows] == [zoe.id]
        assert not ana.search(name="zoe").rows
        assert len(ana.search_companies("aero")) == 2
        assert [r.company_id for r in ana.search_companies("oresund aero")] == [company.id]
    conn = sqlite3.connect(path)
    try:
        conn.create_function(
            "teamcrm_name_text", 2, lambda f, g: teamcrm.search.name_text(f or "", g or "")
        )
        for table in ("contact_name_words", "company_name_words"):
            kept = sorted(conn.execute(f"SELECT * FROM {table}"))
            conn.execute(f"DELETE FROM {table}")
            conn.execute(BACKFILL[table])
            assert kept == sorted(conn.execute(f"SELECT * FROM {table}")), table
            assert kept
    finally:
        conn.close()
