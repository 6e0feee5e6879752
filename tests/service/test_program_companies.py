"""Programs triggered by a company entering a bucket.

Issue 15: "a contact (or company) enters a bucket".

A ``company_bucket_entered`` program attached to a bucket enrols, when a
company enters the bucket, the contacts linked to the company that the
owner may see then - each as a run of its own that records the company -
and those runs stop (``company_left_bucket``) when the company leaves the
bucket or is deleted.  Every test runs on memory, SQLite and PostgreSQL
(when a test server is set).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import pg_support
import teamcrm
from teamcrm import Condition, EnrolmentState, EventName, Step, Trigger, ValidationError
from teamcrm.service.reactions import Occasion


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


@attrs.define
class World:
    """Admin Ana, agent Susan; Acme (Susan's) with Kim and Lee (hers) and Max (Ana's, hidden)."""

    crm: teamcrm.CRM
    ana: teamcrm.MemberSession
    susan: teamcrm.MemberSession
    accounts: teamcrm.Bucket  # Susan's personal "Key accounts"
    shared: teamcrm.Bucket  # a team bucket Susan edits
    acme: teamcrm.Company
    kim: teamcrm.Contact
    lee: teamcrm.Contact
    max: teamcrm.Contact


@pytest.fixture
def w(crm: teamcrm.CRM) -> World:
    _, admin = crm.create_team("Contactually", admin_name="Ana")
    ana = crm.as_member(admin.id)
    susan = crm.as_member(ana.add_member("Susan").id)
    shared = ana.create_bucket("Susan's Customers")
    ana.grant_access(shared.id, susan.member_id, level="editor")
    accounts = susan.create_bucket("Key accounts", personal=True)
    acme = susan.create_company("Acme")
    kim = susan.link_company(susan.create_contact("Kim", emails=["kim@acme.test"]).id, acme.id)
    lee = susan.link_company(susan.create_contact("Lee").id, acme.id)
    hidden = ana.link_company(ana.create_contact("Max").id, acme.id)  # Susan cannot see Max
    return World(crm, ana, susan, accounts, shared, acme, kim, lee, hidden)


def _welcome(w: World, **extra: object) -> teamcrm.Program:
    """Susan's program: the people of a company entering Key accounts join her team bucket."""
    return w.susan.create_program(
        "Welcome the account's people",
        Trigger(kind="company_bucket_entered", bucket_id=w.accounts.id),
        [
            Step(kind="add_to_bucket", bucket_id=w.shared.id),
            Step(kind="create_task", days=7, text="Meet the account"),
        ],
        **extra,  # type: ignore[arg-type]
    )


def _events(w: World, name: EventName) -> list[teamcrm.DomainEvent]:
    return [m.event for m in w.ana.events() if m.event.name is name]


def test_a_company_entering_enrols_its_contacts_the_owner_may_see(w: World) -> None:
    program = _welcome(w)
    w.susan.add_to_bucket(w.accounts.id, w.acme.id)
    because = f"company {w.acme.id} entered bucket {w.accounts.id}"
    for contact in (w.kim, w.lee):
        [run] = w.susan.contact_programs(contact.id)
        assert (run.program_id, run.state, run.next_step) == (
            program.id,
            EnrolmentState.ACTIVE,
            "add_to_bucket",
        )
        assert (run.company_id, run.enrolled_because) == (w.acme.id, because)
    assert w.ana.contact_programs(w.max.id) == []  # Susan may not see Max: not enrolled
    report = w.susan.program_report(program.id)
    assert (report.enrolled, report.active, report.companies) == (2, 2, {w.acme.id: 2})
    [event] = _events(w, EventName.PROGRAM_ENROLLED)
    assert event.subject_id == program.id
    assert sorted(event.data["contact_ids"]) == sorted([w.kim.id, w.lee.id])  # type: ignore[arg-type]
    assert event.data["company_ids"] == [w.acme.id, w.acme.id]
    # The runs are ordinary runs of the contacts: the runner runs their steps.
    assert w.crm.run_programs().ran == 2
    assert {w.kim.id, w.lee.id} <= {m.item_id for m in w.ana.bucket_items(w.shared.id)}
    assert w.max.id not in {m.item_id for m in w.ana.bucket_items(w.shared.id)}


def test_the_company_leaving_the_bucket_stops_the_runs_it_started(w: World) -> None:
    program = _welcome(w)
    w.susan.add_to_bucket(w.accounts.id, w.acme.id)
    kim_own = w.susan.create_program(  # Kim's own run elsewhere is not the company's
        "Kim's own",
        Trigger(kind="bucket_entered", bucket_id=w.accounts.id),
        [Step(kind="notify", text="In key accounts")],
    )
    w.susan.add_to_bucket(w.accounts.id, w.kim.id)
    assert w.susan.remove_from_bucket(w.accounts.id, w.acme.id) == [w.acme.id]
    runs = {r.program_id: r for r in w.susan.contact_programs(w.kim.id)}
    assert (runs[program.id].state, runs[program.id].reason) == (
        EnrolmentState.STOPPED,
        "stopped: company_left_bucket",
    )
    assert runs[program.id].enrolled_because is not None  # still explained
    assert runs[kim_own.id].state is EnrolmentState.ACTIVE
    assert w.susan.program_report(program.id).stopped == {"company_left_bucket": 2}
    stops = _events(w, EventName.PROGRAM_ENROLMENT_STOPPED)
    assert {(e.data["contact_id"], e.data["company_id"], e.data["reason"]) for e in stops} == {
        (w.kim.id, w.acme.id, "company_left_bucket"),
        (w.lee.id, w.acme.id, "company_left_bucket"),
    }
    assert w.crm.run_programs().ran == 1  # only Kim's own run is left


