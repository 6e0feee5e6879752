"""A pool's follow-up reminder behaves like every other reminder (issue 19 item 3, seed 003).

Seed 003: "Optional: Specify a Follow-Up Reminder for all assigned leads from
this Pool."  The reminder is a cadence for the lead's *current* owner, reset by
any touch of the contact, repeating until the lead is closed and following the
lead when it is reassigned.  Each test runs on ``memory://``, SQLite and (with
a test server) PostgreSQL; the migration that cancels the legacy pool tasks is
tested on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pg_support
import teamcrm
from teamcrm.followup import Cadence, RowKind, Touch
from teamcrm.lead import Lead, LeadId, LeadStatus
from teamcrm.pool import LeadPool, PoolId
from teamcrm.pool_reminder import LEGACY_TASK_NOTE, pool_reminder_due
from teamcrm.task import Task, TaskId, TaskStatus

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


@attrs.define
class World:
    """Admin Ana, agents Brad and Cat; Kim routed to Brad by a pool reminding every 3 days."""

    crm: teamcrm.CRM
    clock: teamcrm.SettableClock
    ana: teamcrm.MemberSession
    brad: teamcrm.MemberSession
    cat: teamcrm.MemberSession
    web: teamcrm.Bucket
    pool: teamcrm.LeadPool
    kim: teamcrm.Contact
    lead: teamcrm.Lead

    def rows(self, member: teamcrm.MemberSession, at: datetime) -> list[teamcrm.FollowUpRow]:
        """The member's pool-reminder rows at *at*."""
        return [r for r in member.follow_ups(at=at) if r.kind is RowKind.POOL]


@pytest.fixture
def w(crm: teamcrm.CRM, clock: teamcrm.SettableClock) -> World:
    clock.set(START)
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    brad = crm.as_member(ana.add_member("Brad", role="agent").id)
    cat = crm.as_member(ana.add_member("Cat", role="agent").id)
    web = ana.create_bucket("Web")
    pool = ana.create_pool(
        "Web leads",
        source_bucket_ids=[web.id],
        member_ids=[brad.member_id, cat.member_id],
        method="round_robin",
        follow_up="3 days",
    )
    kim = ana.create_contact("Kim")
    ana.add_to_bucket(web.id, kim.id)
    (lead,) = ana.leads(pool_id=pool.id)
    assert lead.assignee_ids == (brad.member_id,)
    return World(crm, clock, ana, brad, cat, web, pool, kim, lead)


def test_due_one_cadence_after_assignment_without_a_touch(w: World) -> None:
    assert w.rows(w.brad, START + 2 * DAY) == []
    (row,) = w.rows(w.brad, START + 3 * DAY)
    assert (row.contact.id, row.pool_id, row.lead_id) == (w.kim.id, w.pool.id, w.lead.id)
    assert (row.due_on, row.days_overdue, row.cadence) == (date(2026, 1, 8), 0, Cadence.days(3))
    assert row.last_touch_at is None
    # it stays due (overdue) until someone touches the contact
    (later,) = w.rows(w.brad, START + 5 * DAY)
    assert later.days_overdue == 2
    # no stored task: the reminder is computed when the list is read
    assert w.brad.tasks() == []
    assert w.brad.due(at=START + 3 * DAY).rows[0].why == "pool reminder: every 3 days"


def test_a_touch_by_another_member_resets_it(w: World) -> None:
    w.clock.set(START + 2 * DAY)
    w.ana.log_interaction("call", contact_ids=[w.kim.id], body="left a message")
    assert w.rows(w.brad, START + 3 * DAY) == []  # Jan 7 + 3 days = Jan 10
    assert w.rows(w.brad, START + 4 * DAY) == []
    (row,) = w.rows(w.brad, START + 5 * DAY)
    assert row.due_on == date(2026, 1, 10)
    assert (row.last_touch_at, row.last_touch_by) == (START + 2 * DAY, w.ana.member_id)


def test_it_repeats_after_each_period(w: World) -> None:
    assert len(w.rows(w.brad, START + 3 * DAY)) == 1
    w.clock.set(START + 3 * DAY)
    w.brad.log_interaction("email", contact_ids=[w.kim.id], body="checking in")
    assert w.rows(w.brad, START + 5 * DAY) == []
    (row,) = w.rows(w.brad, START + 6 * DAY)
    assert row.due_on == date(2026, 1, 11)
    # the owner's own "done" resets it too
    w.clock.set(START + 6 * DAY)
    w.brad.mark_follow_up_done(w.kim.id)
    assert w.rows(w.brad, START + 8 * DAY) == []
    assert [r.due_on for r in w.rows(w.brad, START + 9 * DAY)] == [date(2026, 1, 14)]


