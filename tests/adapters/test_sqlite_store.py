"""The SQLite adapter: URLs, pragmas, round trips, versions, errors, migrations, threads.

The shared contract suite (tests/contract/test_contract.py) checks the repository
behaviour; these tests check what is specific to SQLite.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

import teamcrm
from teamcrm.adapters.sql import repositories as registry
from teamcrm.adapters.sqlite import (
    SQLiteRepository,
    SQLiteStore,
    register_migration,
    registered_migrations,
)
from teamcrm.adapters.sqlite import store as store_module
from teamcrm.adapters.sqlite.connection import parse_url
from teamcrm.adapters.sqlite.migrations import STAMP_SQL, Migration, applied_migrations
from teamcrm.bucket import BucketMembership
from teamcrm.contact import Contact
from teamcrm.ids import (
    new_bucket_id,
    new_contact_id,
    new_interaction_id,
    new_member_id,
    new_team_id,
)
from teamcrm.interaction import Interaction
from teamcrm.testing import strategies as s

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The path of a not-yet-created database file."""
    return tmp_path / "team.db"


@pytest.fixture
def file_store(db: Path) -> Iterator[SQLiteStore]:
    """A SQLite store on a fresh file."""
    store = SQLiteStore(f"sqlite:///{db}")
    yield store
    store.close()


@pytest.fixture(params=["file", "memory"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLiteStore]:
    """A SQLite store on a file, then on a private in-memory database."""
    url = f"sqlite:///{tmp_path / 'any.db'}" if request.param == "file" else "sqlite://"
    store = SQLiteStore(url)
    yield store
    store.close()


def _contact(team_id: str, **kw: Any) -> Contact:
    fields: dict[str, Any] = {
        "id": new_contact_id(),
        "team_id": team_id,
        "created_at": T0,
        "status": "evaluate",
        "first_name": "Bea",
    }
    fields.update(kw)
    return Contact(**fields)


# ----------------------------------------------------------------- URLs & opening
@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///team.db", "team.db"),
        ("sqlite:///data/team.db", "data/team.db"),
        ("sqlite:////var/lib/team.db", "/var/lib/team.db"),
        ("SQLITE:///x.db", "x.db"),
    ],
)
def test_urls_follow_the_sqlalchemy_convention(url: str, path: str | None) -> None:
    assert parse_url(url).path == path


@pytest.mark.parametrize("url", ["sqlite:relative.db", "sqlite://host/x.db", "sqlite:///x.db?a=1"])
def test_malformed_urls_are_validation_errors(url: str) -> None:
    with pytest.raises(teamcrm.ValidationError, match="url"):
        teamcrm.open(url)


def test_open_by_url_gives_a_working_crm_on_a_file(db: Path) -> None:
    with teamcrm.open(f"sqlite:///{db}") as crm:
        _, admin = crm.create_team("Acme", admin_name="Ana")
        bea = crm.as_member(admin.id).create_contact("Bea", emails=["bea@example.com"])
    assert db.exists()
    with teamcrm.open(f"sqlite:///{db}") as crm:
        assert crm.as_member(admin.id).contact(bea.id) == bea


def test_in_memory_databases_are_private() -> None:
    one, two = teamcrm.open("sqlite://"), teamcrm.open("sqlite://")
    _, admin = one.create_team("Acme", admin_name="Ana")
    with pytest.raises(teamcrm.NotFound):
        two.as_member(admin.id)
    one.close()
    two.close()


def test_file_connections_use_wal_normal_sync_busy_timeout_and_foreign_keys(
    file_store: SQLiteStore,
) -> None:
    with file_store.unit_of_work(write=False) as uow:
        conn = uow.context.conn
        assert conn.isolation_level is None
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_a_file_that_is_not_a_database_is_a_store_error(db: Path) -> None:
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(teamcrm.StoreError) as info:
        SQLiteStore(f"sqlite:///{db}")
    assert not isinstance(info.value, sqlite3.Error)


