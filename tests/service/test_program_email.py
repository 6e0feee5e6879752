"""Programs' email and wait steps (issue 15), on memory, SQLite and PostgreSQL.

* an email step renders its template for the contact, sends it through the
  sender port, and logs it as the owner's ``email`` interaction (outcome
  ``sent``) in the step's own unit: follow-ups reset, the address is
  validated, and the program's own email is no "reply";
* an opted-out contact, or one without an address, is skipped with the
  reason, and the run goes on; opting out stops the contact's runs;
* a send that fails rolls the step back (no interaction logged) and is
  retried; it is sent once when it succeeds;
* a wait step makes the next step due when the wait ends, in the owner's
  time zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

import pg_support
import teamcrm
from teamcrm import EventName, MemorySender, Step, Trigger
from teamcrm.program import backoff


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


@attrs.define
class World:
    """Susan (in New York) with a personal drip bucket."""

    crm: teamcrm.CRM
    clock: teamcrm.SettableClock
    ana: teamcrm.MemberSession
    susan: teamcrm.MemberSession
    drip: teamcrm.Bucket


@pytest.fixture
def w(crm: teamcrm.CRM, clock: teamcrm.SettableClock) -> World:
    _, admin = crm.create_team("Contactually", admin_name="Ana")
    ana = crm.as_member(admin.id)
    susan_id = ana.add_member("Susan", email="susan@example.com", time_zone="America/New_York")
    susan = crm.as_member(susan_id.id)
    return World(crm, clock, ana, susan, susan.create_bucket("Drip", personal=True))


def _drip(w: World) -> teamcrm.Program:
    """Seed 001: validate an address "by scheduling drip emails"."""
    return w.susan.create_program(
        "Drip",
        Trigger(kind="bucket_entered", bucket_id=w.drip.id),
        [
            Step(
                kind="send_email",
                subject="Hello {{ contact.first_name | default: 'there' }}",
                body="Hi {{ contact.first_name }},\n\n<b>{{ member.name }}</b> of {{ team.name }}",
            ),
            Step(kind="wait", wait={"weekday": "monday", "hour": 9}),
            Step(kind="notify", text="Drip done"),
        ],
    )


def test_an_email_step_sends_once_and_logs_the_owners_email_in_the_same_unit(w: World) -> None:
    program = _drip(w)
    kim = w.susan.create_contact("Kim", emails=["kim@example.com"])
    w.susan.add_to_bucket(w.drip.id, kim.id)
    sender = MemorySender()
    report = w.crm.run_programs(sender=sender)
    assert (report.ran, report.failures) == (1, ())
    [message] = sender.sent
    assert (message.to, message.subject, message.reply_to) == (
        "kim@example.com",
        "Hello Kim",
        "susan@example.com",
    )
    assert "<b>Susan</b>" in message.text
    assert "&lt;b&gt;Susan&lt;/b&gt;" in (message.html or "")  # the HTML part escapes all
    [email] = w.susan.interactions_for_contact(kim.id)
    assert (email.kind, email.author_id, email.outcome, email.via) == (
        teamcrm.InteractionKind.EMAIL,
        w.susan.member_id,
        teamcrm.Outcome.SENT,
        "kim@example.com",
    )
    assert w.susan.contact(kim.id).emails[0].validated
    # the program's own email is no reply: the run goes on
    [run] = w.susan.contact_programs(kim.id)
    assert (run.state, run.next_step) == (teamcrm.EnrolmentState.ACTIVE, "wait")
    assert w.susan.program_report(program.id).stopped == {}
    assert w.crm.run_programs(sender=sender).ran == 1  # the wait
    assert len(sender.sent) == 1


def test_a_wait_ends_in_the_owners_time_zone(w: World) -> None:
    _drip(w)
    kim = w.susan.create_contact("Kim", emails=["kim@example.com"])
    w.susan.add_to_bucket(w.drip.id, kim.id)
    sender = MemorySender()
    w.crm.run_programs(sender=sender)  # the email (Monday 2026-01-05 09:00 UTC)
    w.crm.run_programs(sender=sender)  # the wait: until Monday 09:00 in New York
    [run] = w.susan.contact_programs(kim.id)
    monday_9_new_york = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # 09:00 EST, same day
    assert (run.next_step, run.due_at) == ("notify", monday_9_new_york)
    assert w.crm.run_programs(monday_9_new_york - timedelta(seconds=1)).claimed == 0
    done = w.crm.run_programs(monday_9_new_york)
    assert done.completed == 1


def test_opted_out_or_addressless_contacts_are_skipped_with_the_reason(w: World) -> None:
    _drip(w)
    lee = w.susan.create_contact("Lee")  # no address
    w.susan.add_to_bucket(w.drip.id, lee.id)
    sender = MemorySender()
    before = w.ana.events()[-1].seq
    w.crm.run_programs(sender=sender)
    assert sender.sent == []
    assert w.susan.interactions_for_contact(lee.id) == []
    [ran] = [m.event for m in w.ana.events(before) if m.event.name is EventName.PROGRAM_STEP_RAN]
    assert ran.data["skipped"] == "no_email"
    [run] = w.susan.contact_programs(lee.id)
    assert run.next_step == "wait"  # skipped, and the run goes on


def test_opting_out_stops_the_contacts_runs(w: World) -> None:
    program = _drip(w)
    kim = w.susan.create_contact("Kim", emails=["kim@example.com"])
    w.susan.add_to_bucket(w.drip.id, kim.id)
    w.susan.set_email_opt_out(kim.id, True)
    assert w.susan.program_report(program.id).stopped == {"opted_out": 1}
    sender = MemorySender()
    assert w.crm.run_programs(sender=sender).claimed == 0
    assert sender.sent == []


def test_a_failed_send_rolls_the_step_back_and_is_sent_once_when_it_succeeds(w: World) -> None:
    _drip(w)
    kim = w.susan.create_contact("Kim", emails=["kim@example.com"])
    w.susan.add_to_bucket(w.drip.id, kim.id)
    down = MemorySender(fail_for=["kim@example.com"])
    first = w.crm.run_programs(sender=down)
    assert (first.retried, down.sent) == (1, [])
    assert "DeliveryError" in first.failures[0][1]
    assert w.susan.interactions_for_contact(kim.id) == []  # nothing of the step was kept
    up = MemorySender()
    retry_at = w.clock.now() + backoff(1)
    assert w.crm.run_programs(retry_at, sender=up).ran == 1
    assert [m.to for m in up.sent] == ["kim@example.com"]
    assert len(w.susan.interactions_for_contact(kim.id)) == 1


def test_an_email_step_without_a_sender_fails_visibly(w: World) -> None:
    _drip(w)
    kim = w.susan.create_contact("Kim", emails=["kim@example.com"])
    w.susan.add_to_bucket(w.drip.id, kim.id)
    report = w.crm.run_programs()
    assert report.retried == 1
    assert "needs a sender" in report.failures[0][1]
    [run] = w.susan.contact_programs(kim.id)
    assert "needs a sender" in run.reason


def test_a_task_due_in_business_days_skips_the_weekend_in_the_members_zone(w: World) -> None:
    w.susan.create_program(
        "Call back",
        Trigger(kind="bucket_entered", bucket_id=w.drip.id),
        [Step(kind="create_task", days=1, business_days=True, text="Call back")],
    )
    friday_10_new_york = datetime(2026, 1, 9, 15, 0, tzinfo=UTC)
    w.clock.set(friday_10_new_york)
    kim = w.susan.create_contact("Kim")
    w.susan.add_to_bucket(w.drip.id, kim.id)
    w.crm.run_programs()
    [task] = w.susan.tasks()
    assert task.due_at == datetime(2026, 1, 12, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
