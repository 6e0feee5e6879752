"""Reliability of the SQLite store under real OS processes on one file.

* 8 processes do read-modify-write increments of one contact's counter field
  through the public API (``update_contact(..., expected_version=...)`` under
  :func:`teamcrm.retry_on_conflict`) and grant access on one shared bucket:
  no update is lost and no "database is locked" reaches the caller.
* A process killed with SIGKILL in the middle of a 100,000-contact bulk
  import leaves all of the batch or none of it, and the file passes
  ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import time
import traceback
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pytest

import teamcrm

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

PROCESSES = 8
INCREMENTS = 20
GRANTS = 3
IMPORT_SIZE = 100_000


def _context() -> Any:
    return mp.get_context("spawn")


# ---------------------------------------------------------------- no lost update
def _increment_worker(
    url: str,
    member_id: str,
    contact_id: str,
    bucket_id: str,
    grantees: list[str],
    results: Any,
) -> None:
    """Run in a child process: increments and grants through the public API."""
    conflicts = 0
    try:
        crm = teamcrm.open(url)
        session = crm.as_member(member_id)

        def bump() -> None:
            nonlocal conflicts
            current = session.contact(contact_id)
            try:
                session.update_contact(
                    contact_id,
                    expected_version=current.version,
                    custom_fields={"n": int(current.custom_fields["n"]) + 1},  # type: ignore[arg-type]
                )
            except teamcrm.ConcurrencyError:
                conflicts += 1
                raise

        for i in range(INCREMENTS):
            teamcrm.retry_on_conflict(bump, attempts=12, base_delay=0.002)
            if i < len(grantees):
                session.grant_access(bucket_id, grantees[i])
        crm.close()
        results.put(("ok", conflicts))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__module__}.{type(exc).__name__}: {exc}"))
        traceback.print_exc()


def test_eight_processes_lose_no_update_and_never_see_a_locked_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    counter = ana.create_contact("Counter", custom_fields={"n": 0})
    bucket = ana.create_bucket("Shared")
    grantees = [[ana.add_member(f"M{p}-{g}").id for g in range(GRANTS)] for p in range(PROCESSES)]

    ctx = _context()
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_increment_worker,
            args=(url, admin.id, counter.id, bucket.id, grantees[p], results),
        )
        for p in range(PROCESSES)
    ]
    started = time.monotonic()
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    elapsed = time.monotonic() - started

    errors = [detail for status, detail in outcomes if status != "ok"]
    assert errors == []
    assert all(p.exitcode == 0 for p in procs)
    final = ana.contact(counter.id)
    assert final.custom_fields["n"] == PROCESSES * INCREMENTS
    assert final.version == 1 + PROCESSES * INCREMENTS
    granted = {g.member_id for g in ana.bucket(bucket.id).grants}
    assert granted >= {m for ms in grantees for m in ms}
    conflicts = sum(int(detail) for _, detail in outcomes)
    print(f"{PROCESSES} processes, {conflicts} conflicts retried, {elapsed:.1f} s")
    crm.close()


# ------------------------------------------------------- SIGKILL mid-import
def _import_worker(url: str, member_id: str, ready: Event, done: Event) -> None:
    """Run in a child process: one 100,000-contact bulk import."""
    crm = teamcrm.open(url)
    session = crm.as_member(member_id)
    drafts = [
        {
            "first_name": f"P{i}",
            "emails": [f"p{i}@example.com"],
            "phones": [f"+1 555 {i:07d}"],
            "source": "import",
        }
        for i in range(IMPORT_SIZE)
    ]
    ready.set()
    session.create_contacts(drafts)
    done.set()
    crm.close()


def _wal_size(db: Path) -> int:
    wal = db.with_name(db.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_sigkill_during_a_bulk_import_leaves_all_or_nothing(tmp_path: Path) -> None:
    db = tmp_path / "import.db"
    url = f"sqlite:///{db}"
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    ana.create_contact("Before")
    crm.close()

    ctx = _context()
    ready, done = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_import_worker, args=(url, admin.id, ready, done))
    child.start()
    assert ready.wait(timeout=60)
    start_wal = _wal_size(db)
    deadline = time.monotonic() + 30
    # Kill once the import has visibly written pages of its transaction.
    while _wal_size(db) < start_wal + 4_000_000 and time.monotonic() < deadline:
        if done.is_set():
            break
        time.sleep(0.01)
    killed_mid_way = not done.is_set()
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL
    assert killed_mid_way, "the import finished before it could be killed"

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()

    crm = teamcrm.open(url)
    ana = crm.as_member(admin.id)
    with crm.store.unit_of_work(write=False) as uow:
        contacts = uow.contacts.all(admin.team_id)
        created = [
            m
            for m in uow.outbox.read(admin.team_id, limit=IMPORT_SIZE + 10)
            if m.event.name is teamcrm.EventName.CONTACT_CREATED
        ]
    assert len(contacts) in (1, 1 + IMPORT_SIZE)
    assert len(created) == len(contacts)  # events are all-or-none with their rows
    assert len(contacts) == 1  # killed before the commit: none of the batch
    # The file is fully usable afterwards.
    assert len(ana.create_contacts([{"first_name": "After"}])) == 1
    crm.close()
