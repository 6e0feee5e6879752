"""Lead intake (teamcrm.intake, MemberSession.intake_lead): parsing, dedupe, idempotency, races."""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
import pytest

import pg_support
import teamcrm
from teamcrm import EventName, ValidationError
from teamcrm.errors import PermissionDenied
from teamcrm.intake import parse_submission
from teamcrm.testing import store_snapshot

LEAD_EMAIL = """\
From: Leads Service <noreply@leads.example.net>
Reply-To: Maria Garcia <maria@example.com>
To: team@acme.example
Subject: New enquiry: 12 Elm Street
Message-ID: <abc123@leads.example.net>
Content-Type: text/plain; charset=utf-8

You have a new lead.

Name: Maria Garcia
Email: maria@example.com
Phone: (617) 555-0101
Message: Is the house on Elm Street
still available?
"""


# ------------------------------------------------------------------ parsing
def test_a_form_is_read_with_the_default_and_the_callers_mapping() -> None:
    sub = parse_submission(
        {
            "Full name": "Maria Garcia",
            "E-mail": "maria@example.com",
            "Phone Number": "+1 617 555 0101",
            "Comments": "Call me after 5",
            "budget_k": 450,
            "utm_campaign": "spring",
            "submission_id": "form-1",
        },
        mapping={"budget_k": "custom:budget", "utm_campaign": None},
    )
    assert (sub.first_name, sub.last_name) == ("Maria", "Garcia")
    assert sub.emails == ("maria@example.com",)
    assert sub.phones == ("+1 617 555 0101",)
    assert sub.message == "Call me after 5"
    assert dict(sub.custom_fields) == {"budget": 450}
    assert sub.key == "form-1"
    assert sub.channel == "form"


@pytest.mark.parametrize("kind", ["str", "bytes", "message"])
def test_a_lead_email_is_read_from_its_body_reply_to_and_message_id(kind: str) -> None:
    import email
    import email.policy

    payload: Any = {
        "str": LEAD_EMAIL,
        "bytes": LEAD_EMAIL.encode(),
        "message": email.message_from_string(LEAD_EMAIL, policy=email.policy.default),
    }[kind]
    sub = parse_submission(payload)
    assert (sub.first_name, sub.last_name) == ("Maria", "Garcia")
    assert sub.emails == ("maria@example.com",)  # body and Reply-To: the same person
    assert sub.phones == ("(617) 555-0101",)
    assert "Elm Street\nstill available?" in sub.message
    assert sub.key == "<abc123@leads.example.net>"
    assert sub.channel == "email"


def test_an_html_email_with_only_a_reply_to_gives_the_name_and_address() -> None:
    msg = EmailMessage()
    msg["Reply-To"] = "Bo Chen <bo@example.org>"
    msg["Message-ID"] = "<m2@example.net>"
    msg.set_content("<p>Someone asked about <b>Lot 4</b><br>Phone: 617-555-0102</p>", "html")
    sub = parse_submission(msg)
    assert (sub.first_name, sub.last_name) == ("Bo", "Chen")
    assert sub.emails == ("bo@example.org",)
    assert sub.phones == ("617-555-0102",)


def test_bad_mappings_and_payloads_are_refused() -> None:
    with pytest.raises(ValidationError, match="mapping"):
        parse_submission({"a": "b"}, mapping={"a": "nonsense"})
    with pytest.raises(ValidationError, match="payload"):
        parse_submission(42)  # type: ignore[arg-type]


# ----------------------------------------------------------------- the service
@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    with pg_support.open_store_kind(request.param, tmp_path) as c:
        yield c


@attrs.define
class Desk:
    crm: teamcrm.CRM
    ana: teamcrm.MemberSession
    bob: teamcrm.MemberSession
    web: str


def _desk(crm: teamcrm.CRM) -> Desk:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob", role="agent", email="bob@example.com").id)
    web = ana.create_bucket("Website leads")
    ana.create_pool(
        "Web",
        source_bucket_ids=[web.id],
        member_ids=[ana.member_id, bob.member_id],
        method="round_robin",
    )
    return Desk(crm, ana, bob, web.id)


def _open_leads(crm: teamcrm.CRM, team_id: str) -> list[Any]:
    with crm.store.unit_of_work(write=False) as uow:
        return [ld for ld in uow.leads.all(team_id) if ld.is_open]  # type: ignore[arg-type]


