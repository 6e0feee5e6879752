"""Capacity and response windows with real OS processes on one SQLite file.

* 8 processes add 800 contacts (one unit of work each) to a ``weighted``
  pool of 5 members whose daily caps are 40, 60, 90, 0 and none: the capped
  members get exactly their caps (never one more), the opted-out member
  none, the uncapped member the rest.
* 4 processes run ``enforce_response_windows`` at once over 240 leads of
  which a third were touched in time: each untouched lead is reassigned (and
  its owner told) exactly once, touched leads stay, and a second run finds
  nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import teamcrm
from teamcrm.lead import LeadStatus
from teamcrm.notification import NotificationKind
from teamcrm.pool import Capacity
from teamcrm.service.routing import enforce_response_windows
from test_routing_processes import PROCESSES, _run

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CAPPED_LEADS = 800
WINDOW_LEADS = 240


def _route_worker(
    url: str, member_id: str, bucket_id: str, contact_ids: list[str], start: Any, results: Any
) -> None:
    try:
        crm = teamcrm.open(url, clock=teamcrm.SettableClock(START + timedelta(hours=1)))
        session = crm.as_member(member_id)
        start.wait(60)
        for cid in contact_ids:
            session.add_to_bucket(bucket_id, cid)
        crm.close()
        results.put(("ok", len(contact_ids)))
    except BaseException as exc:  # pragma: no cover - reported to the parent
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_caps_hold_with_eight_processes_routing_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'caps.db'}"
    crm = teamcrm.open(url, clock=teamcrm.SettableClock(START))
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    members = [ana.add_member(f"M{i}", role="agent").id for i in range(5)]
    caps = dict(zip(members, [40, 60, 90, 0], strict=False))
    bucket = ana.create_bucket("Web leads")
    pool = ana.create_pool(
        "Web",
        source_bucket_ids=[bucket.id],
        member_ids=members,
        method="weighted",
        weights=dict.fromkeys(members, 3),
        member_capacity={m: Capacity(per_day=c) for m, c in caps.items()},
    )
    contacts = [
        c.id for c in ana.create_contacts([{"first_name": f"C{i}"} for i in range(CAPPED_LEADS)])
    ]
    chunks = [contacts[i::PROCESSES] for i in range(PROCESSES)]
    results = _run(_route_worker, [(url, admin.id, bucket.id, chunk) for chunk in chunks])
    assert [r[0] for r in results] == ["ok"] * PROCESSES, results

    leads = ana.leads(pool_id=pool.id)
    assert len(leads) == CAPPED_LEADS
    assert all(len(ld.assignee_ids) == 1 for ld in leads)
    counts = Counter(ld.assignee_ids[0] for ld in leads)
    assert {m: counts[m] for m in caps} == caps
    assert counts[members[4]] == CAPPED_LEADS - sum(caps.values())
    crm.close()


def _enforce_worker(url: str, at: str, start: Any, results: Any) -> None:
    try:
        crm = teamcrm.open(url)
        start.wait(60)
        count = enforce_response_windows(crm, datetime.fromisoformat(at))
        crm.close()
        results.put(("ok", count))
    except BaseException as exc:  # pragma: no cover - reported to the parent
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_response_windows_are_enforced_once_by_concurrent_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'windows.db'}"
    clock = teamcrm.SettableClock(START)
    crm = teamcrm.open(url, clock=clock)
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    sessions = [crm.as_member(ana.add_member(f"M{i}", role="agent").id) for i in range(4)]
    members = [s.member_id for s in sessions]
    bucket = ana.create_bucket("Web leads")
    pool = ana.create_pool(
        "Web",
        source_bucket_ids=[bucket.id],
        member_ids=members,
        method="round_robin",
        response_window=timedelta(minutes=30),
    )
    ana.create_contacts([{"first_name": f"C{i}"} for i in range(WINDOW_LEADS)], bucket_id=bucket.id)
    clock.advance(timedelta(minutes=10))
    leads = ana.leads(pool_id=pool.id)
    touched = set()
    for lead in leads[::3]:
        owner = sessions[members.index(lead.assignee_ids[0])]
        owner.log_interaction("call", contact_ids=[lead.contact_id], outcome="connected")
        touched.add(lead.id)
    later = (START + timedelta(hours=1)).isoformat()
    results = _run(_enforce_worker, [(url, later) for _ in range(4)])
    assert [r[0] for r in results] == ["ok"] * 4, results
    assert sum(r[1] for r in results) == WINDOW_LEADS - len(touched)

    before = {ld.id: ld.assignee_ids for ld in leads}
    for lead in ana.leads(pool_id=pool.id):
        assert lead.status is LeadStatus.ASSIGNED
        assert lead.respond_by is None or lead.id not in touched
        if lead.id in touched:
            assert lead.assignee_ids == before[lead.id]
        else:
            assert lead.assignee_ids != before[lead.id]
    with crm.store.unit_of_work(write=False) as uow:
        missed: Counter[str] = Counter()
        for member_id in members:
            for n in uow.notifications.for_member(ana.team_id, member_id, limit=10_000):
                if n.kind is NotificationKind.RESPONSE_WINDOW_MISSED:
                    missed[n.subject_id] += 1
    assert set(missed) == {ld.id for ld in leads} - touched
    assert set(missed.values()) == {1}
    assert enforce_response_windows(crm, datetime.fromisoformat(later)) == 0
    crm.close()
