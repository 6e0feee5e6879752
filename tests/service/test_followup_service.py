"""Follow-up use cases: the seed-000 stories, snooze, done, tasks, permissions.

Every test runs on each store in ``STORES`` (memory, and SQLite when the
adapter is installed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import teamcrm
from teamcrm import Cadence, MemberSession, RowKind, TaskStatus

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _sqlite_available() -> bool:
    try:
        teamcrm.open_store("sqlite://").close()
    except teamcrm.TeamCRMError:
        return False
    return True


STORES = [
    "memory",
    pytest.param(
        "sqlite",
        marks=pytest.mark.skipif(not _sqlite_available(), reason="SQLite adapter not installed"),
    ),
]


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """``memory://`` or a SQLite file in a temporary directory."""
    if request.param == "memory":
        return "memory://"
    return f"sqlite:///{tmp_path / 'crm.db'}"


@pytest.fixture
def fclock() -> teamcrm.SettableClock:
    """A clock at a Monday morning (UTC)."""
    return teamcrm.SettableClock(START)


@pytest.fixture
def fcrm(store_url: str, fclock: teamcrm.SettableClock) -> Iterator[teamcrm.CRM]:
    """A CRM on the parametrised store."""
    c = teamcrm.open(store_url, clock=fclock)
    yield c
    c.close()


class Team:
    """The seed-000 team: Ana (admin), Bradley (agent, follow-ups), Carl and Susan."""

    def __init__(self, crm: teamcrm.CRM) -> None:
        _, admin = crm.create_team("Acme Realty", admin_name="Ana")
        self.crm = crm
        self.ana = crm.as_member(admin.id)
        self.bradley_m = self.ana.add_member("Bradley", time_zone="America/New_York")
        self.carl_m = self.ana.add_member("Carl")
        self.susan_m = self.ana.add_member("Susan", time_zone="Europe/Warsaw")
        self.bradley = crm.as_member(self.bradley_m.id)
        self.carl = crm.as_member(self.carl_m.id)
        self.susan = crm.as_member(self.susan_m.id)
        self.past = self.ana.create_bucket("Past Clients")
        for m in (self.bradley_m, self.carl_m, self.susan_m):
            self.ana.grant_access(self.past.id, m.id, level="editor", can_view_conversations=True)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def listed(session: MemberSession, at: datetime | None = None) -> list[str]:
    return [r.contact.id for r in session.follow_ups(at=at) if r.kind is RowKind.POLICY]


def test_bradley_past_clients_reset_by_teammate(
    fcrm: teamcrm.CRM, fclock: teamcrm.SettableClock
) -> None:
    t = Team(fcrm)
    pol = t.ana.create_follow_up_policy(t.past.id, "30 days", member_id=t.bradley_m.id)
    assert pol.reset_by_team
    assert pol.cadence == Cadence.days(30)
    kim = t.ana.create_contact("Kim")
    lee = t.ana.create_contact("Lee")
    t.ana.add_to_bucket(t.past.id, [kim.id, lee.id])

    fclock.advance(days(10))
    t.carl.log_interaction("call", contact_ids=[kim.id])  # a teammate's call on day 10

    fclock.set(START + days(35))
    assert listed(t.bradley) == [lee.id]  # Kim was touched on day 10: due day 40
    rows = t.bradley.follow_ups()
    assert rows[0].days_overdue == 5
    assert rows[0].last_touch_at is None
    assert rows[0].reasons[0].bucket_name == "Past Clients"

    fclock.set(START + days(41))
    rows = t.bradley.follow_ups()
    assert [r.contact.id for r in rows] == [lee.id, kim.id]  # most overdue first
    assert rows[1].last_touch_by == t.carl_m.id
    assert rows[1].last_touch_at == START + days(10)
    assert rows[1].days_overdue == 1
    assert rows[1].due_on == date(2026, 2, 14)


