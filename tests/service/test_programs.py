"""Programs (issue 15): saving, enrolling in the trigger's unit, stopping, running steps.

Every test runs on memory, SQLite and PostgreSQL (when a test server is set).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pg_support
import teamcrm
from teamcrm import (
    Condition,
    EnrolmentState,
    EventName,
    NotFound,
    PermissionDenied,
    Step,
    Trigger,
    ValidationError,
)
from teamcrm.backup import export_team, import_team
from teamcrm.program import MAX_ATTEMPTS, backoff
from teamcrm.service.program_runner import _Lost, _run_step
from teamcrm.service.reactions import Occasion

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


@attrs.define
class World:
    """Seed 000: admin Ana, agents Susan and Brad; Susan's team bucket and personal bucket."""

    crm: teamcrm.CRM
    clock: teamcrm.SettableClock
    ana: teamcrm.MemberSession
    susan: teamcrm.MemberSession
    brad: teamcrm.MemberSession
    shared: teamcrm.Bucket
    mine: teamcrm.Bucket


@pytest.fixture
def w(crm: teamcrm.CRM, clock: teamcrm.SettableClock) -> World:
    _, admin = crm.create_team("Contactually", admin_name="Ana")
    ana = crm.as_member(admin.id)
    susan = crm.as_member(ana.add_member("Susan").id)
    brad = crm.as_member(ana.add_member("Brad").id)
    shared = ana.create_bucket("Susan's Customers")
    ana.grant_access(shared.id, susan.member_id, level="editor")
    mine = susan.create_bucket("Customer Follow up 1 Month", personal=True)
    return World(crm, clock, ana, susan, brad, shared, mine)


def _share_program(w: World, **extra: object) -> teamcrm.Program:
    """Susan's program: contacts entering her personal bucket join her team bucket."""
    return w.susan.create_program(
        "Share my customers",
        Trigger(kind="bucket_entered", bucket_id=w.mine.id),
        [Step(kind="add_to_bucket", bucket_id=w.shared.id)],
        **extra,  # type: ignore[arg-type]
    )


def _buckets_of(session: teamcrm.MemberSession, contact_id: str) -> set[str]:
    return {b.name for b in session.buckets() if contact_id in session_items(session, b.id)}


def session_items(session: teamcrm.MemberSession, bucket_id: str) -> set[str]:
    return {m.item_id for m in session.bucket_items(bucket_id)}  # type: ignore[arg-type]


# ------------------------------------------------------------------ seed 000
def test_susans_program_puts_her_personal_contacts_in_her_team_bucket(w: World) -> None:
    """Seed 000: "a program to automatically bucket her contacts into her shared bucket"."""
    program = _share_program(w)
    kim = w.susan.create_contact("Kim")
    w.susan.add_to_bucket(w.mine.id, kim.id)
    [run] = w.susan.contact_programs(kim.id)
    assert (run.state, run.next_step) == (EnrolmentState.ACTIVE, "add_to_bucket")
    assert kim.id not in session_items(w.ana, w.shared.id)
    report = w.crm.run_programs()
    assert (report.claimed, report.ran, report.completed) == (1, 1, 1)
    assert kim.id in session_items(w.ana, w.shared.id)
    assert w.susan.program_report(program.id) == teamcrm.ProgramReport(
        program_id=program.id,
        name="Share my customers",
        state=teamcrm.ProgramState.ACTIVE,
        enrolled=1,
        active=0,
        completed=1,
        stopped={},
        failed=0,
    )
    [done] = w.susan.contact_programs(kim.id)
    assert (done.state, done.next_step, done.reason) == (
        EnrolmentState.COMPLETED,
        None,
        "completed every step",
    )
    assert w.crm.run_programs().claimed == 0  # nothing left to run


def test_a_step_and_the_enrolments_advance_commit_together_with_their_events(w: World) -> None:
    """The step's own events (bucket.items_added) and program.step_ran are in one commit."""
    _share_program(w)
    kim = w.susan.create_contact("Kim")
    w.susan.add_to_bucket(w.mine.id, kim.id)
    before = w.ana.events()[-1].seq
    w.crm.run_programs()
    names = [m.event.name for m in w.ana.events(before)]
    assert names == [EventName.BUCKET_ITEMS_ADDED, EventName.PROGRAM_STEP_RAN]