def test_a_snooze_hides_it_until_then(w: World) -> None:
    w.brad.snooze_follow_up(w.kim.id, START + 4 * DAY)
    assert w.rows(w.brad, START + 3 * DAY) == []
    assert len(w.rows(w.brad, START + 4 * DAY)) == 1


def test_it_follows_the_lead_to_the_new_owner(w: World) -> None:
    w.clock.set(START + 1 * DAY)
    w.ana.reassign(w.lead.id, w.cat.member_id)
    assert w.rows(w.brad, START + 10 * DAY) == []  # the old owner no longer has it
    assert w.rows(w.cat, START + 3 * DAY) == []  # a full cadence from the reassignment
    (row,) = w.rows(w.cat, START + 4 * DAY)
    assert (row.lead_id, row.due_on) == (w.lead.id, date(2026, 1, 9))
    # a manager reading Cat's list sees it there, not in Brad's
    assert [r.lead_id for r in w.ana.follow_ups(w.cat.member_id, at=START + 4 * DAY)] == [w.lead.id]
    assert w.ana.follow_ups(w.brad.member_id, at=START + 4 * DAY) == []


def test_it_ends_when_the_lead_is_closed(w: World) -> None:
    w.ana.remove_lead(w.lead.id)
    assert w.rows(w.brad, START + 5 * DAY) == []


def test_it_ends_when_the_lead_is_revoked(w: World) -> None:
    w.ana.revoke(w.lead.id)
    assert w.rows(w.brad, START + 5 * DAY) == []


def test_it_ends_when_the_contact_is_deleted(w: World) -> None:
    w.ana.delete_contact(w.kim.id)
    assert w.rows(w.brad, START + 5 * DAY) == []


def test_it_ends_when_the_pool_drops_its_reminder(w: World) -> None:
    w.ana.update_pool(w.pool.id, follow_up=None)
    assert w.rows(w.brad, START + 5 * DAY) == []


def test_not_shown_while_the_owner_cannot_see_the_contact(w: World) -> None:
    inbound = w.brad.inbound_bucket()
    w.brad.remove_from_bucket(inbound.id, [w.kim.id])  # Brad has no grant on Web
    assert w.rows(w.brad, START + 5 * DAY) == []
    w.ana.grant_access(w.web.id, w.brad.member_id, level="viewer")
    assert len(w.rows(w.brad, START + 5 * DAY)) == 1  # rights are read at read time


def test_one_row_per_owned_lead_of_each_reminding_pool(w: World) -> None:
    """Several leads, one query: only Brad's assigned leads of reminding pools are listed."""
    quiet = w.ana.create_bucket("Quiet")
    w.ana.create_pool(
        "No reminder",
        source_bucket_ids=[quiet.id],
        member_ids=[w.brad.member_id],
        method="round_robin",
    )
    more = [w.ana.create_contact(f"P{i}") for i in range(5)]
    w.ana.add_to_bucket(w.web.id, [c.id for c in more[:4]])  # round robin: Cat, Brad, ...
    w.ana.add_to_bucket(quiet.id, [more[4].id])
    for member in (w.brad, w.cat):
        owned = {
            ld.contact_id
            for ld in w.ana.leads(pool_id=w.pool.id)
            if member.member_id in ld.assignee_ids
        }
        rows = w.rows(member, START + 3 * DAY)
        assert sorted(r.contact.id for r in rows) == sorted(owned)
        assert {r.pool_id for r in rows} == {w.pool.id}
    assert len(w.rows(w.brad, START + 3 * DAY)) == 3


# ------------------------------------------------------------------ the pure rule
def _lead(assigned_at: datetime, status: LeadStatus = LeadStatus.ASSIGNED) -> Lead:
    return Lead(
        id=LeadId("ld_" + "0" * 26),
        team_id="tm_" + "0" * 26,  # type: ignore[arg-type]
        contact_id="ct_" + "0" * 26,  # type: ignore[arg-type]
        created_at=assigned_at,
        pool_id=PoolId("lp_" + "0" * 26),
        status=status,
        assignee_ids=("mb_" + "1" * 26,) if status is LeadStatus.ASSIGNED else (),  # type: ignore[arg-type]
        assigned_at=assigned_at if status is LeadStatus.ASSIGNED else None,
    )


def _pool(cadence: Cadence | None) -> LeadPool:
    return LeadPool(
        id=PoolId("lp_" + "0" * 26),
        team_id="tm_" + "0" * 26,  # type: ignore[arg-type]
        name="Web",
        created_at=START,
        source_bucket_ids=("bk_" + "0" * 26,),  # type: ignore[arg-type]
        follow_up=cadence,
    )


