"""Stores that refuse what is not theirs, and notice a newer release (issue 13, items 4 and 5).

* Opening another application's database (a SQLite file with other tables
  or another ``application_id``, a PostgreSQL schema with other tables)
  raises ``ForeignDatabaseError`` and writes nothing; teamcrm files made
  before the application id existed still open and get it.
* ``create=False`` (and every CLI command but ``demo``) never makes a
  database: ``MissingDatabaseError`` naming the file or schema.
* A store that stays open while a newer release migrates the database
  refuses its next unit of work with ``SchemaVersionError`` and writes
  nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import pg_support
import teamcrm
from teamcrm.adapters.sqlite import SQLiteStore
from teamcrm.adapters.sqlite.migrations import (
    APPLICATION_ID,
    MIGRATIONS_TABLE,
    Migration,
    applied_migrations,
    registered_migrations,
)
from teamcrm.cli import main
from teamcrm.errors import (
    ForeignDatabaseError,
    MissingDatabaseError,
    SchemaVersionError,
    StoreError,
    ValidationError,
)

FUTURE_DDL = Migration(
    name="9999_future_rule",
    build=lambda d: (f"CREATE TABLE future_rule (cap {d.integer}{d.table_end()}",),
)
# A newer release's data-only migration: no DDL, so SQLite's schema_version stays put.
FUTURE_DATA = Migration(name="9998_future_backfill", statements=("UPDATE teams SET name = name",))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _foreign_file(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (9.5)")
    conn.commit()
    conn.close()


def _header(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        user = conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
    return int(app), int(user)


# -- item 4: SQLite -----------------------------------------------------------


def test_sqlite_refuses_another_applications_file_and_leaves_it_untouched(tmp_path: Path) -> None:
    path = tmp_path / "their.db"
    _foreign_file(path)
    before = _digest(path)
    for opener in (
        lambda: teamcrm.open(f"sqlite:///{path}"),
        lambda: teamcrm.open(f"sqlite:///{path}", create=False),
        lambda: SQLiteStore(f"sqlite:///{path}"),
    ):
        with pytest.raises(ForeignDatabaseError) as info:
            opener()
        assert isinstance(info.value, StoreError)
        assert str(path) in str(info.value)
        assert "teamcrm_migrations" in str(info.value)
    assert _digest(path) == before
    assert not Path(f"{path}-wal").exists()
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    conn.close()
    assert names == ["invoices"]


def test_sqlite_refuses_a_file_with_another_application_id(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")  # another application's, no table yet
    conn.close()
    before = _digest(path)
    with pytest.raises(ForeignDatabaseError, match="application_id is 0x000004d2"):
        teamcrm.open(f"sqlite:///{path}")
    assert _digest(path) == before


def test_sqlite_new_file_gets_the_application_id_and_old_teamcrm_files_still_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "team.db"
    with teamcrm.open(f"sqlite:///{path}") as crm:
        _team, admin = crm.create_team("Acme", admin_name="Ana")
        bea = crm.as_member(admin.id).create_contact("Bea")
    assert _header(path) == (APPLICATION_ID, len(registered_migrations()))
    # A file made by an earlier release: teamcrm's tables, no application id.
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0")
    conn.execute("PRAGMA user_version = 0")
    conn.close()
    with teamcrm.open(f"sqlite:///{path}", create=False) as crm:
        assert crm.as_member(admin.id).contact(bea.id).display_name == "Bea"
    assert _header(path) == (APPLICATION_ID, len(registered_migrations()))
    # an empty (0-byte) file is a new database
    empty = tmp_path / "empty.db"
    empty.touch()
    SQLiteStore(f"sqlite:///{empty}").close()
    assert _header(empty)[0] == APPLICATION_ID


def test_create_false_never_makes_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(MissingDatabaseError) as info:
        teamcrm.open(f"sqlite:///{missing}", create=False)
    assert str(missing) in str(info.value)
    assert not missing.exists()
    with pytest.raises(MissingDatabaseError):
        teamcrm.open_store(f"sqlite:///{tmp_path / 'nodir' / 'x.db'}", create=False)
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(MissingDatabaseError, match="empty"):
        teamcrm.open(f"sqlite:///{empty}", create=False)
    assert empty.stat().st_size == 0
    with pytest.raises(MissingDatabaseError):
        teamcrm.open("memory://", create=False)
    with pytest.raises(MissingDatabaseError):
        teamcrm.open("sqlite://", create=False)
    with pytest.raises(ValidationError) as bad:
        teamcrm.open("memory://", create="no")  # type: ignore[arg-type]
    assert bad.value.field == "create"
    # an adapter whose factory has no `create` cannot promise not to create
    teamcrm.register_store("trustprobe", lambda url: teamcrm.open_store("memory://"))
    with pytest.raises(ValidationError) as refused:
        teamcrm.open("trustprobe://x", create=False)
    assert refused.value.field == "create"
    teamcrm.open("trustprobe://x").close()
    # the default still makes a new file
    teamcrm.open(f"sqlite:///{missing}").close()
    assert missing.exists()
    teamcrm.open(f"sqlite:///{missing}", create=False).close()


def test_cli_commands_other_than_demo_never_create_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a short relative path: error messages shorten long values with "..."
    monkeypatch.chdir(tmp_path)
    missing = Path("missing.db")
    for argv in (
        ["search", "--db", f"sqlite:///{missing}", "--as", "Alice"],
        ["due", "--db", f"sqlite:///{missing}", "--as", "Alice"],
        ["search", "--db", str(missing), "--as", "Alice"],
        ["search", "--db", "memory://", "--as", "Alice"],
        ["migrate", "--from", f"sqlite:///{missing}", "--to", "postgresql://u@127.0.0.1:1/x"],
        ["export", "team", "--db", str(missing), "--team", "tm_x"],
        ["import", "team", "missing.db.jsonl", "--db", str(missing)],
    ):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("teamcrm: error:"), err
        assert "missing.db" in err or "memory://" in err, err
        assert not missing.exists(), argv


def test_cli_demo_refuses_to_replace_another_applications_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "their.db"
    _foreign_file(path)
    before = _digest(path)
    assert main(["demo", "--db", str(path)]) == 1
    err = capsys.readouterr().err
    assert "is not a teamcrm database" in err
    assert str(path) in err
    assert _digest(path) == before
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, and long enough to have a header" * 3)
    assert main(["demo", "--db", str(text)]) == 1
    assert "not a SQLite database" in capsys.readouterr().err
    assert text.read_text().startswith("not a database")
    assert main(["demo", "--db", str(tmp_path)]) == 1  # a directory
    assert "is not a file" in capsys.readouterr().err
    assert tmp_path.is_dir()


# -- item 5: SQLite -----------------------------------------------------------


def _count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize("future", [FUTURE_DDL, FUTURE_DATA], ids=["ddl", "data-only"])
def test_sqlite_store_refuses_units_after_a_newer_release_migrated(
    tmp_path: Path, future: Migration
) -> None:
    path = tmp_path / "team.db"
    old = teamcrm.open(f"sqlite:///{path}")
    try:
        _team, admin = old.create_team("Acme", admin_name="Ana")
        session = old.as_member(admin.id)
        before_id = session.create_contact("Before").id
        # A newer release opens the same file and migrates it.
        newer = SQLiteStore(f"sqlite:///{path}", migrations=[*registered_migrations(), future])
        assert newer.applied == [future.name]
        newer.close()
        contacts = _count(path, "contacts")
        with pytest.raises(SchemaVersionError, match=future.name):
            session.create_contact("After")
        with pytest.raises(SchemaVersionError):
            session.contact(before_id)  # reads too: the rules may have changed
        with pytest.raises(SchemaVersionError):  # and it keeps refusing
            session.create_contact("Again")
        assert _count(path, "contacts") == contacts
        # from another thread (its own connections) as well
        errors: list[BaseException] = []

        def other_thread() -> None:
            try:
                session.create_contact("Thread")
            except BaseException as exc:  # collected for the assertion
                errors.append(exc)

        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        assert len(errors) == 1
        assert isinstance(errors[0], SchemaVersionError)
        assert _count(path, "contacts") == contacts
    finally:
        old.close()


def test_sqlite_store_notices_raw_ddl_and_a_row_of_a_newer_release(tmp_path: Path) -> None:
    """Without going through ``migrate``: a DDL plus a row moves ``schema_version``."""
    path = tmp_path / "team.db"
    store = SQLiteStore(f"sqlite:///{path}")
    try:
        with store.unit_of_work() as uow:
            uow.commit()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ALTER TABLE contacts ADD COLUMN future_flag INTEGER")
        conn.execute(
            f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES ('9997_flag', 'now')"
        )
        conn.execute("COMMIT")
        conn.close()
        with pytest.raises(SchemaVersionError, match="9997_flag"), store.unit_of_work():
            pass  # pragma: no cover - refused on entering
    finally:
        store.close()


def test_sqlite_store_refuses_an_unknown_migration_but_not_known_changes(tmp_path: Path) -> None:
    """An older store refuses; a moved stamp with only known migrations is accepted."""
    path = tmp_path / "team.db"
    known = registered_migrations()
    old = SQLiteStore(f"sqlite:///{path}", migrations=known[:-1])
    try:
        SQLiteStore(f"sqlite:///{path}", migrations=known).close()  # same release + 1
        with pytest.raises(SchemaVersionError), old.unit_of_work():
            pass  # pragma: no cover
        full = SQLiteStore(f"sqlite:///{path}")
        try:
            SQLiteStore(f"sqlite:///{path}").close()
            conn = sqlite3.connect(path)
            conn.execute("CREATE INDEX later_index ON contacts (team_id, status)")
            conn.close()
            for _ in range(2):
                with full.unit_of_work() as uow:
                    assert applied_migrations(uow.context.conn) == [m.name for m in known]
                    uow.commit()
        finally:
            full.close()
    finally:
        old.close()


# -- items 4 and 5: PostgreSQL ------------------------------------------------


@pytest.fixture
def pg_schemas() -> Iterator[pg_support.Schemas]:
    with pg_support.schemas() as made:
        yield made


def _relations(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v') ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def test_postgres_refuses_a_schema_with_another_applications_tables(
    pg_schemas: pg_support.Schemas,
) -> None:
    url = pg_schemas.fresh()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id SERIAL PRIMARY KEY, total NUMERIC)")
        conn.execute("INSERT INTO invoices (total) VALUES (9.5)")
    for create in (True, False):
        with pytest.raises(ForeignDatabaseError) as info:
            teamcrm.open(url, create=create)
        assert "teamcrm_t_" in str(info.value)  # names the schema
        assert _relations(url) == ["invoices"]  # nothing added


def test_postgres_create_false_refuses_an_empty_schema(pg_schemas: pg_support.Schemas) -> None:
    url = pg_schemas.fresh()
    with pytest.raises(MissingDatabaseError, match="empty"):
        teamcrm.open(url, create=False)
    assert _relations(url) == []
    teamcrm.open(url).close()  # the default makes the tables
    teamcrm.open(url, create=False).close()
    assert MIGRATIONS_TABLE in _relations(url)


def test_postgres_store_refuses_units_after_a_newer_release_migrated(
    pg_schemas: pg_support.Schemas,
) -> None:
    from teamcrm.adapters.postgres import PostgresStore

    url = pg_schemas.fresh()
    old = teamcrm.open(url)
    try:
        _team, admin = old.create_team("Acme", admin_name="Ana")
        session = old.as_member(admin.id)
        before_id = session.create_contact("Before").id
        newer = PostgresStore(url, migrations=[*registered_migrations(), FUTURE_DDL])
        assert newer.applied == [FUTURE_DDL.name]
        newer.close()
        with psycopg.connect(url, autocommit=True) as conn:
            before = conn.execute("SELECT count(*) FROM contacts").fetchone()
        with pytest.raises(SchemaVersionError, match=FUTURE_DDL.name):
            session.create_contact("After")
        with pytest.raises(SchemaVersionError):
            session.contact(before_id)
        with psycopg.connect(url, autocommit=True) as conn:
            after = conn.execute("SELECT count(*) FROM contacts").fetchone()
        assert before == after == (1,)
    finally:
        old.close()


def test_paths_and_percent_encoded_urls_name_the_same_file(tmp_path: Path) -> None:
    # Issue 18: `sqlite:///my%20team.db` used to create a file literally named so.
    spaced = tmp_path / "my team.db"
    with teamcrm.open(spaced) as crm:  # a pathlib.Path
        crm.create_team("Spaces", admin_name="Ana")
    assert spaced.is_file()
    assert not list(tmp_path.glob("*%20*"))
    encoded = "sqlite:///" + str(spaced).replace(" ", "%20")
    with teamcrm.open(encoded, create=False) as crm, crm.store.unit_of_work(write=False) as uow:
        assert uow.views.members_named("Ana")
    odd = tmp_path / "50%?#.db"
    with teamcrm.open(odd) as crm:
        crm.create_team("Odd", admin_name="Bo")
    assert odd.is_file()
    assert teamcrm.opener.sqlite_url("my team.db") == "sqlite:///my%20team.db"