def test_susan_personal_buckets_see_only_her_touches(
    fcrm: teamcrm.CRM, fclock: teamcrm.SettableClock
) -> None:
    t = Team(fcrm)
    mine = t.ana.create_bucket("Susan's Contacts")
    t.ana.grant_access(mine.id, t.susan_m.id, level="editor", can_view_conversations=True)
    t.ana.grant_access(mine.id, t.carl_m.id, level="editor", can_view_conversations=True)
    b1 = t.susan.create_bucket("Customer Follow up 1 Month", personal=True)
    b3 = t.susan.create_bucket("Customer Follow up 3 Months", personal=True)
    b12 = t.susan.create_bucket("Customer Follow up 12 Months", personal=True)
    for b, n in ((b1, 1), (b3, 3), (b12, 12)):
        p = t.susan.create_follow_up_policy(b.id, Cadence.months(n))
        assert not p.reset_by_team
    one = t.susan.create_contact("One")
    three = t.susan.create_contact("Three")
    both = t.susan.create_contact("Both")
    t.susan.add_to_bucket(mine.id, [one.id, three.id, both.id])
    t.susan.add_to_bucket(b1.id, [one.id, both.id])
    t.susan.add_to_bucket(b3.id, [three.id])
    t.susan.add_to_bucket(b12.id, [both.id])

    fclock.advance(days(20))
    t.carl.log_interaction("call", contact_ids=[one.id, three.id, both.id])  # not Susan's
    fclock.set(START + days(32))
    rows = t.susan.follow_ups()
    assert [r.contact.id for r in rows] == sorted([one.id, both.id])  # same due day
    both_row = next(r for r in rows if r.contact.id == both.id)
    assert [x.bucket_id for x in both_row.reasons] == [b1.id, b12.id]  # every reason, one row
    assert both_row.due_on == date(2026, 2, 5)

    t.susan.log_interaction("email", contact_ids=[one.id])  # her own touch resets
    assert listed(t.susan) == [both.id]
    fclock.set(START + days(95))
    assert set(listed(t.susan)) == {one.id, three.id, both.id}
    # nobody else ever sees her personal reasons
    assert listed(t.ana, None) == []
    assert t.ana.follow_ups(t.susan_m.id) == []


def test_future_interaction_counts_only_after_its_time(
    fcrm: teamcrm.CRM, fclock: teamcrm.SettableClock
) -> None:
    t = Team(fcrm)
    t.ana.create_follow_up_policy(t.past.id, "7 days", member_id=t.bradley_m.id)
    kim = t.ana.create_contact("Kim")
    t.ana.add_to_bucket(t.past.id, kim.id)
    t.carl.log_interaction("meeting", contact_ids=[kim.id], occurred_at=START + days(10))
    # the meeting is scheduled, so on day 8 Kim is due
    assert listed(t.bradley, START + days(8)) == [kim.id]
    # asked about day 12, the meeting has happened: due day 17
    assert listed(t.bradley, START + days(12)) == []
    assert listed(t.bradley, START + days(18)) == [kim.id]
    fclock.set(START + days(12))
    t.ana.log_interaction("note", contact_ids=[t.ana.create_contact("X").id])  # settles
    assert listed(t.bradley) == []
    fclock.set(START + days(18))
    row = t.bradley.follow_ups()[0]
    assert row.last_touch_at == START + days(10)


def test_older_interaction_never_moves_touch_back(
    fcrm: teamcrm.CRM, fclock: teamcrm.SettableClock
) -> None:
    t = Team(fcrm)
    t.ana.create_follow_up_policy(t.past.id, "30 days", member_id=t.bradley_m.id)
    kim = t.ana.create_contact("Kim")
    t.ana.add_to_bucket(t.past.id, kim.id)
    fclock.advance(days(20))
    t.carl.log_interaction("call", contact_ids=[kim.id])
    t.carl.log_interaction("call", contact_ids=[kim.id], occurred_at=START + days(2))
    fclock.set(START + days(49))
    assert listed(t.bradley) == []
    fclock.set(START + days(50))
    assert t.bradley.follow_ups()[0].last_touch_at == START + days(20)


def test_snooze_done_removal(fcrm: teamcrm.CRM, fclock: teamcrm.SettableClock) -> None:
    t = Team(fcrm)
    pol = t.ana.create_follow_up_policy(t.past.id, "1 week", member_id=t.bradley_m.id)
    a, b, c = (t.ana.create_contact(n) for n in ("A", "B", "C"))
    t.ana.add_to_bucket(t.past.id, [a.id, b.id, c.id])
    fclock.set(START + days(8))
    assert set(listed(t.bradley)) == {a.id, b.id, c.id}

    t.bradley.snooze_follow_up(a.id, START + days(10))
    assert set(listed(t.bradley)) == {b.id, c.id}
    assert a.id in listed(t.bradley, START + days(10))

    t.bradley.mark_follow_up_done(b.id)  # Bradley's own policies only
    assert listed(t.bradley) == [c.id]
    rows = {r.contact.id: r for r in t.bradley.follow_ups(at=START + days(15))}
    assert rows[b.id].reasons[0].touch_kind == "done"
    assert rows[b.id].due_on == date(2026, 1, 20)
    assert rows[b.id].days_overdue == 0

    t.ana.remove_from_bucket(t.past.id, c.id)
    assert listed(t.bradley) == []
    t.ana.remove_follow_up_policy(pol.id)
    assert listed(t.bradley, START + days(100)) == []


