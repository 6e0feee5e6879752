"""A repository declared once (``RepositorySpec``) works on every store.

Everything a brand-new repository needs is in this file, in two places:

1. the declaration: its protocol, a memory and a SQL implementation, and the
   :class:`~teamcrm.RepositorySpec` naming them with the memory table it owns
   and the migration that creates its SQL table;
2. the registration: ``store.register_repository(NOTES)`` (one store) or
   ``teamcrm.register_repository(NOTES)`` (every store opened later).

Nothing in teamcrm is edited: the memory, SQLite and PostgreSQL stores derive
the unit-of-work attribute, the memory tables (and their rollback), the SQL
wiring and the migration from the spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

import pg_support
import teamcrm
from teamcrm.adapters.memory import MemoryStore
from teamcrm.adapters.memory.tables import MemoryTables
from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.migrations import Migration
from teamcrm.adapters.sqlite import SQLiteStore
from teamcrm.errors import StoreError, ValidationError
from teamcrm.ids import new_team_id
from teamcrm.ports import Store
from teamcrm.repositories import RepositorySpec, registered_repositories


# ---------------------------------------------------------------- 1. the declaration
class NoteRepository(Protocol):
    """Short notes of a team (the port)."""

    def add(self, team_id: str, note_id: str, text: str) -> None:
        """Store a note (``AlreadyExists`` for a taken id)."""
        ...

    def texts(self, team_id: str) -> list[str]:
        """The team's notes, by id."""
        ...


class MemoryNotes:
    """Notes in the memory store's journalled table ``spec_notes``."""

    def __init__(self, tables: MemoryTables) -> None:
        self._t = tables.table("spec_notes")

    def add(self, team_id: str, note_id: str, text: str) -> None:
        if note_id in self._t:
            raise teamcrm.AlreadyExists("note", note_id)
        self._t.put(note_id, (team_id, text))

    def texts(self, team_id: str) -> list[str]:
        rows = sorted((k, v) for k, v in self._t.rows.items() if v[0] == team_id)
        return [text for _, (_, text) in rows]


class SQLNotes(SQLRepository):
    """Notes in the SQL table ``spec_notes`` (the same class on SQLite and PostgreSQL)."""

    kind = "note"
    table = "spec_notes"

    def add(self, team_id: str, note_id: str, text: str) -> None:
        self._insert(
            note_id,
            "INSERT INTO spec_notes (id, team_id, text) VALUES (?, ?, ?)",
            (note_id, team_id, text),
        )

    @translated
    def texts(self, team_id: str) -> list[str]:
        cur = self._conn.execute(
            "SELECT text FROM spec_notes WHERE team_id = ? ORDER BY id", (team_id,)
        )
        return [str(row[0]) for row in cur.fetchall()]


NOTES: RepositorySpec[NoteRepository] = RepositorySpec(
    name="spec_notes",
    protocol=NoteRepository,
    memory=MemoryNotes,
    sql=SQLNotes,
    tables=("spec_notes",),
    migrations=(
        Migration(
            name="9300_spec_notes",
            build=lambda d: (
                f"CREATE TABLE spec_notes (id {d.text} PRIMARY KEY, team_id {d.text} NOT NULL,"
                f" text {d.text} NOT NULL{d.table_end()}",
            ),
        ),
    ),
)


# -------------------------------------------------------------- a use-case-like unit
class Boom(Exception):
    """Raised inside a unit to make it fail."""


def add_notes(store: Store, team_id: str, notes: dict[str, str], *, fail: bool = False) -> None:
    """Add *notes* (id: text) in one unit; *fail* raises before the commit."""
    with store.unit_of_work() as uow:
        repo = teamcrm.repository(uow, NOTES)  # typed: a NoteRepository
        for note_id, text in notes.items():
            repo.add(team_id, note_id, text)
        uow.collect()  # events would go to the outbox with the notes
        if fail:
            raise Boom
        uow.commit()


