"""The ``follow_up_overdue`` trigger: the runner's scan of the owner's due list (issue 15).

Every test runs on memory, SQLite and PostgreSQL (when a test server is set).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pg_support
import teamcrm
from teamcrm import EnrolmentState, EventName, Step, Trigger, ValidationError
from teamcrm.program import ProgramScope, TriggerKind


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


@attrs.define
class World:
    """Susan's personal "every 30 days" bucket, Brad's team bucket, and a program of Susan's."""

    crm: teamcrm.CRM
    clock: teamcrm.SettableClock
    ana: teamcrm.MemberSession
    susan: teamcrm.MemberSession
    brad: teamcrm.MemberSession
    mine: teamcrm.Bucket
    start: datetime


@pytest.fixture
def w(crm: teamcrm.CRM, clock: teamcrm.SettableClock) -> World:
    _, admin = crm.create_team("Contactually", admin_name="Ana")
    ana = crm.as_member(admin.id)
    susan = crm.as_member(ana.add_member("Susan").id)
    brad = crm.as_member(ana.add_member("Brad").id)
    mine = susan.create_bucket("Customer Follow up 1 Month", personal=True)
    susan.create_follow_up_policy(mine.id, "30 days")
    return World(crm, clock, ana, susan, brad, mine, crm.now())


def _program(w: World, days: int = 3, **extra: object) -> teamcrm.Program:
    return w.susan.create_program(
        "Overdue: remind me",
        Trigger(kind="follow_up_overdue", days=days),
        [Step(kind="notify", text="Overdue, call them")],
        **extra,  # type: ignore[arg-type]
    )


def _contact(w: World, name: str) -> teamcrm.Contact:
    contact = w.susan.create_contact(name)
    w.susan.add_to_bucket(w.mine.id, contact.id)
    return contact


def _day(w: World, days: int) -> datetime:
    return w.start + timedelta(days=days)


def test_trigger_needs_days_and_only_this_kind_takes_them() -> None:
    assert Trigger(kind="follow_up_overdue", days=2).days == 2
    for bad in (None, 0, -1, 3651, "2"):
        with pytest.raises(ValidationError) as info:
            Trigger(kind="follow_up_overdue", days=bad)  # type: ignore[arg-type]
        assert info.value.field == "Trigger.days"
    with pytest.raises(ValidationError) as info:
        Trigger(kind="contact_created", days=2)
    assert (info.value.field, info.value.value) == ("Trigger.days", 2)


def test_enrols_once_the_follow_up_is_overdue_by_the_days(w: World) -> None:
    program = _program(w, days=3)
    kim = _contact(w, "Kim")
    # Due on day 30: two days overdue on day 32, three on day 33.
    report = w.crm.run_programs(_day(w, 32))
    assert (report.enrolled, report.claimed) == (0, 0)
    assert w.susan.contact_programs(kim.id) == []
    report = w.crm.run_programs(_day(w, 33))
    assert (report.enrolled, report.claimed, report.completed) == (1, 1, 1)
    [run] = w.susan.contact_programs(kim.id)
    assert (run.program_id, run.state) == (program.id, EnrolmentState.COMPLETED)
    assert [n.message for n in w.susan.notifications()] == [
        "Overdue: remind me: Overdue, call them"
    ]
    # Idempotent: still overdue, but already enrolled (re_enrol "never").
    for later in (33, 34, 60):
        assert w.crm.run_programs(_day(w, later)).enrolled == 0
    assert len(w.susan.contact_programs(kim.id)) == 1
    found = [m.event for m in w.ana.events()]
    [event] = [e for e in found if e.name == EventName.PROGRAM_FOLLOW_UPS_OVERDUE]
    assert (event.subject_id, event.data["contact_ids"], event.actor_id) == (
        program.id,
        [kim.id],
        None,
    )


def test_after_finished_enrols_again_only_in_a_new_overdue_episode(w: World) -> None:
    _program(w, days=1, re_enrol="after_finished")
    kim = _contact(w, "Kim")
    assert w.crm.run_programs(_day(w, 31)).enrolled == 1
    assert w.crm.run_programs(_day(w, 32)).enrolled == 0  # same episode: the run finished
    w.clock.set(_day(w, 40))
    w.susan.log_interaction("call", contact_ids=[kim.id], outcome="connected")  # resets it
    assert w.crm.run_programs(_day(w, 41)).enrolled == 0  # due again on day 70
    assert w.crm.run_programs(_day(w, 71)).enrolled == 1
    states = [r.state for r in w.susan.contact_programs(kim.id)]
    assert states == [EnrolmentState.COMPLETED, EnrolmentState.COMPLETED]


def test_an_active_run_is_not_doubled(w: World) -> None:
    w.susan.create_program(
        "Overdue: wait then remind",
        Trigger(kind="follow_up_overdue", days=1),
        [Step(kind="wait", wait={"days": 5}), Step(kind="notify", text="Still overdue")],
        re_enrol="after_finished",
    )
    kim = _contact(w, "Kim")
    assert w.crm.run_programs(_day(w, 31)).enrolled == 1
    assert w.crm.run_programs(_day(w, 32)).enrolled == 0  # waiting: still active
    [run] = w.susan.contact_programs(kim.id)
    assert run.state is EnrolmentState.ACTIVE


