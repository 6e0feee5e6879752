"""The multi-process races of the SQLite tests, on one PostgreSQL database.

* 8 processes route leads through one round-robin pool (the cursor row is
  locked from read to commit): one owner per lead, counts within one;
* 8 processes race to accept the same 200 first-to-accept leads (lead, then
  offer, locked): exactly one winner each, every loser told ``taken``;
* 4 processes expire the same offers at once (``FOR UPDATE SKIP LOCKED``):
  each settled once;
* processes expiring offers and processes sending digests at the same time:
  no notification is emailed twice, and none is lost.
"""

from __future__ import annotations

import json
import traceback
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import pg_support
import teamcrm
import test_routing_processes as races
from teamcrm.lead import LeadStatus, OfferStatus
from teamcrm.notification import NotificationKind
from test_notifications_sqlite import FileSender

pg_support.require_server()

pytestmark = pytest.mark.slow

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def url() -> Iterator[str]:
    with pg_support.schemas() as made:
        yield made.new()


def test_round_robin_across_processes_gives_each_lead_one_owner_evenly(url: str) -> None:
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    members = [ana.add_member(f"M{i}", role="agent").id for i in range(races.MEMBERS)]
    bucket = ana.create_bucket("Web leads")
    pool = ana.create_pool(
        "Web", source_bucket_ids=[bucket.id], member_ids=members, method="round_robin"
    )
    n = races.LEADS // 4
    contacts = [c.id for c in ana.create_contacts([{"first_name": f"C{i}"} for i in range(n)])]
    chunks = [contacts[i :: races.PROCESSES] for i in range(races.PROCESSES)]
    results = races._run(races._route_worker, [(url, admin.id, bucket.id, c) for c in chunks])
    assert [r[0] for r in results] == ["ok"] * races.PROCESSES, results

    leads = ana.leads(pool_id=pool.id)
    assert len(leads) == n
    assert len({ld.contact_id for ld in leads}) == n
    assert all(ld.status is LeadStatus.ASSIGNED and len(ld.assignee_ids) == 1 for ld in leads)
    counts = Counter(ld.assignee_ids[0] for ld in leads)
    assert set(counts) == set(members)
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    crm.close()


def test_racing_acceptances_have_exactly_one_winner_each(url: str) -> None:
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    members = [ana.add_member(f"M{i}", role="agent").id for i in range(races.PROCESSES)]
    bucket = ana.create_bucket("Hot leads")
    ana.create_pool(
        "Hot", source_bucket_ids=[bucket.id], member_ids=members, method="first_to_accept"
    )
    ana.create_contacts(
        [{"first_name": f"C{i}"} for i in range(races.OFFERED)], bucket_id=bucket.id
    )
    lead_ids = [ld.id for ld in ana.leads()]
    assert len(lead_ids) == races.OFFERED
    results = races._run(races._accept_worker, [(url, m, lead_ids) for m in members])
    assert [r[0] for r in results] == ["ok"] * races.PROCESSES, results

    winners: Counter[str] = Counter()
    for _, (won, closed) in results:
        winners.update(won)
        assert set(closed) <= {"taken"}
        assert len(won) + closed["taken"] == races.OFFERED
    assert set(winners) == set(lead_ids)
    assert set(winners.values()) == {1}
    for lead in ana.leads():
        assert lead.status is LeadStatus.ASSIGNED
        assert len(lead.assignee_ids) == 1
        statuses = Counter(o.status for o in ana.lead_offers(lead.id))
        assert statuses == {OfferStatus.ACCEPTED: 1, OfferStatus.WITHDRAWN: races.PROCESSES - 1}
    crm.close()


def _hot_pool(url: str, emails: bool) -> tuple[teamcrm.CRM, teamcrm.MemberSession, list[str]]:
    crm = teamcrm.open(url, clock=teamcrm.SettableClock(T0))
    _, admin = crm.create_team("Race", admin_name="Ana", admin_email="ana@example.com")
    ana = crm.as_member(admin.id)
    members = [
        ana.add_member(f"M{i}", role="agent", email=f"m{i}@example.com" if emails else None).id
        for i in range(2)
    ]
    bucket = ana.create_bucket("Hot leads")
    ana.create_pool(
        "Hot", source_bucket_ids=[bucket.id], member_ids=members, method="first_to_accept"
    )
    ana.create_contacts(
        [{"first_name": f"C{i}"} for i in range(races.OFFERED)], bucket_id=bucket.id
    )
    return crm, ana, members


def test_concurrent_expiry_settles_each_offer_once(url: str) -> None:
    crm, ana, members = _hot_pool(url, emails=False)
    later = (T0 + timedelta(hours=2)).isoformat()
    results = races._run(races._expire_worker, [(url, later) for _ in range(4)])
    assert [r[0] for r in results] == ["ok"] * 4, results
    assert sum(r[1] for r in results) == 2 * races.OFFERED
    assert all(ld.status is LeadStatus.UNASSIGNED for ld in ana.leads())
    with crm.store.unit_of_work(write=False) as uow:
        for member_id in members:
            expired = [
                n
                for n in uow.notifications.for_member(ana.team_id, member_id, limit=10_000)
                if n.kind is NotificationKind.OFFER_EXPIRED
            ]
            assert len(expired) == races.OFFERED
    assert crm.expire_offers(datetime.fromisoformat(later)) == 0
    crm.close()


def _digest_worker(url: str, out: str, at: str, start: Any, results: Any) -> None:
    try:
        when = datetime.fromisoformat(at)
        crm = teamcrm.open(url, clock=teamcrm.SettableClock(when))
        start.wait(60)
        sent = 0
        for _ in range(20):
            report = crm.send_digests(when, FileSender(out, when))
            assert report.failures == (), report.failures
            sent += report.notifications_sent
        crm.close()
        results.put(("ok", sent))
    except BaseException as exc:
        traceback.print_exc()
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_expiry_and_digests_at_once_email_each_notification_once(url: str, tmp_path: Path) -> None:
    crm, ana, _ = _hot_pool(url, emails=True)
    out = str(tmp_path / "sent.jsonl")
    later = (T0 + timedelta(hours=2)).isoformat()
    jobs: list[tuple[Any, tuple[Any, ...]]] = [
        (races._expire_worker, (url, later)),
        (races._expire_worker, (url, later)),
        (_digest_worker, (url, out, later)),
        (_digest_worker, (url, out, later)),
    ]
    ctx = races._context()
    queue = ctx.Queue()
    start = ctx.Event()
    procs = [ctx.Process(target=fn, args=(*args, start, queue)) for fn, args in jobs]
    for p in procs:
        p.start()
    start.set()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert all(r[0] == "ok" for r in results), results

    # what the racing digests left (created after their last claim) goes out an hour later
    final = T0 + timedelta(hours=3)
    crm.send_digests(final, FileSender(out, final))
    lines = [json.loads(line) for line in Path(out).read_text().splitlines()]
    counts = Counter(nid for line in lines for nid in line["ids"])
    assert counts, "nothing was emailed"
    assert max(counts.values()) == 1, [n for n, c in counts.items() if c > 1]
    with crm.store.unit_of_work(write=False) as uow:
        everyone = [m.id for m in uow.members.all(ana.team_id)]
        stored = {
            n.id: n
            for m in everyone
            for n in uow.notifications.for_member(ana.team_id, m, limit=100_000)
        }
    assert set(counts) == set(stored)
    assert all(n.emailed_at is not None for n in stored.values())
    expired = Counter(n.kind for n in stored.values())[NotificationKind.OFFER_EXPIRED]
    assert expired == 2 * races.OFFERED
    crm.close()