def notes_of(store: Store, team_id: str) -> list[str]:
    with store.unit_of_work(write=False) as uow:
        return teamcrm.repository(uow, NOTES).texts(team_id)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """Two stores of one kind on separate databases (PostgreSQL: fresh schemas)."""
    kind = request.param
    if kind == "memory":
        yield MemoryStore(), MemoryStore()
        return
    if kind == "sqlite":
        one, other = SQLiteStore(f"sqlite:///{tmp_path / 'one.db'}"), SQLiteStore("sqlite://")
        yield one, other
        one.close()
        other.close()
        return
    from teamcrm.adapters.postgres import PostgresStore

    # Fresh schemas: a schema recording 9300_spec_notes must not be reused by other tests.
    with pg_support.schemas() as made:
        first, second = PostgresStore(made.fresh()), PostgresStore(made.fresh())
        try:
            yield first, second
        finally:
            first.close()
            second.close()


# ------------------------------------------------------------------------ the tests
def test_a_new_repository_declared_once_commits_and_rolls_back_on_every_store(
    stores: tuple[Any, Any],
) -> None:
    store, other = stores
    store.register_repository(NOTES)  # 2. the registration
    assert store.repositories["spec_notes"] in (NOTES, SQLNotes)
    team_id, elsewhere = new_team_id(), new_team_id()
    add_notes(store, team_id, {"n1": "kept", "n2": "kept too"})
    with pytest.raises(Boom):
        add_notes(store, team_id, {"n3": "rolled back"}, fail=True)
    with pytest.raises(teamcrm.AlreadyExists):  # the store's error, translated
        add_notes(store, team_id, {"n4": "rolled back too", "n1": "taken"})
    add_notes(store, elsewhere, {"n5": "another team"})
    assert notes_of(store, team_id) == ["kept", "kept too"]
    assert notes_of(store, elsewhere) == ["another team"]
    with store.unit_of_work(write=False) as uow:
        assert uow.repository(NOTES) is uow.spec_notes  # the method and the attribute
    # Registered on one store only: the other store's units do not have it.
    assert "spec_notes" not in other.repositories
    with other.unit_of_work(write=False) as uow:
        assert not hasattr(uow, "spec_notes")
        with pytest.raises(ValidationError, match="spec_notes"):
            teamcrm.repository(uow, NOTES)
    assert "spec_notes" not in registered_repositories()


