"""Seed 001's "Unassigned contacts": search finds the contacts nobody owns, on every store."""

from __future__ import annotations

import pytest

import teamcrm
import test_routing_service as base
from teamcrm.search import ContactQuery
from test_routing_service import World, _pool

crm = base.crm  # memory:// and sqlite:// (PostgreSQL: tests/adapters/test_postgres_services.py)
w = base.w


def _found(session: teamcrm.MemberSession, **criteria: object) -> set[str]:
    return {r.contact.id for r in session.search(**criteria, limit=500).rows}


def test_unassigned_finds_contacts_nobody_owns(w: World) -> None:
    bob = w.bob.member_id
    rr = _pool(w, "round_robin", member_ids=[bob])
    forgotten = w.ana.create_contact("Forgotten")  # entered, never assigned
    routed = w.ana.create_contact("Routed")
    w.ana.add_to_bucket(w.web.id, routed.id)  # round robin: Bob owns it
    rejected = w.ana.create_contact("Rejected")
    w.ana.add_to_bucket(w.web.id, rejected.id)
    (lead,) = [ld for ld in w.ana.leads(pool_id=rr.id) if ld.contact_id == rejected.id]
    w.ana.revoke(lead.id)  # back in the pool, waiting: nobody owns it

    unassigned = _found(w.ana, unassigned=True)
    assert forgotten.id in unassigned
    assert rejected.id in unassigned
    assert routed.id not in unassigned
    # The spelling the CLI and web forms use.
    assert _found(w.ana, assignee_id="unassigned") == unassigned
    assert _found(w.ana, assignee_id=bob) == {routed.id}
    # Combined with other criteria (AND) and saved as a filter.
    assert _found(w.ana, unassigned=True, name="forg") == {forgotten.id}
    saved = w.ana.save_filter("Unassigned", ContactQuery(unassigned=True))
    assert {r.contact.id for r in w.ana.run_filter(saved.id, limit=500).rows} == unassigned


def test_unassigned_contradicting_an_assignee_is_refused() -> None:
    with pytest.raises(teamcrm.ValidationError, match="contradicts"):
        ContactQuery(unassigned=True, assignee_id="mb_" + "0" * 26)
    with pytest.raises(teamcrm.ValidationError, match="must be a bool"):
        ContactQuery(unassigned="yes")  # type: ignore[arg-type]
    assert ContactQuery(assignee_id="unassigned").describe() == "unassigned"