# ------------------------------------------------------------------ saving
def test_steps_and_triggers_are_checked_when_built() -> None:
    """ValidationError names the field and the value."""
    with pytest.raises(ValidationError, match=r"Step\.bucket_id") as info:
        Step(kind="add_to_bucket")
    assert info.value.field == "Step.bucket_id"
    with pytest.raises(ValidationError, match=r"Step\.status"):
        Step(kind="create_task", status="won")
    with pytest.raises(ValidationError, match=r"Trigger\.pool_id"):
        Trigger(kind="contact_created", pool_id="lp_" + "0" * 26)
    with pytest.raises(ValidationError, match=r"Condition\.field"):
        Condition(kind="field_equals", value=3)
    with pytest.raises(ValidationError, match=r"Step\.kind"):
        Step(kind="dance")
    same = teamcrm.BucketId("bk_" + "1" * 26)
    with pytest.raises(ValidationError, match="must differ"):
        Step(kind="move_between_buckets", bucket_id=same, to_bucket_id=same)


def test_email_templates_and_waits_are_checked_when_a_step_is_built() -> None:
    """An unknown template field is refused at save, naming the placeholder; so is a bad wait."""
    with pytest.raises(teamcrm.TemplateError) as info:
        Step(kind="send_email", subject="Hi {{ contact.nickname }}", body="Hello")
    assert info.value.field == "Template.subject"
    assert info.value.placeholder == "{{ contact.nickname }}"
    with pytest.raises(ValidationError, match="wait"):
        Step(kind="wait", wait={"fortnights": 2})
    with pytest.raises(ValidationError, match=r"Step\.wait"):
        Step(kind="wait")
    with pytest.raises(ValidationError, match=r"Step\.subject"):
        Step(kind="notify", text="x", subject="Hi")
    step = Step(kind="wait", wait=teamcrm.WaitBusinessDays(2))
    assert step.wait == {"business_days": 2}


def test_saving_checks_the_owners_rights_and_the_teams_statuses(w: World) -> None:
    other = w.ana.create_bucket("Past Clients")  # Susan may not see it
    with pytest.raises(ValidationError) as info:
        w.susan.create_program(
            "x",
            Trigger(kind="bucket_entered", bucket_id=w.mine.id),
            [Step(kind="add_to_bucket", bucket_id=other.id)],
        )
    assert (info.value.field, info.value.value) == ("steps[0].bucket_id", other.id)
    w.ana.grant_access(other.id, w.susan.member_id, level="viewer")
    with pytest.raises(ValidationError, match="may not edit"):
        w.susan.create_program(
            "x",
            Trigger(kind="bucket_entered", bucket_id=w.mine.id),
            [Step(kind="add_to_bucket", bucket_id=other.id)],
        )
    with pytest.raises(ValidationError) as info:
        w.susan.create_program(
            "x", Trigger(kind="contact_created"), [Step(kind="set_status", status="gone fishing")]
        )
    assert (info.value.field, info.value.value) == ("steps[0].status", "gone fishing")
    with pytest.raises(ValidationError, match="managers and admins"):
        w.susan.create_program(
            "x",
            Trigger(kind="contact_created"),
            [Step(kind="create_task", member_id=w.brad.member_id, days=1)],
        )
    with pytest.raises(ValidationError, match="attached to a bucket"):
        w.susan.create_program(
            "x", Trigger(kind="bucket_entered"), [Step(kind="notify", text="hi")]
        )
    assert w.susan.programs() == []


def test_members_see_their_own_programs_and_the_library_only(w: World) -> None:
    program = _share_program(w)
    with pytest.raises(NotFound):
        w.brad.program(program.id)
    with pytest.raises(NotFound):
        w.brad.pause_program(program.id)
    assert w.brad.programs() == []
    assert [p.id for p in w.ana.programs()] == [program.id]