def test_a_default_spec_reaches_stores_opened_later(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import teamcrm.repositories as module

    monkeypatch.setattr(module, "_DEFAULTS", dict(module._DEFAULTS))
    before = MemoryStore()
    teamcrm.register_repository(NOTES)
    teamcrm.register_repository(NOTES)  # the same spec again: nothing changes
    team_id = new_team_id()
    for store in (MemoryStore(), SQLiteStore(f"sqlite:///{tmp_path / 'later.db'}")):
        add_notes(store, team_id, {"n1": "hello"})
        assert notes_of(store, team_id) == ["hello"]
        store.close()
    assert "spec_notes" not in before.repositories
    # A database that records the spec's migration is opened with the spec registered
    # (as any migration of the release); without it, it looks like a newer release's.
    monkeypatch.setattr(module, "_DEFAULTS", {})
    with pytest.raises(teamcrm.SchemaVersionError, match="9300_spec_notes"):
        SQLiteStore(f"sqlite:///{tmp_path / 'later.db'}")


def test_the_declaration_is_checked() -> None:
    with pytest.raises(ValidationError, match=r"RepositorySpec\.name"):
        RepositorySpec(name="not a name", protocol=NoteRepository)
    with pytest.raises(ValidationError, match="commit"):
        RepositorySpec(name="commit", protocol=NoteRepository)
    with pytest.raises(ValidationError, match="twice"):
        RepositorySpec(name="x", protocol=NoteRepository, tables=("a", "a"))
    store = MemoryStore()
    with pytest.raises(ValidationError, match="built-in"):  # core names stay the core's
        store.register_repository(
            RepositorySpec(name="contacts", protocol=object, memory=MemoryNotes)
        )
    with pytest.raises(ValidationError, match="memory"):  # nothing to build it with
        store.register_repository(RepositorySpec(name="sql_only", protocol=object, sql=SQLNotes))
    store.register_repository(NOTES)
    store.register_repository(NOTES)  # the same spec again: nothing changes
    twin = RepositorySpec(
        name="spec_notes", protocol=NoteRepository, memory=MemoryNotes, tables=("spec_notes",)
    )
    with pytest.raises(ValidationError, match="replace=True"):
        store.register_repository(twin)
    thief = RepositorySpec(
        name="thief", protocol=NoteRepository, memory=MemoryNotes, tables=("spec_notes",)
    )
    with pytest.raises(ValidationError, match="already belongs"):
        store.register_repository(thief)
    store.register_repository(twin, replace=True)
    assert store.repositories["spec_notes"] is twin
    with store.unit_of_work(), pytest.raises(StoreError, match="between units"):
        store.register_repository(
            RepositorySpec(name="late", protocol=NoteRepository, memory=MemoryNotes)
        )
    sqlite = SQLiteStore("sqlite://")
    with pytest.raises(ValidationError, match="no SQL"):
        sqlite.register_repository(
            RepositorySpec(name="memory_only", protocol=NoteRepository, memory=MemoryNotes)
        )
    sqlite.register_repository("legacy", SQLNotes)  # the older form still works
    with pytest.raises(ValidationError, match="already a repository"):
        sqlite.register_repository(RepositorySpec(name="legacy", protocol=object, sql=SQLNotes))
    sqlite.close()


def test_a_crm_store_takes_a_spec_through_the_typed_function() -> None:
    with teamcrm.open("memory://") as crm:
        teamcrm.register_repository(NOTES, store=crm.store)  # crm.store is a ports.Store
        add_notes(crm.store, "tm_1", {"n1": "x"})
        assert notes_of(crm.store, "tm_1") == ["x"]
    assert "spec_notes" not in registered_repositories()
    with pytest.raises(StoreError, match="does not take repositories"):
        teamcrm.register_repository(NOTES, store=object())


def test_memory_rollback_covers_the_spec_tables() -> None:
    store = MemoryStore()
    store.register_repository(NOTES)
    assert any(t is store._spec_tables["spec_notes"]["spec_notes"] for t in store._tables())


# ------------------------------------------------- references by name, append-only logs
class MemoryNoteLog:
    """Notes as an append-only memory log per team (``MemoryTables.log``)."""

    def __init__(self, tables: MemoryTables) -> None:
        self._log = tables.log("spec_note_log")

    def add(self, team_id: str, note_id: str, text: str) -> None:
        self._log.append(team_id, text)

    def texts(self, team_id: str) -> list[str]:
        return list(self._log.rows.get(team_id, []))


def test_a_spec_may_name_its_implementations_module_colon_attribute() -> None:
    """``"module:attribute"`` is imported when the store builds the repository."""
    by_name: RepositorySpec[NoteRepository] = RepositorySpec(
        name="spec_named",
        protocol=NoteRepository,
        memory="test_repository_specs:MemoryNoteLog",
        sql="test_repository_specs:SQLNotes",
        logs=("spec_note_log",),
        migrations=NOTES.migrations,
    )
    team = new_team_id()
    memory = MemoryStore()
    memory.register_repository(by_name)
    add_notes_with(memory, by_name, team, ["kept"])
    with pytest.raises(Boom):
        add_notes_with(memory, by_name, team, ["undone"], fail=True)
    with memory.unit_of_work(write=False) as uow:
        assert teamcrm.repository(uow, by_name).texts(team) == ["kept"]  # the append undone
    sqlite = SQLiteStore("sqlite://")
    try:
        sqlite.register_repository(by_name)
        with sqlite.unit_of_work(write=False) as uow:
            assert type(teamcrm.repository(uow, by_name)) is SQLNotes
    finally:
        sqlite.close()


def add_notes_with(
    store: Store,
    spec: RepositorySpec[NoteRepository],
    team: str,
    texts: list[str],
    *,
    fail: bool = False,
) -> None:
    with store.unit_of_work() as uow:
        for n, text in enumerate(texts):
            teamcrm.repository(uow, spec).add(team, f"n{n}", text)
        if fail:
            raise Boom
        uow.commit()


def test_a_reference_that_does_not_import_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match=r"RepositorySpec\.sql"):
        RepositorySpec(name="spec_bad", protocol=object, sql="no_colon_here")
    missing = RepositorySpec(name="spec_bad", protocol=object, memory="teamcrm:NoSuchThing")
    with pytest.raises(StoreError, match="teamcrm:NoSuchThing"):
        MemoryStore().register_repository(missing)
    with pytest.raises(ValidationError, match=r"RepositorySpec\.tables"):
        RepositorySpec(name="spec_bad", protocol=object, tables=("t",), logs=("t",))
