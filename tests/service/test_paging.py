"""Keyset pages of growing lists (issue 17): leads, bucket contacts, interactions.

On ``memory://``, SQLite and PostgreSQL, as admin and as agents (whose rights
filter rows at read time): following ``next_cursor`` through every page, at
several page sizes, returns exactly the list call's rows in its order, and
the ``iter_*`` generators do too; rows added between two pages are neither
repeated nor make the pages skip rows that stayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

import pg_support
import teamcrm
from teamcrm import ValidationError
from teamcrm.service.paging import Page


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    if request.param == "postgres":
        with pg_support.crm(clock) as c:
            yield c
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'crm.db'}"
    c = teamcrm.open(url, clock=clock)
    yield c
    c.close()


@attrs.define
class World:
    ana: teamcrm.MemberSession
    bob: teamcrm.MemberSession
    cat: teamcrm.MemberSession
    web: teamcrm.Bucket
    pool: teamcrm.LeadPool
    contacts: list[teamcrm.Contact]


@pytest.fixture
def w(crm: teamcrm.CRM, clock: teamcrm.SettableClock) -> World:
    _, admin = crm.create_team("Parkside", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob", role="agent").id)
    cat = crm.as_member(ana.add_member("Cat", role="agent").id)
    web = ana.create_bucket("Web leads")
    pool = ana.create_pool(
        "Web",
        source_bucket_ids=[web.id],
        member_ids=[bob.member_id, cat.member_id],
        method="round_robin",
    )
    contacts: list[teamcrm.Contact] = []
    for batch in range(4):  # several contacts share each created_at: ties by id
        contacts += ana.create_contacts([{"first_name": f"P{batch}-{i}"} for i in range(6)])
        clock.advance(timedelta(minutes=1))
    company = ana.create_company("Acme")
    ana.add_to_bucket(web.id, [c.id for c in contacts[:10]])
    ana.add_to_bucket(web.id, company.id)  # not a contact: never listed
    clock.advance(timedelta(minutes=1))
    ana.add_to_bucket(web.id, [c.id for c in contacts[10:20]])
    ana.grant_access(web.id, bob.member_id, level="viewer")
    return World(ana, bob, cat, web, pool, contacts)


def _all_pages(read: Callable[..., Page[Any]], limit: int) -> list[Any]:
    rows: list[Any] = []
    after = None
    for _ in range(1000):
        page = read(limit=limit, after=after)
        assert len(page) <= limit
        rows += page
        if page.next_cursor is None:
            return rows
        assert len(page) == limit  # only the last page may be short
        after = page.next_cursor
    raise AssertionError("pages never ended")


@pytest.mark.parametrize("limit", [1, 3, 7, 1000])
def test_lead_pages_equal_the_list(w: World, limit: int) -> None:
    assert len(w.ana.leads()) == 20
    for s in (w.ana, w.bob, w.cat):
        assert _all_pages(s.leads_page, limit) == s.leads()
        assert list(s.iter_leads(page_size=limit)) == s.leads()
    for status in ("assigned", "removed"):
        assert _all_pages(
            lambda **kw: w.ana.leads_page(pool_id=w.pool.id, status=status, **kw),  # noqa: B023
            limit,
        ) == w.ana.leads(pool_id=w.pool.id, status=status)
    assert 0 < len(w.bob.leads()) < 20


@pytest.mark.parametrize("limit", [1, 4, 1000])
def test_bucket_contact_pages_equal_the_list(w: World, limit: int) -> None:
    for s in (w.ana, w.bob):
        want = s.bucket_contacts(w.web.id)
        assert len(want) == 20
        assert _all_pages(lambda **kw: s.bucket_contacts_page(w.web.id, **kw), limit) == want  # noqa: B023
        assert list(s.iter_bucket_contacts(w.web.id, page_size=limit)) == want
    with pytest.raises(teamcrm.NotFound):
        w.cat.bucket_contacts_page(w.web.id)


@pytest.mark.parametrize("limit", [1, 4, 1000])
def test_interaction_pages_equal_the_list(
    w: World, clock: teamcrm.SettableClock, limit: int
) -> None:
    c = w.contacts[0]
    when = clock.now()
    for i in range(9):
        author = w.bob if i % 3 else w.ana
        author.log_interaction(
            "call", contact_ids=[c.id], occurred_at=when - timedelta(hours=i // 2), body=f"n{i}"
        )
    for s in (w.ana, w.bob):
        want = s.interactions_for_contact(c.id)
        assert want
        got = _all_pages(lambda **kw: s.interactions_page(c.id, **kw), limit)  # noqa: B023
        assert got == want
        assert list(s.iter_interactions(c.id, page_size=limit)) == want
    assert len(w.bob.interactions_for_contact(c.id)) < len(w.ana.interactions_for_contact(c.id))


def test_rows_added_between_pages_neither_repeat_nor_skip(w: World) -> None:
    before = w.ana.leads()
    first = w.ana.leads_page(limit=5)
    (late,) = w.ana.create_contacts([{"first_name": "Late"}])
    w.ana.add_to_bucket(w.web.id, late.id)
    rest = _all_pages(
        lambda **kw: (
            w.ana.leads_page(**kw)
            if kw["after"]
            else w.ana.leads_page(limit=kw["limit"], after=first.next_cursor)
        ),
        5,
    )
    seen = [*first, *rest]
    assert len({ld.id for ld in seen}) == len(seen)
    assert {ld.id for ld in before} <= {ld.id for ld in seen}


def test_pages_display_their_cursor(w: World) -> None:
    page = w.ana.leads_page(limit=2)
    assert isinstance(page, list)
    assert page.next_cursor is not None
    view = page.view()
    assert view.next_cursor == page.next_cursor
    assert "more" in page.to_text()


def test_page_arguments_are_checked(w: World) -> None:
    with pytest.raises(ValidationError, match="limit"):
        w.ana.leads_page(limit=0)
    with pytest.raises(ValidationError, match="after"):
        w.ana.leads_page(after="garbage!")
    cursor = w.ana.bucket_contacts_page(w.web.id, limit=1).next_cursor
    assert cursor is not None
    with pytest.raises(ValidationError, match="after"):
        w.ana.leads_page(after=cursor)  # a contact cursor is not a lead cursor
    with pytest.raises(ValidationError, match="status"):
        w.ana.leads_page(status="nope")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="bucket_id"):
        w.ana.bucket_contacts_page("nope")  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [1, 4, 1000])
def test_notification_pages_equal_the_list(w: World, limit: int) -> None:
    for s in (w.ana, w.bob, w.cat):
        want = s.notifications(limit=1000)
        assert _all_pages(s.notifications_page, limit) == want
        assert list(s.iter_notifications(page_size=limit)) == want
    assert len(w.bob.notifications(limit=1000)) >= 10  # one per routed lead
    w.bob.mark_read([n.id for n in w.bob.notifications(limit=3)])
    unread = w.bob.notifications(unread_only=True, limit=1000)
    assert len(unread) == len(w.bob.notifications(limit=1000)) - 3
    assert _all_pages(lambda **kw: w.bob.notifications_page(unread_only=True, **kw), limit) == (
        unread
    )
    assert {n.member_id for n in w.bob.iter_notifications()} == {w.bob.member_id}


@pytest.mark.parametrize("limit", [1, 3, 1000])
def test_dashboard_pages_equal_the_list(w: World, limit: int) -> None:
    lead = w.ana.leads(pool_id=w.pool.id)[0]
    w.ana.revoke(lead.id)  # one lead nobody owns
    removed = w.ana.leads(pool_id=w.pool.id)[1]
    w.ana.remove_lead(removed.id)
    cases: list[dict[str, Any]] = [
        {},
        {"pool_id": w.pool.id},
        {"assignee": w.bob.member_id},
        {"assignee": "unassigned"},
        {"include_removed": True},
    ]
    for f in cases:
        want = w.ana.routing_dashboard(sort_by="created_at", **f)
        assert want or f.get("assignee") == "unassigned"
        got = _all_pages(lambda **kw: w.ana.routing_dashboard_page(**f, **kw), limit)  # noqa: B023
        assert got == list(want)
        assert list(w.ana.iter_routing_dashboard(page_size=limit, **f)) == list(want)
    with pytest.raises(teamcrm.PermissionDenied):
        w.bob.routing_dashboard_page()


def test_follow_ups_without_a_limit_list_every_row(w: World, clock: teamcrm.SettableClock) -> None:
    w.ana.create_follow_up_policy(w.web.id, "7 days", member_id=w.bob.member_id)
    clock.advance(timedelta(days=30))
    every = w.bob.follow_ups(limit=None)
    assert len(every) == 20
    assert list(every) == list(w.bob.follow_ups(limit=1000))
    assert list(w.bob.follow_ups(limit=7)) == list(every)[:7]
    with pytest.raises(ValidationError, match="limit"):
        w.bob.follow_ups(limit=10_001)


@pytest.mark.parametrize("limit", [1, 2, 1000])
def test_insight_pages_equal_the_list(w: World, clock: teamcrm.SettableClock, limit: int) -> None:
    start, end = clock.now() - timedelta(days=1), clock.now() + timedelta(days=1)
    w.ana.add_member("bob")  # same name but for the case: ties by id
    for s in (w.ana, w.bob):
        want = s.insights(start=start, end=end).rows
        got = _all_pages(lambda **kw: s.insights_page(start=start, end=end, **kw), limit)  # noqa: B023
        assert got == list(want)
    assert len(w.ana.insights(start=start, end=end).rows) == 4
    assert [r.member_id for r in w.bob.insights_page(start=start, end=end)] == [w.bob.member_id]
    with pytest.raises(ValidationError, match="after"):
        w.ana.insights_page(start=start, end=end, after="garbage!")


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 1000])
def test_follow_up_pages_equal_the_list(w: World, clock: teamcrm.SettableClock, limit: int) -> None:
    bob = w.bob.member_id
    w.ana.create_follow_up_policy(w.web.id, "7 days", member_id=bob)
    other = w.ana.create_bucket("Past clients")
    w.ana.add_to_bucket(other.id, [c.id for c in w.contacts[5:15]])  # some in both buckets
    w.ana.grant_access(other.id, bob, level="viewer")
    clock.advance(timedelta(days=3))
    w.ana.create_follow_up_policy(other.id, "2 days", member_id=bob)  # due earlier for those
    clock.advance(timedelta(days=10))
    now = clock.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for i, when in enumerate(
        [midnight, midnight, now - timedelta(hours=1), midnight - timedelta(days=2)]
    ):
        w.bob.create_task(w.contacts[i * 3].id, when, note=f"t{i}")  # ties at midnight
    w.bob.snooze_follow_up(w.contacts[7].id, now + timedelta(days=1))
    w.bob.log_interaction("call", contact_ids=[w.contacts[8].id])
    every = list(w.bob.follow_ups(limit=None, at=now))
    assert len(every) > 20  # policy rows and tasks
    assert any(r.task is not None for r in every)
    assert len(every) == len({(r.contact.id, r.task) for r in every})
    for s, member in ((w.bob, None), (w.ana, bob)):
        got = _all_pages(lambda **kw: s.follow_ups_page(member, at=now, **kw), limit)  # noqa: B023
        assert [r.sort_key for r in got] == [r.sort_key for r in every]
        assert got == every
        assert list(s.iter_follow_ups(member, at=now, page_size=limit)) == every
    with pytest.raises(ValidationError, match="after"):
        w.bob.follow_ups_page(after="garbage!")
    with pytest.raises(teamcrm.PermissionDenied):
        w.cat.follow_ups_page(bob)
