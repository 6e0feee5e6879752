"""``teamcrm migrate --from sqlite:///... --to postgresql://...`` on the demo team.

The demo (``teamcrm demo``) fills a SQLite file with teams, contacts,
buckets, interactions, follow-ups, pools, leads, offers and notifications;
after the move every repository reads the same from PostgreSQL as from
SQLite, the counts printed match, and a second run is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pg_support
import teamcrm
from teamcrm.cli import main
from teamcrm.ports import Store
from teamcrm.testing.snapshot import store_snapshot

pg_support.require_server()


@pytest.fixture
def target() -> Iterator[str]:
    with pg_support.schemas() as made:
        yield made.new()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "team.db"
    assert main(["demo", "--db", str(path)]) == 0
    return path


def _everything(store: Store, team_ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"snapshot": store_snapshot(store, team_ids)}
    with store.unit_of_work(write=False) as uow:
        for tid in team_ids:
            members = uow.members.all(tid)
            out[tid] = {
                "leads": uow.leads.all(tid),
                "pools": uow.lead_pools.all(tid),
                "policies": uow.followup_policies.all(tid),
                "outbox": uow.outbox.read(tid, 0, 1_000_000),
                "per_member": [
                    (
                        uow.notifications.for_member(tid, m.id, limit=100_000),
                        uow.tasks.for_member(tid, m.id),
                        uow.offers.for_member(tid, m.id),
                        uow.notifications.last_digest_at(tid, m.id),
                    )
                    for m in members
                ],
            }
    return out


def conn_count(path: Path, table: str) -> int:
    """Rows of *table* in the SQLite file *path*."""
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_migrate_copies_every_table_and_verifies_the_counts(
    demo_db: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"sqlite:///{demo_db}"
    assert main(["migrate", "--from", source, "--to", target]) == 0
    printed = capsys.readouterr().out
    assert "verified:" in printed
    with sqlite3.connect(demo_db) as conn:
        team_ids = [r[0] for r in conn.execute("SELECT id FROM teams ORDER BY id")]
        contacts = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
    assert team_ids
    assert contacts > 0
    assert f"contacts {' ' * 20}{contacts:>10} -> {contacts:>10}".split() == next(
        line.split() for line in printed.splitlines() if line.startswith("contacts ")
    )
    # The name-word tables are filled by their triggers as the name tables are rebuilt.
    for table in ("contact_name_words", "company_name_words"):
        words = conn_count(demo_db, table)
        assert words > 0 or table == "company_name_words"  # the demo has no companies
        assert [table, str(words), "->", str(words)] == next(
            line.split() for line in printed.splitlines() if line.startswith(f"{table} ")
        )

    sqlite_store = teamcrm.open_store(source)
    pg_store = teamcrm.open_store(target)
    try:
        assert _everything(pg_store, team_ids) == _everything(sqlite_store, team_ids)
        # the copy is a working store: new rows get fresh rowids / seqs after the copied ones
        crm = teamcrm.CRM(pg_store)
        with pg_store.unit_of_work(write=False) as uow:
            admin = next(m for m in uow.members.all(team_ids[0]) if m.role.value == "admin")
        made = crm.as_member(admin.id).create_contact("After", last_name="Move")
        with pg_store.unit_of_work(write=False) as uow:
            assert uow.contacts.all(team_ids[0])[-1].id == made.id
            seqs = [m.seq for m in uow.outbox.read(team_ids[0], 0, 1_000_000)]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == len(seqs)
    finally:
        sqlite_store.close()
        pg_store.close()


def test_migrate_refuses_a_target_that_has_rows(
    demo_db: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    crm = teamcrm.open(target)
    crm.create_team("Already here", admin_name="Zed")
    crm.close()
    assert main(["migrate", "--from", f"sqlite:///{demo_db}", "--to", target]) == 1
    assert "not empty" in capsys.readouterr().err
    store = teamcrm.open_store(target)
    try:
        with store.unit_of_work(write=False) as uow:
            assert uow.views.members_named("Zed")
            assert not uow.views.members_named("Ana")
    finally:
        store.close()


def test_migrate_needs_a_sqlite_file_and_a_postgresql_url(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--from", "sqlite://", "--to", target]) == 1
    assert "SQLite file" in capsys.readouterr().err
    assert main(["migrate", "--from", "sqlite:///x.db", "--to", "mysql://x"]) == 1
    assert "postgresql://" in capsys.readouterr().err