def test_intake_creates_a_contact_in_the_source_bucket_and_routes_it(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    result = d.ana.intake_lead(LEAD_EMAIL, source_bucket_id=d.web)
    assert result.created
    assert not result.replayed
    assert result.contact is not None
    assert result.contact.source == "email"
    with crm.store.unit_of_work(write=False) as uow:
        held = uow.memberships.buckets_of(d.ana.team_id, [result.contact_id])  # type: ignore[arg-type]
    assert d.web in {m.bucket_id for m in held}
    leads = _open_leads(crm, d.ana.team_id)
    assert [ld.id for ld in leads] == list(result.lead_ids)
    assert len(leads) == 1
    assert leads[0].contact_id == result.contact_id
    with crm.store.unit_of_work(write=False) as uow:
        names = [m.event.name for m in uow.outbox.read(d.ana.team_id)]  # type: ignore[arg-type]
    assert EventName.LEAD_INTAKE in names


def test_a_repeat_enquiry_joins_the_contact_and_its_open_lead(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    first = d.ana.intake_lead(
        {"name": "Maria Garcia", "email": "maria@example.com", "submission id": "f-1"},
        source_bucket_id=d.web,
    )
    again = d.ana.intake_lead(
        {
            "name": "M. Garcia",
            "email": "MARIA@Example.com",  # another spelling of the same address
            "phone": "+1 617 555 0101",
            "favourite": "blue",
            "submission id": "f-2",
        },
        source_bucket_id=d.web,
        mapping={"favourite": "custom:colour"},
    )
    assert not again.created
    assert not again.replayed
    assert again.contact_id == first.contact_id
    assert again.lead_ids == first.lead_ids
    assert len(_open_leads(crm, d.ana.team_id)) == 1
    contact = d.ana.contact(first.contact_id)
    assert contact.first_name == "Maria"  # its own values win
    assert [p.number for p in contact.phones] == ["+16175550101"]  # gained what it lacked
    assert dict(contact.custom_fields) == {"colour": "blue"}


def test_a_repeat_enquiry_runs_the_reactions_of_the_contacts_change(crm: teamcrm.CRM) -> None:
    """The contact.updated of a repeat enquiry runs its reactions, naming what changed."""
    d = _desk(crm)
    seen: list[Any] = []
    crm.reactions.add(
        EventName.CONTACT_UPDATED, "test", "record updates", lambda o: seen.append(o.event.data)
    )
    d.ana.intake_lead(
        {"name": "Maria Garcia", "email": "maria@example.com"}, source_bucket_id=d.web
    )
    assert seen == []
    d.ana.intake_lead(
        {"name": "Maria Garcia", "email": "maria@example.com", "phone": "+1 617 555 0101"},
        source_bucket_id=d.web,
    )
    assert seen == [{"fields": ["phones"]}]


def test_the_same_submission_twice_creates_one_lead(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    first = d.ana.intake_lead(LEAD_EMAIL, source_bucket_id=d.web)
    before = store_snapshot(crm.store, [d.ana.team_id])
    again = d.ana.intake_lead(LEAD_EMAIL.encode(), source_bucket_id=d.web)
    assert again.replayed
    assert again.contact_id == first.contact_id
    assert again.lead_ids == first.lead_ids
    assert store_snapshot(crm.store, [d.ana.team_id]) == before  # nothing written
    # An explicit key wins over the Message-ID.
    other = d.ana.intake_lead(LEAD_EMAIL, source_bucket_id=d.web, idempotency_key="crm-import-7")
    assert not other.replayed
    assert other.contact_id == first.contact_id
    assert len(_open_leads(crm, d.ana.team_id)) == 1


def test_intake_refusals_change_nothing(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    mine = d.ana.create_bucket("Mine", personal=True)
    d.ana.grant_access(d.web, d.bob.member_id, level="viewer")
    before = store_snapshot(crm.store, [d.ana.team_id])
    with pytest.raises(ValidationError, match="no email address or phone"):
        d.ana.intake_lead({"name": "Nobody"}, source_bucket_id=d.web)
    with pytest.raises(ValidationError):
        d.ana.intake_lead({"email": "not-an-address"}, source_bucket_id=d.web)
    with pytest.raises(teamcrm.NotFound):
        d.bob.intake_lead({"email": "x@example.com"}, source_bucket_id=mine.id)
    with pytest.raises(PermissionDenied):
        d.bob.intake_lead({"email": "x@example.com"}, source_bucket_id=d.web)
    assert store_snapshot(crm.store, [d.ana.team_id]) == before


# ------------------------------------------------------------------ the race
@pytest.fixture(params=["sqlite", "postgresql"])
def race_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'intake.db'}"
        return
    with pg_support.schemas() as made:
        yield made.new()


def _intake_worker(url: str, member_id: str, bucket_id: str, start: Any, results: Any) -> None:
    try:
        crm = teamcrm.open(url)
        session = crm.as_member(member_id)
        start.wait(60)
        r = session.intake_lead(LEAD_EMAIL, source_bucket_id=bucket_id)
        crm.close()
        results.put(("ok", (r.contact_id, r.replayed, r.lead_ids)))
    except BaseException as exc:
        traceback.print_exc()
        results.put(("error", f"{type(exc).__name__}: {exc}"))


PROCESSES = 3


@pytest.mark.slow
def test_processes_racing_one_submission_create_one_contact_and_one_lead(race_url: str) -> None:
    crm = teamcrm.open(race_url)
    d = _desk(crm)
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    start = ctx.Event()
    procs = [
        ctx.Process(
            target=_intake_worker,
            args=(race_url, d.ana.member_id, d.web, start, results),
        )
        for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    start.set()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert all(status == "ok" for status, _ in out), out
    contact_ids = {r[0] for _, r in out}
    assert len(contact_ids) == 1
    assert sorted(r[1] for _, r in out) == [False] + [True] * (PROCESSES - 1)
    assert len({r[2] for _, r in out}) == 1
    with crm.store.unit_of_work(write=False) as uow:
        contacts = uow.contacts.all(d.ana.team_id)  # type: ignore[arg-type]
        leads = uow.leads.all(d.ana.team_id)  # type: ignore[arg-type]
    assert len(contacts) == 1
    assert len(leads) == 1
    crm.close()