def test_done_is_not_a_team_touch(fcrm: teamcrm.CRM, fclock: teamcrm.SettableClock) -> None:
    t = Team(fcrm)
    t.ana.create_follow_up_policy(t.past.id, "10 days", member_id=t.bradley_m.id)
    t.ana.create_follow_up_policy(t.past.id, "10 days", member_id=t.carl_m.id)
    kim = t.ana.create_contact("Kim")
    t.ana.add_to_bucket(t.past.id, kim.id)
    fclock.set(START + days(11))
    t.bradley.mark_follow_up_done(kim.id)
    assert listed(t.bradley) == []
    assert listed(t.carl) == [kim.id]


def test_change_cadence_and_time_zone(fcrm: teamcrm.CRM, fclock: teamcrm.SettableClock) -> None:
    t = Team(fcrm)
    pol = t.ana.create_follow_up_policy(t.past.id, "30 days", member_id=t.bradley_m.id)
    kim = t.ana.create_contact("Kim")
    t.ana.add_to_bucket(t.past.id, kim.id)
    fclock.set(START + days(8))
    assert listed(t.bradley) == []
    changed = t.ana.change_follow_up_cadence(pol.id, "1 week")
    assert changed.version == pol.version + 1
    assert listed(t.bradley) == [kim.id]
    # added Monday 09:00 UTC; in Pacific/Kiritimati (UTC+14) that is Monday 23:00
    t.ana.update_member(t.bradley_m.id, time_zone="Pacific/Kiritimati")
    assert t.bradley.follow_ups()[0].due_on == date(2026, 1, 12)
    t.ana.update_member(t.bradley_m.id, time_zone="Pacific/Pago_Pago")  # UTC-11: Sunday
    assert t.bradley.follow_ups()[0].due_on == date(2026, 1, 11)


def test_bucket_deleted_and_contact_added_later(
    fcrm: teamcrm.CRM, fclock: teamcrm.SettableClock
) -> None:
    t = Team(fcrm)
    t.ana.create_follow_up_policy(t.past.id, "2 days", member_id=t.bradley_m.id)
    fclock.set(START + days(5))
    kim = t.ana.create_contact("Kim")
    t.ana.add_to_bucket(t.past.id, kim.id)
    assert listed(t.bradley, START + days(6)) == []
    assert listed(t.bradley, START + days(7)) == [kim.id]
    t.ana.delete_bucket(t.past.id)
    assert listed(t.bradley, START + days(70)) == []
    assert t.ana.follow_up_policies(member_id=t.bradley_m.id) == []


def test_tasks(fcrm: teamcrm.CRM, fclock: teamcrm.SettableClock) -> None:
    t = Team(fcrm)
    kim = t.ana.create_contact("Kim")
    t.ana.add_to_bucket(t.past.id, kim.id)
    task = t.ana.create_task(kim.id, START + days(2), "send the deed", member_id=t.bradley_m.id)
    other = t.bradley.create_task(kim.id, START + days(3), "call back")
    assert [x.id for x in t.bradley.tasks()] == [task.id, other.id]
    assert t.bradley.follow_ups(at=START + days(1)) == []
    rows = t.bradley.follow_ups(at=START + days(4))
    assert [r.task.id for r in rows] == [task.id, other.id]
    assert rows[0].kind is RowKind.TASK
    assert rows[0].days_overdue == 2

    moved = t.bradley.reschedule_task(task.id, START + days(10))
    assert moved.due_at == START + days(10)
    assert moved.version == 2
    done = t.bradley.complete_task(other.id)
    assert done.status is TaskStatus.DONE
    assert done.closed_at == START
    assert t.bradley.follow_ups(at=START + days(4)) == []
    cancelled = t.bradley.cancel_task(task.id)
    assert cancelled.status is TaskStatus.CANCELLED
    with pytest.raises(teamcrm.ValidationError, match="task_id"):
        t.bradley.complete_task(task.id)
    assert [x.id for x in t.bradley.tasks(status="open")] == []
    assert len(t.bradley.tasks()) == 2
    with pytest.raises(teamcrm.NotFound):
        t.carl.task(task.id)


