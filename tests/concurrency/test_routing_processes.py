"""Routing races between real OS processes on one SQLite file.

* 8 processes add 4,000 contacts (one unit of work per contact) to the source
  bucket of one round-robin pool of 5 members: every lead gets exactly one
  owner, and per-member counts differ by at most one (the cursor is read and
  advanced inside each unit, so no turn is handed out twice).
* 8 processes (8 members) race to accept the same 200 first-to-accept
  leads: each lead has exactly one winner; every loser gets ``OfferClosed``.
* 4 processes run the offer-expiry job at once: each offer is expired (and
  notified) exactly once.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import teamcrm
from teamcrm.lead import LeadStatus, OfferStatus
from teamcrm.notification import NotificationKind

PROCESSES = 8
LEADS = 4_000
MEMBERS = 5
OFFERED = 200


def _context() -> Any:
    return mp.get_context("spawn")


def _route_worker(
    url: str, member_id: str, bucket_id: str, contact_ids: list[str], start: Any, results: Any
) -> None:
    try:
        crm = teamcrm.open(url)
        session = crm.as_member(member_id)
        start.wait(60)
        for cid in contact_ids:
            session.add_to_bucket(bucket_id, cid)
        crm.close()
        results.put(("ok", len(contact_ids)))
    except BaseException as exc:
        traceback.print_exc()
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def _run(target: Any, args_list: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
    ctx = _context()
    results = ctx.Queue()
    start = ctx.Event()
    procs = [ctx.Process(target=target, args=(*args, start, results)) for args in args_list]
    for p in procs:
        p.start()
    start.set()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return out


def test_round_robin_across_processes_gives_each_lead_one_owner_evenly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'routing.db'}"
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    members = [ana.add_member(f"M{i}", role="agent").id for i in range(MEMBERS)]
    bucket = ana.create_bucket("Web leads")
    pool = ana.create_pool(
        "Web", source_bucket_ids=[bucket.id], member_ids=members, method="round_robin"
    )
    contacts = [c.id for c in ana.create_contacts([{"first_name": f"C{i}"} for i in range(LEADS)])]
    chunks = [contacts[i::PROCESSES] for i in range(PROCESSES)]
    results = _run(_route_worker, [(url, admin.id, bucket.id, chunk) for chunk in chunks])
    assert [r[0] for r in results] == ["ok"] * PROCESSES, results

    leads = ana.leads(pool_id=pool.id)
    assert len(leads) == LEADS
    assert len({ld.contact_id for ld in leads}) == LEADS
    assert all(ld.status is LeadStatus.ASSIGNED and len(ld.assignee_ids) == 1 for ld in leads)
    counts = Counter(ld.assignee_ids[0] for ld in leads)
    assert set(counts) == set(members)
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    crm.close()


def _accept_worker(url: str, member_id: str, lead_ids: list[str], start: Any, results: Any) -> None:
    try:
        crm = teamcrm.open(url)
        session = crm.as_member(member_id)
        mine = {o.lead_id: o.id for o in session.offers(status=None)}
        start.wait(60)
        won: list[str] = []
        closed: Counter[str] = Counter()
        for lead_id in lead_ids:
            try:
                session.accept_offer(mine[lead_id])
                won.append(lead_id)
            except teamcrm.OfferClosed as exc:
                closed[exc.reason] += 1
        crm.close()
        results.put(("ok", (won, closed)))
    except BaseException as exc:
        traceback.print_exc()
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_racing_acceptances_have_exactly_one_winner_each(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'offers.db'}"
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    members = [ana.add_member(f"M{i}", role="agent").id for i in range(PROCESSES)]
    bucket = ana.create_bucket("Hot leads")
    ana.create_pool(
        "Hot", source_bucket_ids=[bucket.id], member_ids=members, method="first_to_accept"
    )
    ana.create_contacts([{"first_name": f"C{i}"} for i in range(OFFERED)], bucket_id=bucket.id)
    lead_ids = [ld.id for ld in ana.leads()]
    assert len(lead_ids) == OFFERED
    results = _run(_accept_worker, [(url, m, lead_ids) for m in members])
    assert [r[0] for r in results] == ["ok"] * PROCESSES, results

    winners: Counter[str] = Counter()
    for _, (won, closed) in results:
        winners.update(won)
        assert set(closed) <= {"taken"}
        assert len(won) + closed["taken"] == OFFERED
    assert set(winners) == set(lead_ids)
    assert set(winners.values()) == {1}
    for lead in ana.leads():
        assert lead.status is LeadStatus.ASSIGNED
        assert len(lead.assignee_ids) == 1
        statuses = Counter(o.status for o in ana.lead_offers(lead.id))
        assert statuses == {OfferStatus.ACCEPTED: 1, OfferStatus.WITHDRAWN: PROCESSES - 1}
    crm.close()


def _expire_worker(url: str, at: str, start: Any, results: Any) -> None:
    try:
        crm = teamcrm.open(url)
        start.wait(60)
        count = crm.expire_offers(datetime.fromisoformat(at))
        crm.close()
        results.put(("ok", count))
    except BaseException as exc:
        traceback.print_exc()
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_concurrent_expiry_settles_each_offer_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'expiry.db'}"
    clock = teamcrm.SettableClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    crm = teamcrm.open(url, clock=clock)
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    members = [ana.add_member(f"M{i}", role="agent").id for i in range(2)]
    bucket = ana.create_bucket("Hot leads")
    ana.create_pool(
        "Hot", source_bucket_ids=[bucket.id], member_ids=members, method="first_to_accept"
    )
    ana.create_contacts([{"first_name": f"C{i}"} for i in range(OFFERED)], bucket_id=bucket.id)
    later = (clock.now() + timedelta(hours=2)).isoformat()
    results = _run(_expire_worker, [(url, later) for _ in range(4)])
    assert [r[0] for r in results] == ["ok"] * 4, results
    assert sum(r[1] for r in results) == 2 * OFFERED
    assert all(ld.status is LeadStatus.UNASSIGNED for ld in ana.leads())
    with crm.store.unit_of_work(write=False) as uow:
        for member_id in members:
            expired = [
                n
                for n in uow.notifications.for_member(ana.team_id, member_id, limit=10_000)
                if n.kind is NotificationKind.OFFER_EXPIRED
            ]
            assert len(expired) == OFFERED
    assert crm.expire_offers(datetime.fromisoformat(later)) == 0
    crm.close()
