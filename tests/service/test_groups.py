"""Seed 004's groups on the contact form and in list operations, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pg_support
import teamcrm
from teamcrm import EventName, NotFound, PermissionDenied, ValidationError


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    with pg_support.open_store_kind(request.param, tmp_path) as c:
        yield c


def _held(session: teamcrm.MemberSession, bucket: teamcrm.Bucket) -> set[str]:
    return {c.id for c in session.bucket_contacts(bucket.id)}


def test_choose_groups_when_adding_a_contact(crm: teamcrm.CRM) -> None:
    _, admin = crm.create_team("Livespace", admin_name="Ana")
    ana = crm.as_member(admin.id)
    clients, vip = ana.create_bucket("Clients"), ana.create_bucket("VIP")
    bea = ana.create_contact("Bea", bucket_ids=[clients.id, vip.id])
    assert bea.id in _held(ana, clients)
    assert bea.id in _held(ana, vip)
    many = ana.create_contacts([{"first_name": "A"}, {"first_name": "B"}], bucket_ids=[vip.id])
    assert {c.id for c in many} <= _held(ana, vip)
    # A bucket the member may not add to: nothing is created.
    bob = crm.as_member(ana.add_member("Bob").id)
    ana.grant_access(clients.id, bob.member_id, level="viewer")
    before = len(ana.search(limit=100))
    with pytest.raises(PermissionDenied):
        bob.create_contact("Cy", bucket_ids=[clients.id])
    assert len(ana.search(limit=100)) == before


def test_add_selected_contacts_to_several_groups_in_one_call(crm: teamcrm.CRM) -> None:
    _, admin = crm.create_team("Livespace", admin_name="Ana")
    ana = crm.as_member(admin.id)
    a, b = ana.create_bucket("A"), ana.create_bucket("B")
    people = [ana.create_contact(f"P{i}").id for i in range(3)]
    added = ana.add_to_buckets([a.id, b.id], people)
    assert len(added) == 6
    assert _held(ana, a) == _held(ana, b) == set(people)
    with pytest.raises(ValidationError):
        ana.add_to_buckets([], people)
    bob = crm.as_member(ana.add_member("Bob").id)
    ana.grant_access(a.id, bob.member_id, level="editor")
    c = ana.create_bucket("C")
    ana.grant_access(c.id, bob.member_id, level="viewer")
    mine = bob.create_contact("Mine")
    with pytest.raises(PermissionDenied):  # Bob only views C: nothing is added to A either
        bob.add_to_buckets([a.id, c.id], mine.id)
    assert mine.id not in _held(ana, a)


def test_move_between_groups_in_one_unit(crm: teamcrm.CRM) -> None:
    _, admin = crm.create_team("Livespace", admin_name="Ana")
    ana = crm.as_member(admin.id)
    leads, clients = ana.create_bucket("Leads"), ana.create_bucket("Clients")
    won = [ana.create_contact(f"W{i}").id for i in range(2)]
    ana.add_to_bucket(leads.id, won)
    seq = ana.events()[-1].seq
    moved = ana.move_between_buckets(leads.id, clients.id, won)
    assert {m.item_id for m in moved} == set(won)
    assert _held(ana, leads) == set()
    assert _held(ana, clients) == set(won)
    names = [m.event.name for m in ana.events(seq)]
    assert names == [EventName.BUCKET_ITEMS_REMOVED, EventName.BUCKET_ITEMS_ADDED]
    other = ana.create_contact("Other")
    with pytest.raises(ValidationError, match="is not in bucket"):
        ana.move_between_buckets(clients.id, leads.id, [won[0], other.id])
    assert _held(ana, clients) == set(won)  # nothing moved
    with pytest.raises(ValidationError):
        ana.move_between_buckets(clients.id, clients.id, won)


def test_choose_groups_when_editing_a_contact(crm: teamcrm.CRM) -> None:
    _, admin = crm.create_team("Livespace", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob").id)
    a, b, hidden = ana.create_bucket("A"), ana.create_bucket("B"), ana.create_bucket("Hidden")
    for bucket in (a, b):
        ana.grant_access(bucket.id, bob.member_id, level="editor")
    c = ana.create_contact("Cy", bucket_ids=[a.id, hidden.id])
    result = bob.set_buckets(c.id, [b.id])
    assert [x.id for x in result] == [b.id]
    assert c.id not in _held(ana, a)
    assert c.id in _held(ana, b)
    assert c.id in _held(ana, hidden)  # a bucket Bob cannot edit is left alone
    with pytest.raises(NotFound):
        bob.set_buckets(c.id, [hidden.id])