# ------------------------------------------------------------------ team library
def test_library_flow_of_seed_003_publish_copy_attach_to_the_inbound_bucket(w: World) -> None:
    """An admin publishes; a member copies, attaches to the bucket receiving routed leads."""
    template = w.ana.create_program(
        "Welcome new leads",
        Trigger(kind="bucket_entered", bucket_id=w.shared.id),
        [Step(kind="create_task", days=1, text="Call the new lead")],
    )
    with pytest.raises(PermissionDenied):
        w.brad.publish_program(template.id)
    published = w.ana.publish_program(template.id)
    assert published.scope is teamcrm.ProgramScope.TEAM_LIBRARY
    assert [p.id for p in w.brad.programs()] == [published.id]
    inbound = w.brad.inbound_bucket()
    copy = w.brad.copy_program(published.id, bucket_id=inbound.id)
    assert (copy.owner_id, copy.copied_from, copy.trigger.bucket_id) == (
        w.brad.member_id,
        published.id,
        inbound.id,
    )
    # Later edits to the original do not reach the copy.
    w.ana.update_program(published.id, name="Renamed")
    assert w.brad.program(copy.id).name == "Welcome new leads"
    web = w.ana.create_bucket("Web")
    w.ana.create_pool(
        "Web leads", source_bucket_ids=[web.id], member_ids=[w.brad.member_id], method="round_robin"
    )
    lead = w.ana.create_contacts([{"first_name": "Lena"}], bucket_id=web.id)[0]
    assert [r.program_id for r in w.ana.contact_programs(lead.id)] == [copy.id]
    w.crm.run_programs()
    [task] = w.brad.tasks()
    assert (task.contact_id, task.note) == (lead.id, "Call the new lead")
    # The library program itself runs for nobody.
    assert w.ana.program_report(published.id).enrolled == 0


def test_a_copy_must_be_attached_to_a_bucket_the_member_may_see(w: World) -> None:
    template = w.ana.create_program(
        "T", Trigger(kind="bucket_entered", bucket_id=w.shared.id), [Step(kind="notify", text="x")]
    )
    published = w.ana.publish_program(template.id)
    with pytest.raises(ValidationError) as info:
        w.brad.copy_program(published.id)  # Brad cannot see Susan's Customers
    assert info.value.field == "trigger.bucket_id"
    with pytest.raises(ValidationError, match="not in the team library"):
        w.ana.copy_program(template.id)


# ------------------------------------------------------------------ triggers
def test_rollback_of_the_trigger_enrols_nobody(w: World) -> None:
    program = _share_program(w)

    def refuse(occasion: Occasion) -> None:
        raise RuntimeError("the application refuses")

    w.crm.reactions.add(EventName.PROGRAM_ENROLLED, "test", "refuse", refuse)
    kim = w.susan.create_contact("Kim")
    with pytest.raises(RuntimeError):
        w.susan.add_to_bucket(w.mine.id, kim.id)
    assert w.susan.program_report(program.id).enrolled == 0
    assert kim.id not in session_items(w.susan, w.mine.id)


def test_created_assigned_and_status_triggers_enrol(w: World) -> None:
    created = w.susan.create_program(
        "New", Trigger(kind="contact_created"), [Step(kind="notify", text="new contact")]
    )
    won = w.susan.create_program(
        "Won",
        Trigger(kind="status_changed", status="priority"),
        [Step(kind="notify", text="won!")],
    )
    kim = w.susan.create_contact("Kim")
    assert [r.program_id for r in w.susan.contact_programs(kim.id)] == [created.id]
    w.susan.update_contact(kim.id, status="priority")
    assert {r.program_id for r in w.susan.contact_programs(kim.id)} == {created.id, won.id}
    # Brad's contact-created program does not see Susan's contact: not enrolled.
    w.brad.create_program("Mine", Trigger(kind="contact_created"), [Step(kind="notify", text="x")])
    lee = w.susan.create_contact("Lee")
    assert {r.name for r in w.ana.contact_programs(lee.id)} == {"New"}
    # lead assigned, one pool
    web = w.ana.create_bucket("Web")
    pool = w.ana.create_pool(
        "Web leads", source_bucket_ids=[web.id], member_ids=[w.brad.member_id], method="round_robin"
    )
    assigned = w.brad.create_program(
        "Leads", Trigger(kind="lead_assigned", pool_id=pool.id), [Step(kind="notify", text="go")]
    )
    lena = w.ana.create_contacts([{"first_name": "Lena"}], bucket_id=web.id)[0]
    assert assigned.id in {r.program_id for r in w.ana.contact_programs(lena.id)}


