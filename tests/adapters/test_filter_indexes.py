"""Indexed filters on status, source and custom fields (issue 17, migration 0430).

* On every store, search by a custom field follows every write of the
  contact (create, set, remove, update, merge, delete): the side table
  ``contact_fields`` that the SQL stores search is kept by triggers.
* On SQLite the filters do work that does not grow with the team: the
  VM instructions of a search for a rare status, source or custom value
  (and a saved filter of one) are counted at 1,000 and 10,000 contacts,
  as an agent and as an admin (``tests/adapters/test_scale_queries.py`` does the same
  for the per-record calls); before 0430 they scanned the team.
* On PostgreSQL the plans of those searches read an index, never the
  whole contacts table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

import teamcrm
from pg_support import STORE_KINDS, open_store_kind, schemas
from teamcrm.adapters.postgres.connection import PGConnection
from teamcrm.adapters.sqlite.store import SQLiteStore
from teamcrm.bucket import BucketMembership
from teamcrm.contact import Contact, EmailAddress
from teamcrm.ids import new_contact_id
from teamcrm.search import ContactQuery
from teamcrm.service import MemberSession
from test_scale_queries import _work

RARE = 5


@pytest.fixture(params=STORE_KINDS)
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    with open_store_kind(request.param, tmp_path) as crm:
        yield crm


def _ids(session: MemberSession, **criteria: Any) -> set[str]:
    return {r.contact.id for r in session.search(**criteria, limit=500).rows}


def test_custom_field_search_follows_every_write(crm: teamcrm.CRM) -> None:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    a = ana.create_contact("Zoe", custom_fields={"plan": "gold", "seats": 3})
    b = ana.create_contact("Bea", custom_fields={"plan": "silver", "vip": True})
    c = ana.create_contact("Cy")
    assert _ids(ana, custom_field="plan", custom_value="gold") == {a.id}
    assert _ids(ana, custom_field="plan") == {a.id, b.id}
    assert _ids(ana, custom_field="seats", custom_value=3.0) == {a.id}  # 3 == 3.0
    assert _ids(ana, custom_field="vip", custom_value=True) == {b.id}
    assert _ids(ana, custom_field="vip", custom_value=1) == set()  # true is not 1
    ana.set_custom_field(c.id, "plan", "gold")
    ana.remove_custom_field(a.id, "plan")
    assert _ids(ana, custom_field="plan", custom_value="gold") == {c.id}
    assert _ids(ana, custom_field="seats", custom_value=3) == {a.id}
    ana.update_contact(b.id, custom_fields={"plan": "gold"})
    assert _ids(ana, custom_field="plan", custom_value="gold") == {b.id, c.id}
    assert _ids(ana, custom_field="vip") == set()
    ana.merge_contacts(b.id, [c.id])
    assert _ids(ana, custom_field="plan", custom_value="gold") == {b.id}
    ana.delete_contact(b.id)
    assert _ids(ana, custom_field="plan") == set()
    saved = ana.save_filter("Three seats", ContactQuery(custom_field="seats", custom_value=3))
    assert {r.contact.id for r in ana.run_filter(saved.id).rows} == {a.id}


def _team(path: Path, size: int) -> tuple[teamcrm.CRM, MemberSession, MemberSession]:
    """A team of *size* contacts in one team bucket; RARE of them won, from a fair, gold."""
    crm = teamcrm.open(f"sqlite:///{path}")
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob").id)
    bucket = ana.create_bucket("All")
    ana.share_with_team(bucket.id, can_view_conversations=True)
    now = crm.clock.now()
    rare = set(range(0, size, size // RARE))
    contacts = [
        Contact(
            id=new_contact_id(),
            team_id=ana.team_id,
            created_at=now - timedelta(seconds=size - i),
            status="closed" if i in rare else "evaluate",
            source="fair" if i in rare else "web",
            custom_fields={"plan": "gold" if i in rare else "free"},
            first_name=f"Person{i}",
            emails=(EmailAddress(address=f"p{i}@example.com"),),
            created_by=admin.id,
        )
        for i in range(size)
    ]
    with crm.store.unit_of_work() as uow:
        uow.contacts.add_many(contacts)
        uow.memberships.add_many(
            [
                BucketMembership(
                    team_id=ana.team_id, bucket_id=bucket.id, item_id=c.id, added_at=now
                )
                for c in contacts
            ]
        )
        uow.commit()
    return crm, ana, bob


def _filters(session: MemberSession) -> dict[str, Callable[[], object]]:
    saved = session.save_filter("Gold", ContactQuery(custom_field="plan", custom_value="gold"))

    def found(n: int, **criteria: Any) -> Callable[[], object]:
        def call() -> object:
            rows = session.search(**criteria, limit=50).rows
            assert len(rows) == n, criteria
            return rows

        return call

    def run_saved() -> object:
        rows = session.run_filter(saved.id, limit=50).rows
        assert len(rows) == RARE
        return rows

    return {
        "status": found(RARE, status="closed"),
        "source": found(RARE, source="fair"),
        "custom_value": found(RARE, custom_field="plan", custom_value="gold"),
        "custom_set": found(50, custom_field="plan"),
        "status_and_source": found(RARE, status="closed", source="fair"),
        "saved_filter": run_saved,
    }


def test_sqlite_filters_do_not_grow_with_the_team(tmp_path: Path) -> None:
    work: dict[str, list[int]] = {}
    for size in (1_000, 10_000):
        crm, ana, bob = _team(tmp_path / f"crm{size}.db", size)
        store = crm.store
        assert isinstance(store, SQLiteStore)
        for who, session in (("admin", ana), ("agent", bob)):
            for name, call in _filters(session).items():
                work.setdefault(f"{who} {name}", []).append(_work(store, call))
        crm.close()
    for name, (small, large) in work.items():
        assert large < 2 * small, f"{name}: {small} -> {large} VM steps"


def test_postgres_filters_read_an_index() -> None:
    with schemas() as made, teamcrm.open(made.new()) as crm:
        _, admin = crm.create_team("Acme", admin_name="Ana")
        ana = crm.as_member(admin.id)
        bob = crm.as_member(ana.add_member("Bob").id)
        bucket = ana.create_bucket("All")
        ana.share_with_team(bucket.id)
        now = crm.clock.now()
        contacts = [
            Contact(
                id=new_contact_id(),
                team_id=ana.team_id,
                created_at=now - timedelta(seconds=10_000 - i),
                status="closed" if i % 2000 == 0 else "evaluate",
                source="fair" if i % 2000 == 0 else "web",
                custom_fields={"plan": "gold" if i % 2000 == 0 else "free"},
                first_name=f"Person{i}",
                created_by=admin.id,
            )
            for i in range(10_000)
        ]
        with crm.store.unit_of_work() as uow:
            uow.contacts.add_many(contacts)
            uow.memberships.add_many(
                [
                    BucketMembership(
                        team_id=ana.team_id, bucket_id=bucket.id, item_id=c.id, added_at=now
                    )
                    for c in contacts
                ]
            )
            uow.commit()
        with crm.store.unit_of_work() as uow:
            uow.context.conn.raw.execute("ANALYZE")  # type: ignore[attr-defined]
            uow.commit()
        recorded: list[tuple[str, Any]] = []
        original = PGConnection.run

        def record(self: PGConnection, sql: str, params: Any = None) -> psycopg.Cursor[Any]:
            if (
                "ORDER BY" in sql
                and "LIMIT" in sql
                and "FROM contacts c" in sql.replace("contact_fields f", "contacts c")
            ):
                recorded.append((sql, params))
            return original(self, sql, params)

        criteria: list[dict[str, Any]] = [
            {"status": "closed"},
            {"source": "fair"},
            {"custom_field": "plan", "custom_value": "gold"},
        ]
        for session in (ana, bob):
            for criterion in criteria:
                recorded.clear()
                PGConnection.run = record  # type: ignore[method-assign]
                try:
                    assert len(session.search(**criterion).rows) == 5
                finally:
                    PGConnection.run = original  # type: ignore[method-assign]
                (sql, params), *_ = recorded
                with crm.store.unit_of_work(write=False) as uow:
                    raw = uow.context.conn.raw  # type: ignore[attr-defined]
                    plan = "\n".join(r[0] for r in raw.execute("EXPLAIN " + sql, params))
                key = next(iter(criterion))
                index = "contact_fields_by_value" if key == "custom_field" else f"by_team_{key}"
                assert index in plan, plan
                assert "Seq Scan on contacts" not in plan, plan
                # The agent's visibility is probed per contact (PostgresDialect.per_row),
                # never by hashing every membership of the team.
                assert "hashed SubPlan" not in plan, plan
                assert "Seq Scan on memberships" not in plan, plan
        # A common status: a hashed subplan would look cheaper still, and read
        # every membership of the team for a page of 50.
        recorded.clear()
        PGConnection.run = record  # type: ignore[method-assign]
        try:
            assert len(bob.search(status="evaluate", limit=50).rows) == 50
        finally:
            PGConnection.run = original  # type: ignore[method-assign]
        (sql, params), *_ = recorded
        with crm.store.unit_of_work(write=False) as uow:
            raw = uow.context.conn.raw  # type: ignore[attr-defined]
            plan = "\n".join(r[0] for r in raw.execute("EXPLAIN " + sql, params))
        assert "hashed SubPlan" not in plan, plan
        assert "Seq Scan on memberships" not in plan, plan


_UNDO_0430 = (
    "DROP TRIGGER IF EXISTS contact_fields_insert{on}",
    "DROP TRIGGER IF EXISTS contact_fields_update{on}",
    "DROP TRIGGER IF EXISTS contact_fields_delete{on}",
    "DROP TABLE contact_fields",
    "DROP INDEX contacts_by_team_status",
    "DROP INDEX contacts_by_team_source",
    "DELETE FROM teamcrm_migrations WHERE name IN ('0430_filter_indexes', '0431_name_trigrams')",
)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_0430_fills_contact_fields_from_existing_contacts(kind: str, tmp_path: Path) -> None:
    """A store made before 0430 gets the custom fields of its contacts indexed on open."""
    with schemas() if kind == "postgres" else _no_schemas() as made:
        url = made.fresh() if made is not None else f"sqlite:///{tmp_path / 'old.db'}"
        with teamcrm.open(url) as crm:
            _, admin = crm.create_team("Acme", admin_name="Ana")
            ana = crm.as_member(admin.id)
            gold = ana.create_contact("Zoe", custom_fields={"plan": "gold", "seats": 2})
            ana.create_contact("Bea", custom_fields={"plan": "free"})
        if kind == "postgres":  # as if made before 0430
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP INDEX contact_names_trigrams")
                conn.execute("DROP FUNCTION teamcrm_contact_fields() CASCADE")
                for statement in _UNDO_0430:
                    conn.execute(statement.format(on=" ON contacts"))
        else:
            with sqlite3.connect(tmp_path / "old.db") as conn:
                for statement in _UNDO_0430:
                    conn.execute(statement.format(on=""))
        with teamcrm.open(url) as crm:
            ana = crm.as_member(admin.id)
            assert _ids(ana, custom_field="plan", custom_value="gold") == {gold.id}
            assert _ids(ana, custom_field="seats", custom_value=2.0) == {gold.id}
            assert len(_ids(ana, custom_field="plan")) == 2


@contextmanager
def _no_schemas() -> Iterator[None]:
    yield None
