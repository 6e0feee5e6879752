"""Per-record calls on SQLite do work that does not grow with the team (issue 17).

Work is counted, not timed: SQLite's progress handler counts the virtual
machine instructions a call runs.  The same calls are made as an agent on a
team of 1,000 and of 10,000 contacts held by one team bucket; a call that
scans the team (the visibility check reading every membership of the bucket)
does ten times the work on the larger team.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import teamcrm
from teamcrm.adapters.sqlite.store import SQLiteStore
from teamcrm.bucket import BucketMembership
from teamcrm.contact import Contact, EmailAddress
from teamcrm.ids import ContactId, new_contact_id
from teamcrm.service import MemberSession

SIZES = (1_000, 10_000)


def _team(path: Path, size: int) -> tuple[teamcrm.CRM, MemberSession, ContactId]:
    crm = teamcrm.open(f"sqlite:///{path}")
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob").id)
    bucket = ana.create_bucket("All")
    ana.share_with_team(bucket.id, can_view_conversations=True)
    now = crm.clock.now()
    contacts = [
        Contact(
            id=new_contact_id(),
            team_id=ana.team_id,
            created_at=now - timedelta(seconds=size - i),
            status="evaluate",
            first_name=f"Person{i}",
            emails=(EmailAddress(address=f"p{i}@example.com"),),
            created_by=admin.id,
        )
        for i in range(size)
    ]
    store = crm.store
    with store.unit_of_work() as uow:
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
    return crm, bob, contacts[size // 2].id


def _work(store: SQLiteStore, call: Callable[[], object]) -> int:
    """VM instructions SQLite runs for *call* (on the store's connections)."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    call()  # opens this thread's connection
    conns = list(store._conns)
    for conn in conns:
        conn.set_progress_handler(count, 1)
    try:
        call()
    finally:
        for conn in conns:
            conn.set_progress_handler(None, 1)
    return steps[0]


def _calls(bob: MemberSession, cid: ContactId) -> dict[str, Callable[[], object]]:
    return {
        "contact": lambda: bob.contact(cid),
        "contact_record": lambda: bob.contact_record(cid),
        "log_interaction": lambda: bob.log_interaction("note", contact_ids=[cid], body="x"),
        "search_email": lambda: bob.search(email="p7@example.com"),
    }


def test_per_record_calls_do_not_grow_with_the_team(tmp_path: Path) -> None:
    work: dict[str, list[int]] = {}
    for size in SIZES:
        crm, bob, cid = _team(tmp_path / f"crm{size}.db", size)
        store = crm.store
        assert isinstance(store, SQLiteStore)
        for name, call in _calls(bob, cid).items():
            work.setdefault(name, []).append(_work(store, call))
        crm.close()
    for name, (small, large) in work.items():
        assert large < 2 * small, f"{name}: {small} -> {large} VM steps"