def test_one_run_at_a_time_and_re_enrol_policy(w: World) -> None:
    never = _share_program(w)
    again = w.susan.create_program(
        "Again",
        Trigger(kind="bucket_entered", bucket_id=w.mine.id),
        [Step(kind="notify", text="again")],
        re_enrol="after_finished",
    )
    kim = w.susan.create_contact("Kim")
    w.susan.add_to_bucket(w.mine.id, kim.id)
    w.crm.run_programs()
    w.susan.remove_from_bucket(w.mine.id, kim.id)
    w.susan.add_to_bucket(w.mine.id, kim.id)
    assert w.susan.program_report(never.id).enrolled == 1
    assert w.susan.program_report(again.id).enrolled == 2
    # while a run is active, entering again starts nothing
    w.susan.remove_from_bucket(w.mine.id, kim.id)  # stops the active 'again' run
    report = w.susan.program_report(again.id)
    assert (report.enrolled, report.completed, report.stopped) == (2, 1, {"left_bucket": 1})


# ------------------------------------------------------------------ stops
def test_each_stop_has_its_reason(w: World) -> None:
    program = w.susan.create_program(
        "Two",
        Trigger(kind="bucket_entered", bucket_id=w.mine.id),
        [Step(kind="notify", text="one"), Step(kind="notify", text="two")],
        re_enrol="after_finished",
    )
    kim, lee, max_ = (w.susan.create_contact(n) for n in ("Kim", "Lee", "Max"))
    w.susan.add_to_bucket(w.mine.id, [kim.id, lee.id, max_.id])
    w.susan.log_interaction("note", contact_ids=[kim.id], body="a note is no reply")
    w.susan.log_interaction("call", contact_ids=[kim.id], outcome="connected")
    w.susan.remove_from_bucket(w.mine.id, lee.id)
    assert w.susan.program_report(program.id).stopped == {"left_bucket": 1, "replied": 1}
    w.susan.pause_program(program.id)
    report = w.susan.program_report(program.id)
    assert report.stopped == {"left_bucket": 1, "program_paused": 1, "replied": 1}
    assert report.active == 0
    assert [r.reason for r in w.susan.contact_programs(kim.id)] == ["stopped: replied"]
    # paused: entering enrols nobody; resumed: it does again
    w.susan.remove_from_bucket(w.mine.id, max_.id)
    w.susan.add_to_bucket(w.mine.id, max_.id)
    assert w.susan.program_report(program.id).enrolled == 3
    w.susan.resume_program(program.id)
    w.susan.remove_from_bucket(w.mine.id, max_.id)
    w.susan.add_to_bucket(w.mine.id, max_.id)
    assert w.susan.program_report(program.id).enrolled == 4


def test_deleting_a_contact_or_a_program_removes_their_runs(w: World) -> None:
    program = _share_program(w)
    kim, lee = w.susan.create_contact("Kim"), w.susan.create_contact("Lee")
    w.susan.add_to_bucket(w.mine.id, [kim.id, lee.id])
    w.susan.delete_contact(kim.id)
    assert w.susan.program_report(program.id).enrolled == 1
    assert w.crm.run_programs().claimed == 1
    w.susan.delete_program(program.id)
    with pytest.raises(NotFound):
        w.susan.program_report(program.id)
    assert w.susan.contact_programs(lee.id) == []


def test_a_contact_the_owner_no_longer_sees_stops_the_run(w: World) -> None:
    """Personal programs act only on what the owner can see (checked at each step)."""
    program = w.susan.create_program(
        "Shared",
        Trigger(kind="bucket_entered", bucket_id=w.shared.id),
        [Step(kind="notify", text="x")],
    )
    kim = w.ana.create_contact("Kim")
    w.ana.add_to_bucket(w.shared.id, kim.id)
    assert w.susan.program_report(program.id).enrolled == 1
    w.ana.revoke_access(w.shared.id, w.susan.member_id)
    report = w.crm.run_programs()
    assert report.stopped == 1
    assert w.ana.program_report(program.id).stopped == {"not_visible": 1}