def test_a_missing_directory_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(teamcrm.StoreError, match="cannot open"):
        SQLiteStore(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")


def test_a_closed_store_refuses_units(file_store: SQLiteStore) -> None:
    file_store.close()
    file_store.close()  # idempotent
    with pytest.raises(teamcrm.StoreError, match="closed"):
        file_store.unit_of_work().__enter__()


# ------------------------------------------------------------------- round trips
@settings(max_examples=25)
@given(contact=s.contacts())
def test_contacts_round_trip_exactly(contact: Contact) -> None:
    store = SQLiteStore("sqlite://")
    try:
        with store.unit_of_work() as uow:
            uow.contacts.add(contact)
            uow.commit()
        with store.unit_of_work(write=False) as uow:
            assert uow.contacts.get(contact.team_id, contact.id) == contact
            assert uow.contacts.all(contact.team_id) == [contact]
            assert uow.contacts.get_many(contact.team_id, [contact.id]) == [contact]
    finally:
        store.close()


def test_unicode_large_custom_fields_and_channel_order_survive_a_reopen(db: Path) -> None:
    team_id = new_team_id()
    big = "żółć 🐘 " * 1200  # ~10,000 characters, non-BMP included
    contact = _contact(
        team_id,
        first_name="Zoë",
        last_name="Łukasiewicz-Ñúñez",
        emails=["z@b.example", "a@a.example", "M@c.example"],
        phones=["+48 600 000 003", "+48 600 000 001", "+48 600 000 002"],
        custom_fields={
            "note": big.strip(),
            "n": -(2**62),
            "x": 0.1,
            "neg": -0.0,
            "flag": False,
            "none": None,
        },
    )
    store = SQLiteStore(f"sqlite:///{db}")
    with store.unit_of_work() as uow:
        uow.contacts.add(contact)
        uow.commit()
    store.close()
    store = SQLiteStore(f"sqlite:///{db}")
    with store.unit_of_work(write=False) as uow:
        back = uow.contacts.get(team_id, contact.id)
    store.close()
    assert back == contact
    assert [e.address for e in back.emails] == ["z@b.example", "a@a.example", "M@c.example"]
    assert str(back.custom_fields["neg"]) == "-0.0"


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
        datetime(1, 1, 1, 0, 0, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=14))),
    ],
)
def test_datetimes_keep_their_instant_and_microseconds(
    any_store: SQLiteStore, moment: datetime
) -> None:
    contact = _contact(new_team_id(), created_at=moment)
    with any_store.unit_of_work() as uow:
        uow.contacts.add(contact)
        uow.commit()
    with any_store.unit_of_work(write=False) as uow:
        back = uow.contacts.get(contact.team_id, contact.id)
    assert back.created_at == moment
    assert back.created_at.utcoffset() == timedelta(0)


def test_items_are_ordered_by_added_at_then_item_id_across_time_zones(
    any_store: SQLiteStore,
) -> None:
    team_id, bucket = new_team_id(), new_bucket_id()
    plus2 = timezone(timedelta(hours=2))
    ids = sorted(new_contact_id() for _ in range(3))
    rows = [
        # 10:00+02:00 is 08:00 UTC: earliest, although its wall time is latest
        BucketMembership(team_id=team_id, bucket_id=bucket, item_id=ids[2], added_at=T0),
        BucketMembership(
            team_id=team_id,
            bucket_id=bucket,
            item_id=ids[1],
            added_at=datetime(2026, 1, 5, 10, 0, tzinfo=plus2),
        ),
        BucketMembership(team_id=team_id, bucket_id=bucket, item_id=ids[0], added_at=T0),
    ]
    with any_store.unit_of_work() as uow:
        assert uow.memberships.add_many(rows) == rows
        assert uow.memberships.add_many(rows) == []
        uow.commit()
    with any_store.unit_of_work(write=False) as uow:
        assert [m.item_id for m in uow.memberships.items(team_id, bucket)] == [
            ids[1],
            ids[0],
            ids[2],
        ]


def test_interactions_are_newest_first_with_ties_by_id(any_store: SQLiteStore) -> None:
    team_id, cid, author = new_team_id(), new_contact_id(), new_member_id()
    times = [T0, T0 + timedelta(days=1), T0, T0 - timedelta(hours=1)]
    made = [
        Interaction(
            id=new_interaction_id(),
            team_id=team_id,
            kind="note",  # type: ignore[arg-type]
            author_id=author,
            occurred_at=t,
            logged_at=T0,
            contact_ids=(cid,),
        )
        for t in times
    ]
    with any_store.unit_of_work() as uow:
        for i in made:
            uow.interactions.add(i)
        uow.commit()
    with any_store.unit_of_work(write=False) as uow:
        got = uow.interactions.for_contact(team_id, cid)
        assert got == sorted(made, key=lambda i: (i.occurred_at, i.id), reverse=True)
        assert uow.interactions.for_contact(new_team_id(), cid) == []


