"""PostgreSQL name search reads a pg_trgm index (issue 17, migration 0431_name_trigrams).

The plan of a name search on a team of 40,000 contacts reads
``contact_names_trigrams``; when the extension cannot be created the
migration succeeds without the index, says so (a warning and a comment on
``contact_names``) and name search still finds exactly the same contacts.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import psycopg
import pytest

import teamcrm
from pg_support import schemas
from teamcrm.adapters.postgres import filters
from teamcrm.adapters.postgres.connection import PGConnection
from teamcrm.contact import Contact
from teamcrm.ids import new_contact_id


def _fill(crm: teamcrm.CRM, size: int) -> teamcrm.MemberSession:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    now = crm.clock.now()
    contacts = [
        Contact(
            id=new_contact_id(),
            team_id=ana.team_id,
            created_at=now - timedelta(seconds=size - i),
            first_name=f"Person{i}",
            last_name="Kowalska" if i % 1000 == 7 else "Smith",
            status="evaluate",
            created_by=admin.id,
        )
        for i in range(size)
    ]
    with crm.store.unit_of_work() as uow:
        uow.contacts.add_many(contacts)
        uow.commit()
    with crm.store.unit_of_work() as uow:
        uow.context.conn.raw.execute("ANALYZE")  # type: ignore[attr-defined]
        uow.commit()
    return ana


def _plan(crm: teamcrm.CRM, ana: teamcrm.MemberSession, name: str) -> tuple[str, int]:
    """The EXPLAIN of the statement a name search runs, and how many it found."""
    recorded: list[tuple[str, Any]] = []
    original = PGConnection.run

    def record(self: PGConnection, sql: str, params: Any = None) -> psycopg.Cursor[Any]:
        if "contact_names" in sql and "LIMIT" in sql:
            recorded.append((sql, params))
        return original(self, sql, params)

    PGConnection.run = record  # type: ignore[method-assign]
    try:
        found = len(ana.search(name=name, limit=100).rows)
    finally:
        PGConnection.run = original  # type: ignore[method-assign]
    (sql, params), *_ = recorded
    with crm.store.unit_of_work() as uow:  # never committed: the DROP below is rolled back
        # Through the unit's connection, so the statements run inside the unit's
        # transaction (its BEGIN is sent with the first statement).
        conn = uow.context.conn  # type: ignore[attr-defined]
        # Near the break-even size the planner's choice follows ANALYZE's random
        # sample (seen flipping between runs at 40,000 names, between a sequential
        # scan and the team's btree index filtered row by row). With both priced
        # out (the btree index dropped inside this transaction, which rolls back),
        # the plan shows whether the statement's shape lets the trigram index
        # answer it at all, which is what this test is about.
        conn.run("SET LOCAL enable_seqscan = off")
        conn.run("DROP INDEX contact_names_by_team")
        return "\n".join(r[0] for r in conn.run("EXPLAIN " + sql, params)), found


def test_postgres_name_search_reads_the_trigram_index() -> None:
    with schemas() as made, teamcrm.open(made.new()) as crm:
        ana = _fill(crm, 40_000)  # at 10,000 a sequential scan is still cheaper
        with crm.store.unit_of_work(write=False) as uow:
            assert not filters.trigram_index_missing(uow.context.conn.raw)  # type: ignore[attr-defined]
        for name, count in (("kowal", 40), ("person1234", 11), ("person3999 smi", 1)):
            plan, found = _plan(crm, ana, name)
            assert "contact_names_trigrams" in plan, plan
            assert "Seq Scan on contacts" not in plan, plan
            assert "Seq Scan on contact_names" not in plan, plan
            assert found == count


def test_without_pg_trgm_the_migration_says_so_and_search_still_works(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with schemas() as made:
        url = made.fresh()
        with teamcrm.open(url) as crm:
            ana = _fill(crm, 300)
        with psycopg.connect(url, autocommit=False) as conn:
            conn.execute("DROP INDEX contact_names_trigrams")
            monkeypatch.setattr(filters, "EXTENSION", "teamcrm_no_such_extension")
            with caplog.at_level(logging.WARNING, logger="teamcrm.store"):
                filters._name_trigrams(conn)
            conn.commit()
            assert filters.trigram_index_missing(conn)
            assert conn.execute(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'contact_names_trigrams'"
                " AND schemaname = current_schema()"
            ).fetchone() == (0,)
        assert "teamcrm_no_such_extension is not available" in caplog.text
        with teamcrm.open(url) as crm:
            ana = crm.as_member(ana.member_id)
            assert len(ana.search(name="kowal").rows) == 1
            assert len(ana.search(name="person29").rows) == 11
