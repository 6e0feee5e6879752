"""Multi-assign races between two real processes, on one SQLite file and on PostgreSQL.

Each test makes ``ROUNDS`` leads offered to Bob, Cat and Dan with
``assign_to_several``; then two processes (Bob's and Cat's) accept each lead's
offer at the same moment (a barrier releases them); Dan does not answer:

* ``first_to_accept``: exactly one of them owns each lead, the other gets
  ``OfferClosed("taken")``, Dan's offer is withdrawn;
* ``all_can_accept``: both own each lead (neither acceptance is lost), Dan's
  offer stays open.

On PostgreSQL ``offers.get`` in a writing unit locks the lead, then the offer,
so the second acceptance reads the lead as the first left it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import teamcrm
from race_support import STORES, run_workers, store_url, violations
from teamcrm.lead import LeadStatus

pytestmark = pytest.mark.slow

ROUNDS = 16


def _accept_worker(url: str, member_id: str, offer_ids: list[str], barrier: Any) -> list[str]:
    """Accept each offer, one round at a time; report "won" or the reason it was closed."""
    crm = teamcrm.open(url)
    session = crm.as_member(member_id)
    outcomes: list[str] = []
    for offer_id in offer_ids:
        barrier.wait(30)
        try:
            session.accept_offer(offer_id)  # type: ignore[arg-type]
            outcomes.append("won")
        except teamcrm.OfferClosed as exc:
            outcomes.append(exc.reason)
        except teamcrm.ConcurrencyError:
            outcomes.append("conflict")
    crm.close()
    return outcomes


def _race(url: str, mode: str) -> tuple[teamcrm.MemberSession, list[str], list[list[str]]]:
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob, cat, dan = (ana.add_member(n, role="agent").id for n in ("Bob", "Cat", "Dan"))
    web = ana.create_bucket("Web")
    ana.create_pool("Web", source_bucket_ids=[web.id], member_ids=[bob, cat, dan], method="manual")
    contacts = ana.create_contacts([{"first_name": f"C{i}"} for i in range(ROUNDS)])
    ana.add_to_bucket(web.id, [c.id for c in contacts])
    leads = [ld.id for ld in ana.leads()]
    ana.assign_to_several(leads, [bob, cat, dan], mode=mode)  # Dan does not answer
    offers = {m: {o.lead_id: o.id for o in ana.offers(member_id=m)} for m in (bob, cat)}
    crm.close()
    results = run_workers(
        [
            (_accept_worker, (url, bob, [offers[bob][ld] for ld in leads])),
            (_accept_worker, (url, cat, [offers[cat][ld] for ld in leads])),
        ]
    )
    crm = teamcrm.open(url)
    return crm.as_member(admin.id), leads, results


@pytest.mark.parametrize("kind", STORES)
def test_two_members_accepting_first_to_accept_at_once_give_it_exactly_one_owner(
    kind: str, tmp_path: Path
) -> None:
    with store_url(kind, tmp_path) as url:
        ana, leads, (bob_out, cat_out) = _race(url, "first_to_accept")
        try:
            members = {m.name: m.id for m in ana.members()}
            for lead_id, pair in zip(leads, zip(bob_out, cat_out, strict=True), strict=True):
                assert sorted(pair) == ["taken", "won"], (lead_id, pair)
                lead = ana.lead(lead_id)  # type: ignore[arg-type]
                assert lead.status is LeadStatus.ASSIGNED
                winner = members["Bob" if pair[0] == "won" else "Cat"]
                assert lead.assignee_ids == (winner,)
            assert ana.offers(member_id=members["Dan"]) == []  # withdrawn
            assert violations(url) == {}
        finally:
            ana.crm.close()


@pytest.mark.parametrize("kind", STORES)
def test_two_members_accepting_all_can_accept_at_once_both_become_co_owners(
    kind: str, tmp_path: Path
) -> None:
    with store_url(kind, tmp_path) as url:
        ana, leads, (bob_out, cat_out) = _race(url, "all_can_accept")
        try:
            assert bob_out == cat_out == ["won"] * ROUNDS
            members = {m.name: m.id for m in ana.members()}
            for lead_id in leads:
                lead = ana.lead(lead_id)  # type: ignore[arg-type]
                assert lead.status is LeadStatus.ASSIGNED
                assert sorted(lead.assignee_ids) == sorted([members["Bob"], members["Cat"]])
            assert len(ana.offers(member_id=members["Dan"])) == ROUNDS  # still open
            assert violations(url) == {}
        finally:
            ana.crm.close()