# ---------------------------------------------------- versions & transactions
def test_a_stale_update_is_refused_by_the_database_across_stores(db: Path) -> None:
    one, two = SQLiteStore(f"sqlite:///{db}"), SQLiteStore(f"sqlite:///{db}")
    contact = _contact(new_team_id())
    with one.unit_of_work() as uow:
        uow.contacts.add(contact)
        uow.commit()
    with two.unit_of_work(write=False) as uow:
        seen_by_two = uow.contacts.get(contact.team_id, contact.id)
    with one.unit_of_work() as uow:
        uow.contacts.update(_bump(contact, first_name="One"))
        uow.commit()
    with two.unit_of_work() as uow, pytest.raises(teamcrm.ConcurrencyError):
        uow.contacts.update(_bump(seen_by_two, first_name="Two"))
    with two.unit_of_work() as uow, pytest.raises(teamcrm.ConcurrencyError):
        uow.contacts.delete(contact.team_id, contact.id, 1)
    with two.unit_of_work(write=False) as uow:
        assert uow.contacts.get(contact.team_id, contact.id).first_name == "One"
    one.close()
    two.close()


def _bump(contact: Contact, **changes: Any) -> Contact:
    import attrs

    return attrs.evolve(contact, version=contact.version + 1, **changes)


def test_update_of_a_missing_or_foreign_contact_is_not_found(any_store: SQLiteStore) -> None:
    contact = _contact(new_team_id())
    with any_store.unit_of_work() as uow:
        with pytest.raises(teamcrm.NotFound):
            uow.contacts.update(_bump(contact))
        uow.contacts.add(contact)
        import attrs

        foreign = attrs.evolve(contact, team_id=new_team_id(), version=2)
        with pytest.raises(teamcrm.NotFound):
            uow.contacts.update(foreign)
        with pytest.raises(teamcrm.NotFound):
            uow.contacts.get(foreign.team_id, contact.id)


def test_leaving_without_commit_rolls_back_everything(any_store: SQLiteStore) -> None:
    crm = teamcrm.CRM(any_store)
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    before = ana.events()
    event = before[0].event

    def fail_midway() -> None:
        with any_store.unit_of_work() as uow:
            uow.contacts.add(_contact(admin.team_id))
            uow.collect(event)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    with any_store.unit_of_work(write=False) as uow:
        assert uow.contacts.all(admin.team_id) == []
    assert ana.events() == before


def test_duplicate_ids_are_already_exists_and_add_many_is_all_or_nothing(
    any_store: SQLiteStore,
) -> None:
    team_id = new_team_id()
    first = _contact(team_id)
    with any_store.unit_of_work() as uow:
        uow.contacts.add(first)
        uow.commit()
    batch = [_contact(team_id) for _ in range(5)] + [first] + [_contact(team_id)]
    with any_store.unit_of_work() as uow:
        with pytest.raises(teamcrm.AlreadyExists) as info:
            uow.contacts.add_many(batch)
        assert info.value.key == first.id
        assert [c.id for c in uow.contacts.all(team_id)] == [first.id]
        uow.commit()
    with any_store.unit_of_work() as uow, pytest.raises(teamcrm.AlreadyExists) as info:
        uow.contacts.add(first)
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)


def test_a_read_only_unit_refuses_writes_with_a_store_error(any_store: SQLiteStore) -> None:
    with any_store.unit_of_work(write=False) as uow, pytest.raises(teamcrm.StoreError):
        uow.contacts.add(_contact(new_team_id()))
    with any_store.unit_of_work() as uow:  # the connection is writable again
        uow.contacts.add(_contact(new_team_id()))
        uow.commit()


def test_nested_units_on_one_thread_are_refused(any_store: SQLiteStore) -> None:
    with any_store.unit_of_work(), pytest.raises(teamcrm.StoreError, match="nest"):
        any_store.unit_of_work().__enter__()
    with any_store.unit_of_work() as uow:  # and the store still works
        uow.commit()


def test_read_and_write_units_do_not_nest_either_way(any_store: SQLiteStore) -> None:
    with any_store.unit_of_work(), pytest.raises(teamcrm.StoreError, match="nest"):
        any_store.unit_of_work(write=False).__enter__()
    with any_store.unit_of_work(write=False), pytest.raises(teamcrm.StoreError, match="nest"):
        any_store.unit_of_work().__enter__()
    with any_store.unit_of_work() as uow:
        uow.commit()