def test_deleting_the_company_stops_the_runs_it_started(w: World) -> None:
    program = _welcome(w)
    w.susan.add_to_bucket(w.accounts.id, w.acme.id)
    w.susan.delete_company(w.acme.id)
    assert w.susan.program_report(program.id).stopped == {"company_left_bucket": 2}
    assert w.crm.run_programs().claimed == 0


def test_a_contact_linked_later_is_not_enrolled_and_unlinking_does_not_stop(w: World) -> None:
    """The decision of docs/programs.md: the company's entry is the trigger, not the link."""
    program = _welcome(w)
    w.susan.add_to_bucket(w.accounts.id, w.acme.id)
    ola = w.susan.create_contact("Ola")
    w.susan.link_company(ola.id, w.acme.id)
    assert w.susan.contact_programs(ola.id) == []
    w.susan.unlink_company(w.kim.id, w.acme.id)
    [run] = w.susan.contact_programs(w.kim.id)
    assert run.state is EnrolmentState.ACTIVE
    assert w.susan.program_report(program.id).enrolled == 2
    # The company entering again enrols the contacts linked then: Ola now, not Kim
    # (unlinked); Lee ran once already (re_enrol="never").
    w.susan.remove_from_bucket(w.accounts.id, w.acme.id)
    w.susan.add_to_bucket(w.accounts.id, w.acme.id)
    report = w.susan.program_report(program.id)
    assert (report.enrolled, report.active) == (3, 1)
    assert [r.state for r in w.susan.contact_programs(ola.id)] == [EnrolmentState.ACTIVE]
    w.susan.update_program(program.id, re_enrol="after_finished")
    w.susan.remove_from_bucket(w.accounts.id, w.acme.id)
    w.susan.add_to_bucket(w.accounts.id, w.acme.id)
    report = w.susan.program_report(program.id)
    assert (report.enrolled, report.active) == (5, 2)  # Lee and Ola again, not Kim
    assert [r.state for r in w.susan.contact_programs(w.kim.id)] == [EnrolmentState.STOPPED]


def test_conditions_and_triggers_of_contacts_and_companies_stay_apart(w: World) -> None:
    program = _welcome(w, conditions=[Condition(kind="has_email")])
    w.susan.add_to_bucket(w.accounts.id, w.lee.id)  # a contact entering: not this trigger
    assert w.susan.program_report(program.id).enrolled == 0
    w.susan.add_to_bucket(w.accounts.id, w.acme.id)
    assert [r.program_id for r in w.susan.contact_programs(w.kim.id)] == [program.id]
    assert w.susan.contact_programs(w.lee.id) == []  # no email: the condition fails
    w.susan.remove_from_bucket(w.accounts.id, w.lee.id)  # a contact leaving: no stop
    assert w.susan.program_report(program.id).active == 1


def test_two_companies_of_one_contact_enrol_it_once(w: World) -> None:
    program = _welcome(w)
    globex = w.susan.create_company("Globex")
    w.susan.link_company(w.kim.id, globex.id)
    w.susan.add_to_bucket(w.accounts.id, [globex.id, w.acme.id])
    report = w.susan.program_report(program.id)
    assert report.enrolled == 2
    assert sum(report.companies.values()) == 2
    # Globex leaving stops only the run it started (if Kim's was Globex's).
    [kim_run] = w.susan.contact_programs(w.kim.id)
    w.susan.remove_from_bucket(w.accounts.id, globex.id)
    stopped = w.susan.program_report(program.id).stopped
    assert stopped == ({"company_left_bucket": 1} if kim_run.company_id == globex.id else {})


def test_a_rolled_back_add_enrols_nobody(w: World) -> None:
    program = _welcome(w)

    def boom(occasion: Occasion) -> None:
        raise RuntimeError("the application's reaction failed")

    w.crm.reactions.add(EventName.BUCKET_ITEMS_ADDED, "app", "fail", boom)
    with pytest.raises(RuntimeError):
        w.susan.add_to_bucket(w.accounts.id, w.acme.id)
    assert w.susan.program_report(program.id).enrolled == 0
    assert w.susan.contact_programs(w.kim.id) == []


def test_library_copies_attach_to_a_bucket_and_paused_programs_enrol_nobody(w: World) -> None:
    template = w.ana.create_program(
        "Account welcome",
        Trigger(kind="company_bucket_entered", bucket_id=w.shared.id),
        [Step(kind="notify", text="New account")],
    )
    library = w.ana.publish_program(template.id)
    mine = w.susan.copy_program(library.id, bucket_id=w.accounts.id)
    assert (mine.trigger.kind, mine.trigger.bucket_id) == (
        teamcrm.TriggerKind.COMPANY_BUCKET_ENTERED,
        w.accounts.id,
    )
    w.susan.pause_program(mine.id)
    w.susan.add_to_bucket(w.accounts.id, w.acme.id)
    assert w.susan.program_report(mine.id).enrolled == 0
    with pytest.raises(ValidationError) as err:
        Trigger(kind="company_bucket_entered", bucket_id=w.accounts.id, days=3)
    assert err.value.field == "Trigger.days"
    with pytest.raises(ValidationError) as err:
        w.susan.create_program(
            "No bucket", Trigger(kind="company_bucket_entered"), [Step(kind="notify", text="x")]
        )
    assert err.value.field == "Program.trigger.bucket_id"
