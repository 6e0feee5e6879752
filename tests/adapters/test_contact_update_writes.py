"""``update_contact`` writes only the child rows whose values changed (issue 17).

The service passes the version it read (``previous``) to
``ContactRepository.update``; the SQL stores then leave the emails, phones,
company links (and, on PostgreSQL, the name-index row) that did not change.
Each change below is made on every store: the tables it writes are counted
on SQLite and PostgreSQL, and the contact read back and the searches that
find it are the same everywhere (the memory store rewrites the whole entity).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import pg_support
import teamcrm
from teamcrm.service.base import bumped

CHILDREN = ("contact_emails", "contact_phones", "contact_companies", "contact_names")


class _Logging(sqlite3.Connection):
    """A SQLite connection that logs each statement it is asked to run."""

    log: ClassVar[list[str]] = []
    opened: ClassVar[list[sqlite3.Connection]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _Logging.opened.append(self)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        _Logging.log.append(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        _Logging.log.append(sql)
        return super().executemany(sql, parameters)


Opened = tuple[str, teamcrm.CRM, list[str]]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Opened]:
    """``(kind, crm, log)`` on every store: *log* collects the SQL statements it sends."""
    yield from _opened(request.param, tmp_path, monkeypatch)


@pytest.fixture(params=["sqlite", "postgres"])
def sql_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Opened]:
    """As :func:`store`, on the two SQL stores only (there is SQL to count)."""
    yield from _opened(request.param, tmp_path, monkeypatch)


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Opened]:
    """As :func:`store`, on SQLite only (its triggers' rows are counted)."""
    yield from _opened("sqlite", tmp_path, monkeypatch)


def _opened(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Opened]:
    log: list[str] = []
    if kind == "memory":
        crm = teamcrm.open("memory://")
        yield "memory", crm, log
        crm.close()
        return
    if kind == "sqlite":
        original = sqlite3.connect
        _Logging.log = log
        _Logging.opened = []
        monkeypatch.setattr(
            sqlite3, "connect", lambda *a, **k: original(*a, **{**k, "factory": _Logging})
        )
        crm = teamcrm.open(f"sqlite:///{tmp_path / 'writes.db'}")
        yield "sqlite", crm, log
        crm.close()
        return
    pg_support.require_server()
    import psycopg

    execute, executemany = psycopg.Connection.execute, psycopg.Cursor.executemany

    def logged_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        log.append(str(query))
        return execute(self, query, params, **kw)

    def logged_executemany(self: Any, query: Any, rows: Any, **kw: Any) -> Any:
        log.append(str(query))
        return executemany(self, query, rows, **kw)

    monkeypatch.setattr(psycopg.Connection, "execute", logged_execute)
    monkeypatch.setattr(psycopg.Cursor, "executemany", logged_executemany)
    with pg_support.schemas() as made:
        crm = teamcrm.open(made.new())
        yield "postgres", crm, log
        crm.close()


def _written(log: list[str]) -> set[str]:
    """The child tables (and PostgreSQL name rows) the logged statements wrote."""
    written = set()
    for sql in log:
        words = " ".join(sql.split()).split(" ")
        if words[0].upper() in ("INSERT", "DELETE"):
            written.update(t for t in CHILDREN if t in words)
    return written


def test_each_change_writes_only_its_own_rows(store: Opened) -> None:
    kind, crm, log = store
    _, admin = crm.create_team("Writes", admin_name="Ana")
    ana = crm.as_member(admin.id)
    acme, globex = ana.create_company("Acme"), ana.create_company("Globex")
    c = ana.create_contact(
        first_name="Zoe",
        last_name="Quill",
        emails=["zoe@example.com"],
        phones=["+16172000001"],
        company_ids=[acme.id],
    )
    steps: list[tuple[dict[str, Any], set[str]]] = [
        ({"status": "active"}, set()),
        ({"custom_fields": {"plan": "pro"}}, set()),
        ({"first_name": "Zora"}, {"contact_names"} if kind == "postgres" else set()),
        ({"emails": ["zora@example.com"]}, {"contact_emails"}),
        ({"phones": ["+16172000002"]}, {"contact_phones"}),
        ({"company_ids": [globex.id]}, {"contact_companies"}),
        ({"phones": ["+16172000002"], "status": "nurture"}, set()),  # the same phone again
    ]
    for changes, expected in steps:
        log.clear()
        shown = ana.update_contact(c.id, **changes)
        if kind != "memory":
            assert _written(log) == expected, (changes, log)
        assert ana.contact(c.id) == shown
    final = ana.contact(c.id)
    assert (final.first_name, final.status, final.custom_fields) == (
        "Zora",
        "nurture",
        {"plan": "pro"},
    )
    assert [e.address for e in final.emails] == ["zora@example.com"]
    assert [p.number for p in final.phones] == ["+16172000002"]
    assert final.company_ids == (globex.id,)
    # The indexes follow: the new name, address, number and company find it; the old ones do not.
    for criteria, found in (
        ({"name": "zora"}, True),
        ({"name": "zoe"}, False),
        ({"name": "zora qu"}, True),
        ({"email": "zora@example.com"}, True),
        ({"email": "zoe@example.com"}, False),
        ({"phone": "+16172000002"}, True),
        ({"phone": "+16172000001"}, False),
        ({"company_id": globex.id}, True),
        ({"company_id": acme.id}, False),
    ):
        ids = [r.contact.id for r in ana.search(**criteria)]
        assert ids == ([c.id] if found else []), (kind, criteria, ids)


def test_without_previous_every_child_row_is_rewritten(sql_store: Opened) -> None:
    """A third-party caller of the repository that passes no ``previous`` gets today's writes."""
    kind, crm, log = sql_store
    _, admin = crm.create_team("Whole", admin_name="Ana")
    ana = crm.as_member(admin.id)
    c = ana.create_contact(first_name="Zoe", last_name="Quill", emails=["zoe@example.com"])
    with crm.store.unit_of_work() as uow:  # the repository itself, as a store's caller
        stored = uow.contacts.get_for_update(c.team_id, c.id)
        log.clear()
        uow.contacts.update(bumped(stored, status="active"))
        uow.commit()
    expected = set(CHILDREN) if kind == "postgres" else set(CHILDREN) - {"contact_names"}
    # Deleted (all three) and inserted again (the email; the name row on PostgreSQL).
    assert _written(log) == expected, log
    assert ana.contact(c.id).status == "active"


def _rows_changed() -> int:
    """Rows the SQLite connections opened so far changed, their triggers' included."""
    return sum(c.total_changes for c in _Logging.opened)


#: The rows a status change of a contact with one email, phone and company
#: changes on SQLite, its triggers' and the outbox's included: the contact and
#: the event (it was 22: the children deleted and inserted again, the name's
#: FTS5 trigram row and its name words deleted and inserted again).
SQLITE_ROWS_OF_A_STATUS_CHANGE = 2


def test_a_status_change_leaves_the_sqlite_name_indexes_alone(sqlite_store: Opened) -> None:
    _, crm, _ = sqlite_store
    _, admin = crm.create_team("Rows", admin_name="Ana")
    ana = crm.as_member(admin.id)
    acme = ana.create_company("Acme")
    c = ana.create_contact(
        first_name="Zoe",
        last_name="Quill",
        emails=["zoe@example.com"],
        phones=["+16172000001"],
        company_ids=[acme.id],
    )
    before = _rows_changed()
    ana.update_contact(c.id, status="active")
    assert _rows_changed() - before == SQLITE_ROWS_OF_A_STATUS_CHANGE
    before = _rows_changed()
    ana.update_contact(c.id, last_name="Quinn")  # the name's rows do change
    assert _rows_changed() - before > SQLITE_ROWS_OF_A_STATUS_CHANGE + 2
    assert [r.contact.id for r in ana.search(name="zoe quin")] == [c.id]
    assert [r.contact.id for r in ana.search(name="quill")] == []