def test_read_units_see_each_commit_and_switch_no_pragma(db: Path) -> None:
    """A file store reads on a connection that is read-only for good.

    Switching ``query_only`` per unit would expire every prepared statement
    of the connection (each read would compile its SQL again).
    """
    store = SQLiteStore(f"sqlite:///{db}")
    try:
        team_id = new_team_id()
        with store.unit_of_work(write=False) as uow:
            reader = uow.context.conn
        seen: list[str] = []
        reader.set_trace_callback(seen.append)  # every statement of the following units
        for number in range(3):
            with store.unit_of_work() as uow:
                uow.contacts.add(_contact(team_id))
                uow.commit()
            with store.unit_of_work(write=False) as uow:
                assert uow.context.conn is reader
                assert len(uow.contacts.all(team_id)) == number + 1
        reader.set_trace_callback(None)
        assert any(s.lstrip().upper().startswith("SELECT") for s in seen), seen
        # (the per-unit schema stamp reads pragma functions; it switches nothing)
        stamp = (STAMP_SQL, "-- PRAGMA schema_version", "-- PRAGMA user_version")
        assert [s for s in seen if "PRAGMA" in s.upper() and s not in stamp] == []
        with store.unit_of_work(write=False) as uow, pytest.raises(teamcrm.StoreError):
            uow.contacts.add(_contact(team_id))
    finally:
        store.close()


def test_a_writer_holding_the_lock_past_the_timeout_is_a_store_error(db: Path) -> None:
    store = SQLiteStore(f"sqlite:///{db}", busy_timeout=0.2)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(teamcrm.StoreError, match="busy") as info:
            store.unit_of_work().__enter__()
        assert not isinstance(info.value, sqlite3.Error)
        with store.unit_of_work(write=False) as uow:  # readers are not blocked (WAL)
            assert uow.contacts.all(new_team_id()) == []
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with store.unit_of_work() as uow:
        uow.commit()
    store.close()


def test_outbox_rows_are_json_in_the_same_transaction(file_store: SQLiteStore) -> None:
    crm = teamcrm.CRM(file_store, clock=teamcrm.SettableClock(T0))
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    ana.create_contacts([{"first_name": f"C{i}"} for i in range(3)])
    messages = ana.events()
    assert [m.seq for m in messages] == sorted({m.seq for m in messages})
    assert [m.event.name.value for m in messages][-3:] == ["contact.created"] * 3
    with file_store.unit_of_work(write=False) as uow:
        raw = uow.context.conn.execute("SELECT event FROM outbox ORDER BY seq").fetchall()
    import json

    assert json.loads(raw[-1][0])["name"] == "contact.created"


# ---------------------------------------------------------------- migrations
def test_a_new_database_records_every_migration(file_store: SQLiteStore) -> None:
    names = [m.name for m in registered_migrations()]
    assert file_store.applied == names
    with file_store.unit_of_work(write=False) as uow:
        assert applied_migrations(uow.context.conn) == names


def test_reopening_applies_nothing(db: Path) -> None:
    SQLiteStore(f"sqlite:///{db}").close()
    again = SQLiteStore(f"sqlite:///{db}")
    assert again.applied == []
    again.close()


def test_a_database_of_an_older_release_upgrades_in_place(db: Path) -> None:
    first = registered_migrations()[:1]
    old = SQLiteStore(f"sqlite:///{db}", migrations=first)
    crm = teamcrm.CRM(old, clock=teamcrm.SettableClock(T0))
    with old.unit_of_work() as uow:
        tables = {r[0] for r in uow.context.conn.execute("SELECT name FROM sqlite_master")}
    assert "teams" in tables
    assert "contacts" not in tables
    team = teamcrm.Team(id=new_team_id(), name="Old", created_at=T0)
    with old.unit_of_work() as uow:  # the team as that release wrote it
        uow.context.conn.execute(
            "INSERT INTO teams (id, name, created_at, bucket_management,"
            " file_notes_under_companies, new_contact_status, new_lead_status, version)"
            " VALUES (?, 'Old', ?, 'everyone', 1, 'evaluate', 'evaluate', 1)",
            (team.id, int(T0.timestamp() * 1_000_000)),
        )
        uow.context.conn.executemany(
            "INSERT INTO team_statuses (team_id, position, status) VALUES (?, ?, ?)",
            [(team.id, i, s) for i, s in enumerate(team.settings.statuses)],
        )
        uow.commit()
    old.close()
    del crm

    new = SQLiteStore(f"sqlite:///{db}")
    assert new.applied == [m.name for m in registered_migrations()[1:]]
    with new.unit_of_work() as uow:
        assert uow.teams.get(team.id) == team
        uow.contacts.add(_contact(team.id))
        uow.commit()
    new.close()