def test_tasks_and_policy_rows_merge_in_order(
    fcrm: teamcrm.CRM, fclock: teamcrm.SettableClock
) -> None:
    t = Team(fcrm)
    t.ana.create_follow_up_policy(t.past.id, "5 days", member_id=t.bradley_m.id)
    kim = t.ana.create_contact("Kim")
    lee = t.ana.create_contact("Lee")
    t.ana.add_to_bucket(t.past.id, kim.id)
    # Bradley must see Lee to be given a task on Lee (issue 13): a bucket without a policy.
    shown = t.ana.create_bucket("Shown")
    t.ana.grant_access(shown.id, t.bradley_m.id)
    t.ana.add_to_bucket(shown.id, lee.id)
    t.ana.create_task(lee.id, START + days(1), "first", member_id=t.bradley_m.id)
    t.bradley.create_task(kim.id, START + days(9), "later")
    rows = t.bradley.follow_ups(at=START + days(10))
    assert [(r.kind, r.contact.id) for r in rows] == [
        (RowKind.TASK, lee.id),
        (RowKind.POLICY, kim.id),
        (RowKind.TASK, kim.id),
    ]
    assert [r.contact.id for r in t.bradley.follow_ups(at=START + days(10), limit=2)] == [
        lee.id,
        kim.id,
    ]


def test_permissions(fcrm: teamcrm.CRM) -> None:
    t = Team(fcrm)
    t.ana.change_settings(bucket_management="managers")
    with pytest.raises(teamcrm.PermissionDenied):
        t.carl.create_follow_up_policy(t.past.id, "30 days")
    pol = t.ana.create_follow_up_policy(t.past.id, "30 days", member_id=t.bradley_m.id)
    with pytest.raises(teamcrm.AlreadyExists):
        t.ana.create_follow_up_policy(t.past.id, "10 days", member_id=t.bradley_m.id)
    with pytest.raises(teamcrm.PermissionDenied):
        t.carl.follow_ups(t.bradley_m.id)
    with pytest.raises(teamcrm.PermissionDenied):
        t.carl.change_follow_up_cadence(pol.id, "2 days")
    with pytest.raises(teamcrm.PermissionDenied):
        t.carl.create_task(t.ana.create_contact("Z").id, START, member_id=t.bradley_m.id)
    assert t.ana.follow_ups(t.bradley_m.id) == []
    assert [p.id for p in t.bradley.follow_up_policies()] == [pol.id]
    assert [p.id for p in t.ana.follow_up_policies(bucket_id=t.past.id)] == [pol.id]
    personal = t.carl.create_bucket("mine", personal=True)
    with pytest.raises(teamcrm.NotFound):
        t.ana.create_follow_up_policy(personal.id, "1 day")
    with pytest.raises(teamcrm.PermissionDenied):
        t.carl.create_follow_up_policy(personal.id, "1 day", member_id=t.ana.member_id)
    hidden = t.ana.create_bucket("Hidden")
    with pytest.raises(teamcrm.ValidationError, match="member_id"):
        t.ana.create_follow_up_policy(hidden.id, "1 day", member_id=t.carl_m.id)
    # never another team
    _, other_admin = fcrm.create_team("Other", admin_name="Olga")
    olga = fcrm.as_member(other_admin.id)
    with pytest.raises(teamcrm.NotFound):
        olga.follow_ups(t.bradley_m.id)
    with pytest.raises(teamcrm.NotFound):
        olga.change_follow_up_cadence(pol.id, "1 day")


@pytest.mark.parametrize(
    ("bad", "field"),
    [("fortnightly", "cadence"), ("0 days", "cadence"), (3, "cadence")],
)
def test_bad_cadence(fcrm: teamcrm.CRM, bad: object, field: str) -> None:
    t = Team(fcrm)
    with pytest.raises(teamcrm.ValidationError) as info:
        t.ana.create_follow_up_policy(t.past.id, bad)  # type: ignore[arg-type]
    assert info.value.field == field


def test_bad_arguments(fcrm: teamcrm.CRM) -> None:
    t = Team(fcrm)
    with pytest.raises(teamcrm.ValidationError, match="limit"):
        t.ana.follow_ups(limit=0)
    with pytest.raises(teamcrm.ValidationError, match="at"):
        t.ana.follow_ups(at=datetime(2026, 1, 1))
    with pytest.raises(teamcrm.ValidationError, match="policy_id"):
        t.ana.remove_follow_up_policy("nope")
    with pytest.raises(teamcrm.ValidationError, match="task_id"):
        t.ana.complete_task("nope")
    with pytest.raises(teamcrm.NotFound):
        t.ana.remove_follow_up_policy("fp_" + "0" * 26)