# ------------------------------------------------------------------ the runner
def test_a_failing_step_is_retried_with_backoff_then_failed_without_blocking_others(
    w: World,
) -> None:
    failing = w.ana.create_bucket("Flaky")
    w.ana.grant_access(failing.id, w.susan.member_id, level="editor")
    bad = w.susan.create_program(
        "Bad",
        Trigger(kind="bucket_entered", bucket_id=w.mine.id),
        [Step(kind="add_to_bucket", bucket_id=failing.id)],
    )
    good = _share_program(w)

    def smtp_down(occasion: Occasion) -> None:
        if occasion.event.subject_id == failing.id:
            raise ConnectionError("SMTP down")

    w.crm.reactions.add(EventName.BUCKET_ITEMS_ADDED, "test", "fail", smtp_down)
    kim = w.susan.create_contact("Kim")
    w.susan.add_to_bucket(w.mine.id, kim.id)
    first = w.crm.run_programs()
    assert (first.claimed, first.completed, first.retried) == (2, 1, 1)
    assert "SMTP down" in first.failures[0][1]
    assert w.susan.program_report(good.id).completed == 1
    now = w.clock.now()
    for attempt in range(1, MAX_ATTEMPTS):
        assert w.crm.run_programs(now).claimed == 0  # not due before its backoff
        now += backoff(attempt)
        report = w.crm.run_programs(now)
        assert report.claimed == 1
    assert report.failed == 1
    final = w.susan.program_report(bad.id)
    assert (final.failed, final.active) == (1, 0)
    [run] = [r for r in w.susan.contact_programs(kim.id) if r.program_id == bad.id]
    assert run.reason.startswith(f"failed after {MAX_ATTEMPTS} tries: ConnectionError")
    assert kim.id not in session_items(w.ana, failing.id)  # nothing half-written
    assert w.crm.run_programs(now + timedelta(days=1)).claimed == 0


def test_an_expired_lease_is_claimed_by_another_worker_and_the_late_worker_loses(
    w: World,
) -> None:
    _share_program(w)
    kim = w.susan.create_contact("Kim")
    w.susan.add_to_bucket(w.mine.id, kim.id)
    now = w.clock.now()
    lease = timedelta(minutes=5)
    with w.crm.store.unit_of_work() as uow:
        [slow] = uow.enrolments.claim_due(now, 10, owner="slow", until=now + lease)
        uow.commit()
    assert w.crm.run_programs(now, worker="fast").claimed == 0  # leased to "slow"
    taken = w.crm.run_programs(now + lease, worker="fast")
    assert (taken.claimed, taken.completed) == (1, 1)
    with pytest.raises((_Lost, teamcrm.ConcurrencyError)):
        _run_step(w.crm, slow, now + lease)
    assert session_items(w.ana, w.shared.id) == {kim.id}
    names = [m.event.name for m in w.ana.events()]
    assert names.count(EventName.PROGRAM_STEP_RAN) == 1


def test_run_programs_checks_its_arguments(w: World) -> None:
    with pytest.raises(ValidationError, match="limit"):
        w.crm.run_programs(limit=0)
    with pytest.raises(ValidationError, match="lease"):
        w.crm.run_programs(lease=timedelta(0))


