"""An import into SQLite does work per row that does not grow with the store (issue 16).

Work is counted, not timed (as in ``tests/adapters/test_scale_queries.py``): SQLite's
progress handler counts the virtual machine instructions of every statement
the import runs (dedupe lookups, inserts and the triggers they fire,
outbox).  The same 300-row file is imported into a team of 1,000 and of
10,000 contacts.  Inserting contacts one statement per row ran the
``contact_words`` FTS5 trigger once per statement, at a cost per contact
that grew with the index (3 times as much at 30,000 contacts as at 5,000;
the 1,000,000-row import slowed to 400 rows/s); contacts are now inserted up
to 500 rows a statement.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import teamcrm
from teamcrm.adapters.sqlite.store import SQLiteStore
from teamcrm.contact import Contact, EmailAddress, PhoneNumber
from teamcrm.ids import new_contact_id
from teamcrm.service import MemberSession

SIZES = (1_000, 10_000)
ROWS = 300


def _team(path: Path, size: int) -> tuple[teamcrm.CRM, MemberSession]:
    crm = teamcrm.open(f"sqlite:///{path}")
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    now = crm.clock.now()
    contacts = [
        Contact(
            id=new_contact_id(),
            team_id=ana.team_id,
            created_at=now - timedelta(seconds=size - i),
            status="evaluate",
            first_name=f"First{i}",
            last_name=f"Last{i % 997}",
            emails=(EmailAddress(address=f"stored{i}@example.com"),),
            phones=(PhoneNumber(number=f"+1617{i:07d}"),),
            custom_fields={"batch": i % 10},
            created_by=admin.id,
        )
        for i in range(size)
    ]
    with crm.store.unit_of_work() as uow:
        for start in range(0, size, 1_000):
            uow.contacts.add_many(contacts[start : start + 1_000])
        uow.commit()
    return crm, ana


def _csv(tag: str) -> io.StringIO:
    """New contacts (emails and phones unique to *tag*)."""
    area = {"w": 212, "x": 213, "y": 214, "z": 215}[tag]
    rows = "".join(
        f"New{i}{tag},Person{i % 97},new{i}{tag}@example.com,"
        f"+1 {area} 555 {i:04d},import,{i % 10}\n"
        for i in range(ROWS)
    )
    return io.StringIO("first_name,last_name,email,phone,source,batch\n" + rows)


def _work(store: SQLiteStore, warm: Callable[[], object], call: Callable[[], object]) -> int:
    """VM instructions SQLite runs for *call* (on the store's connections)."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    warm()  # opens this thread's connection
    conns = list(store._conns)
    for conn in conns:
        conn.set_progress_handler(count, 1)
    try:
        call()
    finally:
        for conn in conns:
            conn.set_progress_handler(None, 1)
    return steps[0]


def _calls(ana: MemberSession) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    mapping: dict[str | int, str | None] = {"batch": "custom:batch"}
    drafts = [
        {"first_name": f"Made{i}", "last_name": f"Person{i % 97}", "source": "api"}
        for i in range(ROWS)
    ]
    return {
        "import_contacts": (
            lambda: ana.import_contacts(_csv("w"), mapping=mapping),
            lambda: ana.import_contacts(_csv("x"), mapping=mapping),
        ),
        "import_contacts_skip_bad_rows": (
            lambda: ana.import_contacts(_csv("y"), mapping=mapping, mode="skip_bad_rows"),
            lambda: ana.import_contacts(_csv("z"), mapping=mapping, mode="skip_bad_rows"),
        ),
        "create_contacts": (
            lambda: ana.create_contacts(drafts[:1]),
            lambda: ana.create_contacts(drafts),
        ),
    }


def test_import_work_per_row_does_not_grow_with_the_store(tmp_path: Path) -> None:
    work: dict[str, list[int]] = {}
    for size in SIZES:
        crm, ana = _team(tmp_path / f"crm{size}.db", size)
        store = crm.store
        assert isinstance(store, SQLiteStore)
        for name, (warm, call) in _calls(ana).items():
            work.setdefault(name, []).append(_work(store, warm, call))
        assert len(ana.search(limit=1, email="new299z@example.com").rows) == 1
        crm.close()
    grown = {name: (small, large) for name, (small, large) in work.items() if large >= 1.3 * small}
    assert not grown, f"VM steps at {SIZES[0]} -> {SIZES[1]} contacts: {grown}"


def test_contacts_are_inserted_in_several_statements_when_the_batch_is_large(
    tmp_path: Path,
) -> None:
    """A batch larger than one statement holds (500 rows, or 83 under SQLite's old 999 limit)."""
    crm, ana = _team(tmp_path / "crm.db", 0)
    store = crm.store
    assert isinstance(store, SQLiteStore)
    ana.search(limit=1)  # opens this thread's connection
    for conn in store._conns:
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    made = ana.create_contacts(
        [
            {"first_name": f"Zed{i}", "last_name": "Quist", "custom_fields": {"n": i}}
            for i in range(1_201)
        ]
    )
    assert len(made) == 1_201
    found = ana.search(name="Zed1200", limit=5).rows
    assert [r.contact.id for r in found] == [made[-1].id]
    assert ana.contact(made[600].id).custom_fields == {"n": 600}
    with crm.store.unit_of_work(write=False) as uow:
        assert len(list(uow.contacts.all(ana.team_id))) == 1_201  # type: ignore[arg-type]
    crm.close()


def test_emails_phones_and_company_links_are_written_a_few_statements_a_batch(
    tmp_path: Path,
) -> None:
    """Not one statement per row: inside ``add_many``'s savepoint, in a transaction that
    had written already, each statement cost more as the store grew (an import's 20th
    batch of emails and phones took 6 times as long as its first, a cost the VM step
    count above does not see; see ``docs/benchmarks.md``).  Under SQLite's old limit of
    999 variables a statement holds fewer rows, and every row is still written.
    """
    crm, ana = _team(tmp_path / "crm.db", 0)
    store = crm.store
    assert isinstance(store, SQLiteStore)
    acme = ana.create_company("Acme")  # also opens this thread's connection
    statements: list[str] = []
    for conn in store._conns:
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        conn.set_trace_callback(statements.append)
    try:
        made = ana.create_contacts(
            [
                {
                    "first_name": f"Zed{i}",
                    "emails": [f"zed{i}@example.com", f"z.{i}@example.org"],
                    "phones": [f"+1 617 555 {i:04d}"],
                    "company_ids": [acme.id],
                }
                for i in range(ROWS)
            ]
        )
    finally:
        for conn in store._conns:
            conn.set_trace_callback(None)
    # The trace shows a statement again for each trigger it fires: count distinct texts
    # (with their values filled in, each statement's own).
    written = {
        table: len({s for s in statements if s.lstrip().startswith(f"INSERT INTO {table} ")})
        for table in ("contacts", "contact_emails", "contact_phones", "contact_companies")
    }
    # 600 emails of 8 columns: 124 a statement under the old limit, so 5 statements
    assert all(1 <= n <= 5 for n in written.values()), written
    for contact in (made[0], made[123], made[124], made[-1]):
        back = ana.contact(contact.id)
        assert (back.emails, back.phones, back.company_ids) == (
            contact.emails,
            contact.phones,
            (acme.id,),
        )
    crm.close()
