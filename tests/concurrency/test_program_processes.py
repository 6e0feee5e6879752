"""Programs' runner across real OS processes, on one SQLite file and on PostgreSQL.

* 4 worker processes run the same due steps at once: every step is executed
  (committed) exactly once - one task and one bucket placement per contact,
  one ``program.step_ran`` event per step - and every run completes.
* A worker killed in the middle of a step (after its claim, before its
  commit) leaves nothing half-done; once its lease expires another worker
  claims the run and finishes it, exactly once.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import teamcrm
from race_support import STORES, run_workers, store_url
from teamcrm import EventName, MemorySender, Step, Trigger
from teamcrm.service.reactions import Occasion

WORKERS = 4
CONTACTS = 120


def _setup(url: str) -> tuple[str, str, str, str, list[str]]:
    """Susan's program (personal bucket -> team bucket, then a task); contacts enrolled."""
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    susan = crm.as_member(ana.add_member("Susan").id)
    shared = ana.create_bucket("Susan's Customers")
    ana.grant_access(shared.id, susan.member_id, level="editor")
    mine = susan.create_bucket("Mine", personal=True)
    program = susan.create_program(
        "Share",
        Trigger(kind="bucket_entered", bucket_id=mine.id),
        [
            Step(kind="add_to_bucket", bucket_id=shared.id),
            Step(kind="send_email", subject="Hi {{ contact.first_name }}", body="Hello"),
            Step(kind="create_task", days=1),
        ],
    )
    drafts = [{"first_name": f"C{i}", "emails": [f"c{i}@example.com"]} for i in range(CONTACTS)]
    contacts = [c.id for c in susan.create_contacts(drafts)]
    susan.add_to_bucket(mine.id, contacts)
    assert susan.program_report(program.id).active == CONTACTS
    crm.close()
    return str(admin.id), str(susan.member_id), str(shared.id), str(program.id), list(contacts)


def _worker(url: str, susan_id: str, program_id: str, barrier: Any) -> dict[str, int]:
    crm = teamcrm.open(url)
    susan = crm.as_member(susan_id)
    barrier.wait(60)
    totals: Counter[str] = Counter()
    sender = MemorySender()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        report = crm.run_programs(limit=5, lease=timedelta(seconds=60), sender=sender)
        totals.update(ran=report.ran, claimed=report.claimed, lost=report.lost)
        assert report.failures == (), report.failures
        if report.claimed == 0 and susan.program_report(teamcrm.ProgramId(program_id)).active == 0:
            break
    crm.close()
    totals["sent"] = len(sender.sent)
    return dict(totals)


def _check_exactly_once(url: str, admin_id: str, shared_id: str, program_id: str, n: int) -> None:
    crm = teamcrm.open(url)
    ana = crm.as_member(admin_id)
    report = ana.program_report(teamcrm.ProgramId(program_id))
    assert (report.enrolled, report.completed, report.active, report.failed) == (n, n, 0, 0)
    tasks = [t for m in ana.members() for t in ana.tasks(m.id)]
    assert len(tasks) == n
    assert len({t.contact_id for t in tasks}) == n
    assert len(ana.bucket_items(shared_id)) == n  # type: ignore[arg-type]
    ran = [m for m in ana.events() if m.event.name is EventName.PROGRAM_STEP_RAN]
    steps = Counter((m.event.subject_id, m.event.data["step"]) for m in ran)
    assert len(steps) == 3 * n
    assert set(steps.values()) == {1}
    for contact_id in {t.contact_id for t in tasks}:  # one logged email each
        assert len(ana.interactions_for_contact(contact_id)) == 1
    crm.close()


@pytest.mark.parametrize("kind", STORES)
def test_four_workers_execute_every_step_exactly_once(kind: str, tmp_path: Path) -> None:
    with store_url(kind, tmp_path) as url:
        admin_id, susan_id, shared_id, program_id, _ = _setup(url)
        results = run_workers([(_worker, (url, susan_id, program_id))] * WORKERS)
        assert sum(r.get("ran", 0) for r in results) == 3 * CONTACTS
        assert sum(r.get("sent", 0) for r in results) == CONTACTS  # one email per contact
        _check_exactly_once(url, admin_id, shared_id, program_id, CONTACTS)


def _hanging_worker(url: str, shared_id: str, started: Any, results: Any) -> None:
    """Run programs, hanging inside the add-to-bucket step's unit until killed."""
    try:
        crm = teamcrm.open(url)

        def hang(occasion: Occasion) -> None:
            if occasion.event.subject_id == shared_id:
                started.set()
                time.sleep(600)

        crm.reactions.add(EventName.BUCKET_ITEMS_ADDED, "test", "hang", hang)
        crm.run_programs(limit=1, lease=timedelta(seconds=2))
        results.put("finished")  # pragma: no cover - it is killed first
    except BaseException:  # pragma: no cover - shown in the test's output
        traceback.print_exc()
        results.put("error")


@pytest.mark.parametrize("kind", STORES)
def test_a_killed_workers_lease_expires_and_another_worker_finishes(
    kind: str, tmp_path: Path
) -> None:
    with store_url(kind, tmp_path) as url:
        crm = teamcrm.open(url)
        _, admin = crm.create_team("Race", admin_name="Ana")
        ana = crm.as_member(admin.id)
        shared = ana.create_bucket("Shared")
        mine = ana.create_bucket("Mine", personal=True)
        program = ana.create_program(
            "Share",
            Trigger(kind="bucket_entered", bucket_id=mine.id),
            [Step(kind="add_to_bucket", bucket_id=shared.id)],
        )
        kim = ana.create_contact("Kim")
        ana.add_to_bucket(mine.id, kim.id)
        ctx = mp.get_context("spawn")
        started, results = ctx.Event(), ctx.Queue()
        proc = ctx.Process(target=_hanging_worker, args=(url, shared.id, started, results))
        proc.start()
        try:
            assert started.wait(120), "the worker never reached the step"
        finally:
            os.kill(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
            proc.join(60)
        assert proc.exitcode == -signal.SIGKILL
        assert results.empty()
        # Nothing of the killed step was committed; its lease still holds for a moment.
        assert ana.bucket_items(shared.id) == []
        later = datetime.now(UTC) + timedelta(seconds=5)
        crm.run_programs(later, worker="survivor")
        report = ana.program_report(program.id)
        assert (report.completed, report.active, report.failed) == (1, 0, 0)
        assert [m.item_id for m in ana.bucket_items(shared.id)] == [kim.id]
        ran = [m for m in ana.events() if m.event.name is EventName.PROGRAM_STEP_RAN]
        assert len(ran) == 1
        crm.close()