# ------------------------------------------------------------------ exactly once, by property
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["claim", "run", "tick"]), st.integers(0, 2)), max_size=25
    )
)
def test_interleaved_workers_and_expiring_leases_commit_each_step_once(
    ops: list[tuple[str, int]],
) -> None:
    """Three workers claim, run late, and see leases expire in any order: no step runs twice.

    Nor does any contact get two emails from one step.
    """
    clock = teamcrm.SettableClock(START)
    with teamcrm.open("memory://", clock=clock) as crm:
        _, admin = crm.create_team("T", admin_name="Ana")
        ana = crm.as_member(admin.id)
        mine = ana.create_bucket("Mine", personal=True)
        shared = ana.create_bucket("Shared")
        program = ana.create_program(
            "P",
            Trigger(kind="bucket_entered", bucket_id=mine.id),
            [
                Step(kind="add_to_bucket", bucket_id=shared.id),
                Step(kind="send_email", subject="Hi {{ contact.first_name }}", body="Hello"),
                Step(kind="create_task", days=1),
            ],
        )
        kim = ana.create_contact("Kim", emails=["kim@example.com"])
        lee = ana.create_contact("Lee", emails=["lee@example.com"])
        ana.add_to_bucket(mine.id, [kim.id, lee.id])
        sender = teamcrm.MemorySender()
        lease = timedelta(minutes=5)
        held: dict[int, list[teamcrm.Enrolment]] = {0: [], 1: [], 2: []}
        for op, worker in ops:
            now = clock.now()
            if op == "tick":
                clock.set(now + timedelta(minutes=3))
            elif op == "claim":
                with crm.store.unit_of_work() as uow:
                    held[worker] += uow.enrolments.claim_due(
                        now, 1, owner=f"w{worker}", until=now + lease
                    )
                    uow.commit()
            elif held[worker]:
                claimed = held[worker].pop(0)
                with contextlib.suppress(_Lost, teamcrm.ConcurrencyError):
                    _run_step(crm, claimed, now, sender)
        later = clock.now() + lease
        for _ in range(6):
            crm.run_programs(later, sender=sender)
        ran = [m.event for m in ana.events() if m.event.name is EventName.PROGRAM_STEP_RAN]
        steps = [(e.subject_id, e.data["step"]) for e in ran]
        assert len(steps) == len(set(steps)) == 6
        assert sorted(m.to for m in sender.sent) == ["kim@example.com", "lee@example.com"]
        assert ana.program_report(program.id).completed == 2
        assert len(ana.tasks()) == 2
        assert session_items(ana, shared.id) == {kim.id, lee.id}


def test_a_stop_never_fails_on_a_workers_claim_and_the_worker_then_loses(w: World) -> None:
    """Removing a contact while a worker holds the claim stops the run; the step rolls back."""
    _share_program(w)
    kim = w.susan.create_contact("Kim")
    w.susan.add_to_bucket(w.mine.id, kim.id)
    now = w.clock.now()
    with w.crm.store.unit_of_work() as uow:
        [claimed] = uow.enrolments.claim_due(now, 1, owner="w", until=now + timedelta(minutes=5))
        uow.commit()
    w.susan.remove_from_bucket(w.mine.id, kim.id)  # no ConcurrencyError
    with pytest.raises((_Lost, teamcrm.ConcurrencyError)):
        _run_step(w.crm, claimed, now)
    assert session_items(w.ana, w.shared.id) == set()
    [run] = w.susan.contact_programs(kim.id)
    assert run.reason == "stopped: left_bucket"


def test_programs_and_their_runs_survive_a_backup_and_restore(w: World, tmp_path: Path) -> None:
    program = _share_program(w)
    kim = w.susan.create_contact("Kim")
    w.susan.add_to_bucket(w.mine.id, kim.id)
    text = io.StringIO()
    summary = export_team(w.crm.store, w.ana.team_id, text)
    assert (summary.counts["program"], summary.counts["enrolment"]) == (1, 1)
    with teamcrm.open(f"sqlite:///{tmp_path / 'restored.db'}") as restored:
        import_team(restored.store, io.StringIO(text.getvalue()))
        ana = restored.as_member(w.ana.member_id)
        assert ana.program(program.id) == program
        assert ana.program_report(program.id).active == 1
        assert restored.run_programs().completed == 1


def test_a_company_entering_a_bucket_enrols_nobody(w: World) -> None:
    """A ``bucket_entered`` program enrols contacts that enter, not companies.

    Companies have their trigger: tests/test_program_companies.py.
    """
    program = _share_program(w)
    acme = w.susan.create_company("Acme")
    kim = w.susan.create_contact("Kim")
    w.susan.link_company(kim.id, acme.id)
    w.susan.add_to_bucket(w.mine.id, [acme.id])
    assert w.susan.program_report(program.id).enrolled == 0
    assert w.susan.contact_programs(kim.id) == []  # nor the company's contacts
    assert w.crm.run_programs().claimed == 0
    w.susan.add_to_bucket(w.mine.id, [kim.id])  # the contact itself does
    assert w.susan.program_report(program.id).enrolled == 1
