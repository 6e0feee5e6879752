"""The pg_trgm index of migration 0431_name_trigrams, when the extension is missing.

When the extension cannot be created the migration succeeds without the
index, says so (a warning and a comment on ``contact_names``) and name
search still finds exactly the same contacts.  Name search itself no longer
reads the trigram index: from ``0480_postgres_name_words`` it reads a B-tree
of name words (``tests/adapters/test_postgres_name_words.py``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import psycopg
import pytest

import teamcrm
from pg_support import schemas
from teamcrm.adapters.postgres import filters
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