def test_only_running_programs_of_the_owner_and_only_what_the_owner_sees(w: World) -> None:
    paused = _program(w, days=1)
    w.susan.pause_program(paused.id)
    _contact(w, "Kim")
    # Brad's program: Susan's personal bucket is not on his list.
    w.brad.create_program(
        "Brad overdue", Trigger(kind="follow_up_overdue", days=1), [Step(kind="notify", text="x")]
    )
    library = w.ana.publish_program(paused.id)
    assert library.scope is ProgramScope.TEAM_LIBRARY
    report = w.crm.run_programs(_day(w, 40))
    assert (report.enrolled, report.claimed) == (0, 0)
    w.susan.resume_program(paused.id)
    assert w.crm.run_programs(_day(w, 40)).enrolled == 1


def test_conditions_are_checked_when_enrolling(w: World) -> None:
    w.susan.create_program(
        "Overdue with email",
        Trigger(kind="follow_up_overdue", days=1),
        [Step(kind="notify", text="x")],
        conditions=[teamcrm.Condition(kind="has_email")],
    )
    _contact(w, "Kim")
    lee = w.susan.create_contact("Lee", emails=["lee@example.com"])
    w.susan.add_to_bucket(w.mine.id, lee.id)
    assert w.crm.run_programs(_day(w, 31)).enrolled == 1
    assert len(w.susan.contact_programs(lee.id)) == 1


def test_a_deactivated_owner_is_skipped_and_others_go_on(w: World) -> None:
    _program(w, days=1)
    _contact(w, "Kim")
    brad_bucket = w.ana.create_bucket("Brad's Contacts")
    w.ana.grant_access(brad_bucket.id, w.brad.member_id, level="editor")
    w.brad.create_follow_up_policy(brad_bucket.id, "30 days")
    w.brad.create_program(
        "Brad overdue", Trigger(kind="follow_up_overdue", days=1), [Step(kind="notify", text="x")]
    )
    ann = w.ana.create_contact("Ann")
    w.ana.add_to_bucket(brad_bucket.id, ann.id)
    w.ana.deactivate_member(w.susan.member_id)
    assert w.crm.run_programs(_day(w, 31)).enrolled == 1
    assert len(w.brad.contact_programs(ann.id)) == 1


def test_the_scan_reads_the_list_in_batches(w: World) -> None:
    from teamcrm.service.program_overdue import enrol_overdue

    _program(w, days=1)
    for n in range(7):
        _contact(w, f"C{n}")
    assert enrol_overdue(w.crm, _day(w, 31), batch=3) == 7
    assert enrol_overdue(w.crm, _day(w, 31), batch=3) == 0


def test_with_trigger_lists_every_team_and_only_that_kind(crm: teamcrm.CRM) -> None:
    owners = []
    for team in ("A", "B"):
        _, admin = crm.create_team(team, admin_name="Admin")
        session = crm.as_member(admin.id)
        owners.append(session)
        session.create_program(
            'Say "follow_up_overdue"',  # the kind's name in a text is no match
            Trigger(kind="contact_created"),
            [Step(kind="notify", text='"follow_up_overdue"')],
        )
        session.create_program(
            "Overdue", Trigger(kind="follow_up_overdue", days=2), [Step(kind="notify", text="y")]
        )
    with crm.store.unit_of_work(write=False) as uow:
        found = uow.programs.with_trigger(TriggerKind.FOLLOW_UP_OVERDUE)
    assert [p.name for p in found] == ["Overdue", "Overdue"]
    assert {p.team_id for p in found} == {o.team_id for o in owners}
    assert [p.trigger.days for p in found] == [2, 2]


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    days=st.integers(min_value=1, max_value=5),
    touches=st.lists(st.integers(min_value=0, max_value=90), max_size=4),
    scans=st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=4),
)
def test_property_one_run_per_contact_and_episode(
    crm: teamcrm.CRM,
    clock: teamcrm.SettableClock,
    days: int,
    touches: list[int],
    scans: list[int],
) -> None:
    """Whatever the touches and scan times: never two active runs, never a run not overdue."""
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # each example: a new team, from the start
    clock.set(start)
    _, admin = crm.create_team("T", admin_name="Ana")
    ana = crm.as_member(admin.id)
    susan = crm.as_member(ana.add_member("Susan").id)
    mine = susan.create_bucket("Mine", personal=True)
    susan.create_follow_up_policy(mine.id, "30 days")
    susan.create_program(
        "Overdue",
        Trigger(kind="follow_up_overdue", days=days),
        [Step(kind="wait", wait={"days": 10}), Step(kind="notify", text="x")],
        re_enrol="after_finished",
    )
    kim = susan.create_contact("Kim")
    susan.add_to_bucket(mine.id, kim.id)
    events = sorted([(t, "touch") for t in touches] + [(s, "scan") for s in scans])
    last = start
    for offset, what in events:
        when = max(last, start + timedelta(days=offset))
        last = when
        if what == "touch":
            clock.set(when)
            susan.log_interaction("call", contact_ids=[kim.id], outcome="connected")
            continue
        overdue = {r.contact.id: r.days_overdue for r in susan.follow_ups(at=when)}
        before = len(susan.contact_programs(kim.id))
        crm.run_programs(when)  # other examples' teams share the store: count Kim's runs
        runs = susan.contact_programs(kim.id)
        assert sum(r.state is EnrolmentState.ACTIVE for r in runs) <= 1
        assert len(runs) - before in (0, 1)
        if len(runs) > before:
            assert overdue.get(kim.id, -1) >= days
        elif overdue.get(kim.id, -1) >= days:  # overdue, not enrolled: handled this episode
            assert runs
