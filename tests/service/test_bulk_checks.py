"""Bulk bucket calls check their items in batches and stay bounded in memory.

``add_to_bucket``, ``add_to_buckets`` and ``move_between_buckets`` read the
named contacts ``CHECK_BATCH`` at a time, and keep them for the reactions only
up to ``KEEP_CHECKED_CONTACTS`` (issue 17: a 200,000-contact ``add_to_bucket``
held every contact at once, +270 MB; now +91 MB, see docs/benchmarks.md).
The limits are shrunk here so the batched path runs with a handful of contacts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pg_support
import teamcrm
from teamcrm.service import base


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


@pytest.fixture(params=["kept", "batched"])
def limits(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The default limits, or batches of 3 with nothing kept for the reactions."""
    if request.param == "batched":
        monkeypatch.setattr(base, "CHECK_BATCH", 3)
        monkeypatch.setattr(base, "KEEP_CHECKED_CONTACTS", 4)
    return str(request.param)


def test_an_invisible_contact_in_a_later_batch_refuses_the_whole_call(
    crm: teamcrm.CRM, limits: str
) -> None:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    brad = crm.as_member(ana.add_member("Brad").id)
    cat = crm.as_member(ana.add_member("Cat").id)
    mine = brad.create_contacts([{"first_name": f"B{i}"} for i in range(8)])
    hidden = cat.create_contacts([{"first_name": "Hidden"}])[0]
    bucket = brad.create_bucket("Calls", personal=True)
    ids = [c.id for c in mine[:7]] + [hidden.id] + [mine[7].id]
    with pytest.raises(teamcrm.NotFound) as refused:
        brad.add_to_bucket(bucket.id, ids)
    assert (refused.value.kind, refused.value.key) == ("contact", hidden.id)
    assert brad.bucket_contacts(bucket.id) == []  # nothing half-written
    with pytest.raises(teamcrm.NotFound):
        brad.add_to_bucket(bucket.id, [c.id for c in mine] + ["ct_" + "0" * 26])
    assert brad.bucket_contacts(bucket.id) == []
    added = brad.add_to_bucket(bucket.id, [c.id for c in mine])
    assert sorted(m.item_id for m in added) == sorted(c.id for c in mine)


def test_reactions_read_what_they_need_when_the_checked_contacts_are_not_kept(
    crm: teamcrm.CRM, limits: str
) -> None:
    """A bucket feeding a pool routes every contact of a bulk add, batched or not."""
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    brad = ana.add_member("Brad")
    cat = ana.add_member("Cat")
    web = ana.create_bucket("Web")
    pool = ana.create_pool(
        "Web leads", source_bucket_ids=[web.id], member_ids=[brad.id, cat.id], method="round_robin"
    )
    contacts = ana.create_contacts([{"first_name": f"C{i}"} for i in range(10)])
    ana.add_to_bucket(web.id, [c.id for c in contacts])
    leads = ana.leads(pool_id=pool.id)
    assert sorted(lead.contact_id for lead in leads) == sorted(c.id for c in contacts)
    owners = [lead.assignee_ids for lead in leads]
    assert owners.count((brad.id,)) == owners.count((cat.id,)) == 5
    moved_to = ana.create_bucket("Later")
    moved = ana.move_between_buckets(web.id, moved_to.id, [c.id for c in contacts])
    assert len(moved) == 10
    assert ana.bucket_contacts(web.id) == []