def _touch(at: datetime, *, team_wide: bool = True) -> Touch:
    return Touch(
        team_id="tm_" + "0" * 26,  # type: ignore[arg-type]
        contact_id="ct_" + "0" * 26,  # type: ignore[arg-type]
        member_id="mb_" + "2" * 26,  # type: ignore[arg-type]
        at=at,
        team_wide=team_wide,
    )


@given(
    days=st.integers(1, 60),
    touch_offset=st.none() | st.integers(-10 * 24, 90 * 24),
)
def test_the_clock_starts_at_the_later_of_assignment_and_touch(
    days: int, touch_offset: int | None
) -> None:
    """Due one cadence after max(assignment, newest touch); older touches never count."""
    member = "mb_" + "1" * 26
    touch = None if touch_offset is None else _touch(START + timedelta(hours=touch_offset))
    due = pool_reminder_due(_lead(START), _pool(Cadence.days(days)), member, "UTC", touch, None)  # type: ignore[arg-type]
    assert due is not None
    start = START if touch is None or touch.at <= START else touch.at
    assert due.since == start
    assert due.due_on == start.date() + timedelta(days=days)
    assert (due.touch is None) == (touch is None or touch.at <= START)


def test_no_reminder_without_cadence_owner_or_assignment() -> None:
    member = "mb_" + "1" * 26
    other = "mb_" + "3" * 26
    assert pool_reminder_due(_lead(START), _pool(None), member, "UTC", None, None) is None  # type: ignore[arg-type]
    assert pool_reminder_due(_lead(START), _pool(Cadence.days(3)), other, "UTC", None, None) is None  # type: ignore[arg-type]
    closed = _lead(START, LeadStatus.REMOVED)
    assert pool_reminder_due(closed, _pool(Cadence.days(3)), member, "UTC", None, None) is None  # type: ignore[arg-type]


# ------------------------------------------------------------------ migration 0420
def _legacy_world(crm: teamcrm.CRM) -> tuple[str, str, str]:
    """A routed lead with an open legacy pool task and a task Brad wrote himself."""
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    brad = crm.as_member(ana.add_member("Brad", role="agent").id)
    web = ana.create_bucket("Web")
    ana.create_pool(
        "Web leads",
        source_bucket_ids=[web.id],
        member_ids=[brad.member_id],
        method="round_robin",
        follow_up="3 days",
    )
    kim = ana.create_contact("Kim")
    ana.add_to_bucket(web.id, kim.id)
    legacy = Task(
        id=TaskId("tk_" + "9" * 26),
        team_id=ana.team_id,
        member_id=brad.member_id,
        contact_id=kim.id,
        due_at=START + 3 * DAY,
        created_at=START,
        created_by=ana.member_id,
        note=f"{LEGACY_TASK_NOTE}Web leads (3 days)",
    )
    with crm.store.unit_of_work() as uow:
        uow.tasks.add(legacy)
        uow.commit()
    own = brad.create_task(kim.id, START + 2 * DAY, note="Send the brochure")
    return ana.team_id, legacy.id, own.id


def _check_cancelled(crm: teamcrm.CRM, team_id: str, legacy_id: str, own_id: str) -> None:
    with crm.store.unit_of_work(write=False) as uow:
        legacy = uow.tasks.get(team_id, legacy_id)  # type: ignore[arg-type]
        own = uow.tasks.get(team_id, own_id)  # type: ignore[arg-type]
    assert (legacy.status, legacy.version) == (TaskStatus.CANCELLED, 2)
    assert legacy.closed_at is not None
    assert own.status is TaskStatus.OPEN


def test_sqlite_migration_cancels_open_legacy_pool_tasks(
    tmp_path: Path, clock: teamcrm.SettableClock
) -> None:
    clock.set(START)
    db = tmp_path / "old.db"
    crm = teamcrm.open(f"sqlite:///{db}", clock=clock)
    ids = _legacy_world(crm)
    crm.close()
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM teamcrm_migrations WHERE name = '0420_pool_reminders'")
    (count,) = conn.execute("SELECT count(*) FROM teamcrm_migrations").fetchone()
    conn.execute(f"PRAGMA user_version = {count}")
    conn.commit()
    conn.close()
    crm = teamcrm.open(f"sqlite:///{db}", clock=clock)
    try:
        _check_cancelled(crm, *ids)
    finally:
        crm.close()


def test_postgres_migration_cancels_open_legacy_pool_tasks(
    clock: teamcrm.SettableClock,
) -> None:
    import psycopg

    clock.set(START)
    with pg_support.schemas() as made:
        url = made.fresh()
        old = teamcrm.open(url, clock=clock)
        ids = _legacy_world(old)
        old.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM teamcrm_migrations WHERE name = '0420_pool_reminders'")
        crm = teamcrm.open(url, clock=clock)
        try:
            _check_cancelled(crm, *ids)
        finally:
            crm.close()