def test_a_data_migration_runs_once_inside_the_transaction(db: Path) -> None:
    SQLiteStore(f"sqlite:///{db}").close()
    calls: list[int] = []

    def backfill(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("UPDATE contacts SET source = 'legacy' WHERE source IS NULL")

    extra = Migration(
        name="9000_test_backfill",
        statements=("CREATE INDEX contacts_by_source ON contacts (team_id, source)",),
        apply=backfill,
    )
    migrations = (*registered_migrations(), extra)
    SQLiteStore(f"sqlite:///{db}", migrations=migrations).close()
    SQLiteStore(f"sqlite:///{db}", migrations=migrations).close()
    assert calls == [1]


def test_a_failing_migration_leaves_the_database_as_it_was(db: Path) -> None:
    SQLiteStore(f"sqlite:///{db}").close()
    broken = Migration(
        name="9001_test_broken",
        statements=("CREATE TABLE fine_so_far (x INTEGER)", "CREATE TABLE contacts (x)"),
    )
    with pytest.raises(teamcrm.StoreError, match="migrating"):
        SQLiteStore(f"sqlite:///{db}", migrations=(*registered_migrations(), broken))
    conn = sqlite3.connect(db)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    recorded = {r[0] for r in conn.execute("SELECT name FROM teamcrm_migrations")}
    conn.close()
    assert "fine_so_far" not in names
    assert "9001_test_broken" not in recorded


def _file_state(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(db.parent.iterdir()) if p.is_file()}


def test_a_database_of_a_newer_release_is_refused_and_left_untouched(db: Path) -> None:
    SQLiteStore(f"sqlite:///{db}").close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(
        "INSERT INTO teamcrm_migrations (name, applied_at) VALUES ('9999_from_the_future', 'x')"
    )
    conn.close()
    before = _file_state(db)
    assert set(before) == {"team.db"}  # the last close checkpointed the WAL away
    with pytest.raises(teamcrm.SchemaVersionError, match="9999_from_the_future"):
        SQLiteStore(f"sqlite:///{db}")
    with pytest.raises(teamcrm.SchemaVersionError):
        teamcrm.open(f"sqlite:///{db}")
    assert _file_state(db) == before


def test_registering_a_migration_twice_is_refused_unless_identical() -> None:
    name = registered_migrations()[0].name
    first = registered_migrations()[0]
    again = register_migration(name, *first.statements, build=first.build, apply=first.apply)
    assert again is registered_migrations()[0]
    with pytest.raises(teamcrm.ValidationError):
        register_migration(name, "CREATE TABLE other (x)")


# ------------------------------------------------------------ extension points
class _Notes(SQLiteRepository):
    """A repository a later module might add."""

    kind = "note"
    table = "test_notes"

    def add(self, team_id: str, text: str) -> None:
        self._conn.execute("INSERT INTO test_notes (team_id, text) VALUES (?, ?)", (team_id, text))

    def count(self, team_id: str) -> int:
        row = self._conn.execute("SELECT count(*) FROM test_notes WHERE team_id = ?", (team_id,))
        return int(row.fetchone()[0])


def test_a_later_module_can_add_a_table_and_a_repository(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "_REPOSITORIES", dict(registry._REPOSITORIES))
    store_module.register_repository("notes", _Notes)
    table = Migration(
        name="9002_test_notes",
        statements=("CREATE TABLE test_notes (team_id TEXT NOT NULL, text TEXT NOT NULL)",),
    )
    store = SQLiteStore(f"sqlite:///{db}", migrations=(*registered_migrations(), table))
    team_id = new_team_id()
    with store.unit_of_work() as uow:
        uow.notes.add(team_id, "kept")  # type: ignore[attr-defined]
        uow.commit()
    with store.unit_of_work() as uow:
        uow.notes.add(team_id, "rolled back")  # type: ignore[attr-defined]
    with store.unit_of_work(write=False) as uow:
        assert uow.notes.count(team_id) == 1  # type: ignore[attr-defined]
    store.close()
    with pytest.raises(teamcrm.ValidationError):
        store_module.register_repository("contacts", _Notes)
    store_module.register_repository("notes", _Notes)  # the same factory again: nothing changes

    class _Other(_Notes):
        pass

    with pytest.raises(teamcrm.ValidationError, match="replace=True"):
        store_module.register_repository("notes", _Other)  # never decided by import order
    store_module.register_repository("notes", _Other, replace=True)
    assert store_module.registered_repositories()["notes"] is _Other


def test_a_repository_registered_on_one_store_is_not_on_another(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each store owns its registry: the module-level one is only the default it copies."""
    monkeypatch.setattr(registry, "_REPOSITORIES", dict(registry._REPOSITORIES))
    table = Migration(
        name="9002_test_notes",
        statements=("CREATE TABLE test_notes (team_id TEXT NOT NULL, text TEXT NOT NULL)",),
    )
    known = (*registered_migrations(), table)
    one = SQLiteStore(f"sqlite:///{db}", migrations=known)
    other = SQLiteStore(f"sqlite:///{tmp_path / 'other.db'}", migrations=known)
    one.register_repository("notes", _Notes)
    team_id = new_team_id()
    with one.unit_of_work() as uow:
        uow.notes.add(team_id, "kept")  # type: ignore[attr-defined]
        uow.commit()
    with one.unit_of_work(write=False) as uow:
        assert uow.notes.count(team_id) == 1  # type: ignore[attr-defined]
    with other.unit_of_work(write=False) as uow:
        assert not hasattr(uow, "notes")
    assert "notes" in one.repositories
    assert "notes" not in other.repositories
    assert "notes" not in store_module.registered_repositories()
    later = SQLiteStore(f"sqlite:///{tmp_path / 'later.db'}", migrations=known)
    assert "notes" not in later.repositories  # copies the defaults, not another store's
    # The store's registry refuses what the module-level one refuses.
    with pytest.raises(teamcrm.ValidationError):
        one.register_repository("contacts", _Notes)
    with pytest.raises(teamcrm.ValidationError, match="replace=True"):
        one.register_repository("notes", type("_Other", (_Notes,), {}))
    one.register_repository("notes", _Notes)  # the same factory again: nothing changes
    # A default registered later reaches stores opened after it, not those open before.
    store_module.register_repository("memos", _Notes)
    assert "memos" not in one.repositories
    fresh = SQLiteStore("sqlite://")
    assert "memos" in fresh.repositories
    for store in (one, other, later, fresh):
        store.close()


# ---------------------------------------------------------------------- threads
@pytest.mark.parametrize("where", ["file", "memory"])
def test_threads_lose_no_update(where: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'threads.db'}" if where == "file" else "sqlite://"
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    counter = ana.create_contact("Counter", custom_fields={"n": 0})
    errors: list[BaseException] = []

    def bump() -> None:
        current = ana.contact(counter.id)
        ana.update_contact(
            counter.id,
            expected_version=current.version,
            custom_fields={"n": int(current.custom_fields["n"] or 0) + 1},  # type: ignore[arg-type]
        )

    def worker() -> None:
        try:
            for _ in range(10):
                teamcrm.retry_on_conflict(bump, attempts=12, base_delay=0.001)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ana.contact(counter.id).custom_fields["n"] == 80
    crm.close()


# -------------------------------------------------------- the public API on SQLite
def test_the_smoke_story_runs_on_sqlite(db: Path) -> None:
    crm = teamcrm.open(f"sqlite:///{db}")
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bucket = ana.create_bucket("Past Clients")
    bob = ana.add_member("Bob")
    bea = ana.create_contact("Bea", "Jones", phones=["555 010 2030"])
    ana.add_to_bucket(bucket.id, bea.id)
    ana.grant_access(bucket.id, bob.id, can_view_conversations=True)
    ana.log_interaction("call", contact_ids=[bea.id], outcome="connected")
    record = crm.as_member(bob.id).contact_record(bea.id)
    assert record.contact.phones[0].validated is True
    assert [b.id for b in record.team_buckets] == [bucket.id]
    assert len(record.interactions) == 1
    crm.close()


def test_bulk_import_into_a_bucket_is_one_transaction(db: Path) -> None:
    crm = teamcrm.open(f"sqlite:///{db}")
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bucket = ana.create_bucket("Imported")
    drafts: list[dict[str, Any]] = [
        {"first_name": f"P{i}", "emails": [f"p{i}@example.com"]} for i in range(2000)
    ]
    made = ana.create_contacts(drafts, bucket_id=bucket.id)
    assert len(made) == 2000
    with pytest.raises(teamcrm.ValidationError):
        ana.create_contacts([*drafts[:10], {"first_name": ""}], bucket_id=bucket.id)
    with crm.store.unit_of_work(write=False) as uow:
        assert len(uow.contacts.all(admin.team_id)) == 2000
        assert len(uow.memberships.items(admin.team_id, bucket.id)) == 2000
        assert {c.id for c in uow.contacts.all(admin.team_id)} == {c.id for c in made}
    crm.close()


# ------------------------------------------------------------------ drift guard
def _fields(cls: type) -> set[str]:
    import attrs

    return {f.name for f in attrs.fields(cls)}


def test_every_entity_field_has_a_column() -> None:
    """Fails when an entity gains a field the SQLite adapter does not store yet.

    If this fails: add a column (a new named migration) and map it in
    ``teamcrm/adapters/sqlite``, then update the expected set here.
    """
    from teamcrm.bucket import AccessGrant, Bucket, TeamAccess
    from teamcrm.contact import Company, EmailAddress, PhoneNumber
    from teamcrm.followup import FollowUpDue, FollowUpPolicy, Snooze, Touch
    from teamcrm.notification import Notification
    from teamcrm.task import Task
    from teamcrm.team import Member, Team, TeamSettings

    stored = {
        Team: {"id", "name", "created_at", "settings", "version"},
        TeamSettings: {
            "bucket_management",
            "file_notes_under_companies",
            "statuses",
            "new_contact_status",
            "new_lead_status",
            "phone_region",
        },
        Member: {
            "id",
            "team_id",
            "name",
            "role",
            "created_at",
            "email",
            "active",
            "away_until",
            "time_zone",
            "phone_region",
            "version",
        },
        Contact: {
            "id",
            "team_id",
            "created_at",
            "status",
            "first_name",
            "last_name",
            "emails",
            "phones",
            "company_ids",
            "source",
            "custom_fields",
            "created_by",
            "version",
            "email_opt_out",
            "opted_out_at",
        },
        EmailAddress: {"address", "validated", "label", "bounced"},
        PhoneNumber: {"number", "validated", "label", "display"},
        Company: {"id", "team_id", "name", "created_at", "domain", "created_by", "version"},
        Bucket: {
            "id",
            "team_id",
            "name",
            "kind",
            "created_at",
            "owner_id",
            "grants",
            "created_by",
            "version",
            "team_access",  # team_level, team_conversations (0008_bucket_team_access)
            "holds_all",
        },
        AccessGrant: {"member_id", "level", "can_view_conversations"},
        TeamAccess: {"level", "can_view_conversations"},
        BucketMembership: {"team_id", "bucket_id", "item_id", "added_at", "added_by"},
        Interaction: {
            "id",
            "team_id",
            "kind",
            "author_id",
            "occurred_at",
            "logged_at",
            "contact_ids",
            "company_ids",
            "outcome",
            "via",
            "reference",
            "body",
        },
        FollowUpPolicy: {
            "id",
            "team_id",
            "bucket_id",
            "member_id",
            "cadence",
            "reset_by_team",
            "created_at",
            "created_by",
            "time_zone",
            "version",
        },
        Touch: {"team_id", "contact_id", "member_id", "at", "kind", "team_wide"},
        FollowUpDue: {
            "team_id",
            "policy_id",
            "member_id",
            "bucket_id",
            "contact_id",
            "due_on",
            "since",
            "touch_at",
            "touch_by",
            "touch_kind",
        },
        Snooze: {"team_id", "member_id", "contact_id", "until"},
        Task: {
            "id",
            "team_id",
            "member_id",
            "contact_id",
            "due_at",
            "created_at",
            "created_by",
            "note",
            "status",
            "closed_at",
            "version",
        },
        Notification: {
            "id",
            "team_id",
            "member_id",
            "kind",
            "subject_id",
            "message",
            "created_at",
            "read_at",
            "emailed_at",
            "data",
        },
    }
    drift = {
        cls.__name__: _fields(cls) ^ names for cls, names in stored.items() if _fields(cls) != names
    }
    assert drift == {}
