"""The ``follow_up_overdue`` scan in 4 real processes at once, on one SQLite file and PostgreSQL.

Every worker scans the same overdue contacts again and again (the program
re-enrols ``after_finished``, and each run finishes at once): each contact
is still enrolled exactly once in its overdue episode - the batch's unit
locks the team, so no worker misses a run another has just started and
finished.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import teamcrm
from race_support import STORES, run_workers, store_url
from teamcrm import Step, Trigger

WORKERS = 4
CONTACTS = 40
PASSES = 6


def _setup(url: str) -> tuple[str, str, str]:
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    susan = crm.as_member(ana.add_member("Susan").id)
    mine = susan.create_bucket("Mine", personal=True)
    susan.create_follow_up_policy(mine.id, "1 day")
    program = susan.create_program(
        "Overdue",
        Trigger(kind="follow_up_overdue", days=2),
        [Step(kind="notify", text="late")],
        re_enrol="after_finished",
    )
    contacts = susan.create_contacts([{"first_name": f"C{i}"} for i in range(CONTACTS)])
    susan.add_to_bucket(mine.id, [c.id for c in contacts])
    when = crm.now() + timedelta(days=5)
    crm.close()
    return str(susan.member_id), str(program.id), when.isoformat()


def _worker(url: str, when: str, barrier: Any) -> int:
    crm = teamcrm.open(url)
    at = datetime.fromisoformat(when)
    barrier.wait(60)
    enrolled = 0
    for _ in range(PASSES):
        report = crm.run_programs(at, limit=10)
        assert report.failures == (), report.failures
        enrolled += report.enrolled
    crm.close()
    return enrolled


@pytest.mark.parametrize("kind", STORES)
def test_four_workers_enrol_each_overdue_contact_once(kind: str, tmp_path: Path) -> None:
    with store_url(kind, tmp_path) as url:
        susan_id, program_id, when = _setup(url)
        results = run_workers([(_worker, (url, when))] * WORKERS)
        assert sum(results) == CONTACTS
        with teamcrm.open(url) as crm:
            susan = crm.as_member(teamcrm.MemberId(susan_id))
            report = susan.program_report(teamcrm.ProgramId(program_id))
            assert (report.enrolled, report.failed) == (CONTACTS, 0)
            assert report.completed + report.active == CONTACTS
            assert len(susan.notifications(limit=1000)) == report.completed
