"""Email opt-out: stored on every store, merged, backed up, and refused by build_message."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import pg_support
import teamcrm
from teamcrm import (
    ContactOptedOut,
    EventName,
    NotFound,
    SettableClock,
    Template,
    ValidationError,
    build_message,
)
from teamcrm.backup import export_team, import_team

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    clock = SettableClock(START)
    if request.param == "postgres":
        with pg_support.schemas() as made, teamcrm.open(made.new(), clock=clock) as c:
            yield c
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 't.db'}"
    with teamcrm.open(url, clock=clock) as c:
        yield c


def _tick(crm: teamcrm.CRM, minutes: int = 5) -> datetime:
    clock = crm.clock
    assert isinstance(clock, SettableClock)
    clock.advance(timedelta(minutes=minutes))
    return clock.now()


def _team(crm: teamcrm.CRM) -> tuple[teamcrm.MemberSession, teamcrm.MemberSession]:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob", role="agent").id)
    return ana, bob


def test_opting_out_and_in_is_stored_with_its_time_and_events(crm: teamcrm.CRM) -> None:
    ana, _ = _team(crm)
    bea = ana.create_contact("Bea", emails=["bea@example.com"])
    assert not bea.email_opt_out
    assert bea.opted_out_at is None
    seq = max((r.seq for r in ana.events(0)), default=0)
    when = _tick(crm)
    out = ana.set_email_opt_out(bea.id, True)
    assert (out.email_opt_out, out.opted_out_at, out.version) == (True, when, 2)
    stored = crm.as_member(ana.member_id).contact(bea.id)
    assert (stored.email_opt_out, stored.opted_out_at) == (True, when)
    # again: nothing changes, the first time is kept, no event
    _tick(crm)
    again = ana.set_email_opt_out(bea.id, True)
    assert (again.opted_out_at, again.version) == (when, 2)
    back = ana.set_email_opt_out(bea.id, False)
    assert (back.email_opt_out, back.opted_out_at, back.version) == (False, None, 3)
    assert ana.contact(bea.id) == back
    rows = ana.events(seq)
    assert [(r.event.name, r.event.subject_id) for r in rows] == [
        (EventName.CONTACT_OPTED_OUT, bea.id),
        (EventName.CONTACT_OPTED_IN, bea.id),
    ]
    assert EventName.CONTACT_OPTED_OUT == "contact.opted_out"
    assert EventName.CONTACT_OPTED_IN == "contact.opted_in"


def test_other_changes_keep_the_flag_and_reads_carry_it(crm: teamcrm.CRM) -> None:
    ana, _ = _team(crm)
    bea = ana.create_contact("Bea", emails=["bea@example.com"])
    cid = ana.create_contact("Cid").id
    out = ana.set_email_opt_out(bea.id, True)
    ana.update_contact(bea.id, last_name="Jones")
    ana.add_phone(bea.id, "+1 617 555 0101")
    ana.set_custom_field(bea.id, "region", "North")
    kept = ana.contact(bea.id)
    assert (kept.email_opt_out, kept.opted_out_at) == (True, out.opted_out_at)
    # every way of reading contacts returns the flag (search reads them with extra columns)
    called = _tick(crm)
    ana.log_interaction("call", contact_ids=[cid], occurred_at=called)
    found = {r.contact_id: r for r in ana.search().rows}
    assert found[bea.id].contact.email_opt_out
    assert not found[cid].contact.email_opt_out
    assert found[cid].last_contacted_at == called  # the column after the contact's
    assert found[bea.id].last_contacted_at is None
    assert [r.contact_id for r in ana.search().rows] == [bea.id, cid]  # by created_at
    with crm.store.unit_of_work() as uow:
        team_id = ana.team_id
        assert {c.id: c.email_opt_out for c in uow.contacts.all(team_id)} == {
            bea.id: True,
            cid: False,
        }
        [many] = uow.contacts.get_many(team_id, [bea.id])
        assert many.opted_out_at == out.opted_out_at


def test_rights_hidden_contacts_are_not_found_and_the_flag_is_checked(crm: teamcrm.CRM) -> None:
    ana, bob = _team(crm)
    hidden = ana.create_contact("Hidden")
    with pytest.raises(NotFound):
        bob.set_email_opt_out(hidden.id, True)
    with pytest.raises(NotFound):
        bob.set_email_opt_out("ct_" + "0" * 26, True)
    assert not ana.contact(hidden.id).email_opt_out
    own = bob.create_contact("Own")
    assert bob.set_email_opt_out(own.id, True).email_opt_out
    with pytest.raises(ValidationError):
        ana.set_email_opt_out(own.id, "yes")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ana.set_email_opt_out("bogus", True)


def test_a_merge_is_opted_out_if_any_contact_was(crm: teamcrm.CRM) -> None:
    ana, _ = _team(crm)
    survivor = ana.create_contact("Bea", emails=["bea@example.com"])
    first = ana.create_contact("Bea", emails=["bea@work.example"])
    second = ana.create_contact("Bea", emails=["bea@home.example"])
    earliest = _tick(crm)
    ana.set_email_opt_out(second.id, True)
    _tick(crm)
    ana.set_email_opt_out(first.id, True)
    ana.merge_contacts(survivor.id, [first.id, second.id])
    merged = ana.contact(survivor.id)
    assert (merged.email_opt_out, merged.opted_out_at) == (True, earliest)
    clean = ana.create_contact("Cy")
    other = ana.create_contact("Cy")
    ana.merge_contacts(clean.id, [other.id])
    assert not ana.contact(clean.id).email_opt_out


def test_a_stored_opted_out_contact_is_refused_by_build_message(crm: teamcrm.CRM) -> None:
    ana, _ = _team(crm)
    bea = ana.create_contact("Bea", emails=["bea@example.com"])
    ana.set_email_opt_out(bea.id, True)
    member = ana.me()
    rendered = Template.parse("Hi", "Body").render(contact=ana.contact(bea.id), member=member)
    with pytest.raises(ContactOptedOut):
        build_message(
            rendered, sender=member, contact=ana.contact(bea.id), key="k", created_at=START
        )


def test_the_backup_carries_the_flag_and_old_backups_still_read(crm: teamcrm.CRM) -> None:
    ana, _ = _team(crm)
    bea = ana.create_contact("Bea", emails=["bea@example.com"])
    when = _tick(crm)
    ana.set_email_opt_out(bea.id, True)
    buf = io.StringIO()
    export_team(crm, ana.team_id, buf)
    text = buf.getvalue()
    with teamcrm.open("memory://") as other:
        import_team(other.store, io.StringIO(text))
        got = other.as_member(ana.member_id).contact(bea.id)
        assert (got.email_opt_out, got.opted_out_at) == (True, when)
    # a backup written before opt-out existed has no such fields: not opted out
    old_lines = []
    for line in text.splitlines():
        obj = json.loads(line)
        if obj.get("kind") == "contact":
            obj["data"].pop("email_opt_out")
            obj["data"].pop("opted_out_at")
        old_lines.append(json.dumps(obj))
    with teamcrm.open("memory://") as other:
        import_team(other.store, io.StringIO("\n".join(old_lines) + "\n"))
        got = other.as_member(ana.member_id).contact(bea.id)
        assert (got.email_opt_out, got.opted_out_at) == (False, None)


def test_contact_checks_the_opt_out_fields() -> None:
    args = {"id": "ct_" + "0" * 26, "team_id": "tm_" + "0" * 26, "created_at": START}
    ok = teamcrm.Contact(**args, status="new", first_name="A", email_opt_out=True)
    assert ok.opted_out_at is None
    with pytest.raises(ValidationError, match="email_opt_out"):
        teamcrm.Contact(**args, status="new", first_name="A", email_opt_out=1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="opted_out_at"):
        teamcrm.Contact(**args, status="new", first_name="A", opted_out_at=START)
    with pytest.raises(ValidationError, match="opted_out_at"):
        teamcrm.Contact(
            **args,
            status="new",
            first_name="A",
            email_opt_out=True,
            opted_out_at=datetime(2026, 1, 1),  # naive
        )


def test_an_sqlite_database_from_before_the_migration_gains_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with teamcrm.open(f"sqlite:///{path}") as crm:
        _, admin = crm.create_team("Old", admin_name="Ana")
        cid = crm.as_member(admin.id).create_contact("Bea", emails=["bea@example.com"]).id
    # make the file what the release before 0010_contact_opt_out left
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE contacts DROP COLUMN email_opt_out")
    conn.execute("ALTER TABLE contacts DROP COLUMN opted_out_at")
    conn.execute("ALTER TABLE contact_emails DROP COLUMN bounced")
    conn.execute("DELETE FROM teamcrm_migrations WHERE name = '0010_contact_opt_out'")
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    conn.execute(f"PRAGMA user_version = {version - 1}")
    conn.commit()
    conn.close()
    with teamcrm.open(f"sqlite:///{path}") as crm:
        ana = crm.as_member(admin.id)
        assert not ana.contact(cid).email_opt_out
        assert not ana.contact(cid).emails[0].bounced
        assert ana.set_email_opt_out(cid, True).email_opt_out


def test_a_postgres_schema_from_before_the_migration_gains_the_columns() -> None:
    import psycopg

    with pg_support.schemas() as made:
        url = made.fresh()
        with teamcrm.open(url) as crm:
            _, admin = crm.create_team("Old", admin_name="Ana")
            cid = crm.as_member(admin.id).create_contact("Bea", emails=["bea@example.com"]).id
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER TABLE contacts DROP COLUMN email_opt_out")
            conn.execute("ALTER TABLE contacts DROP COLUMN opted_out_at")
            conn.execute("ALTER TABLE contact_emails DROP COLUMN bounced")
            conn.execute("DELETE FROM teamcrm_migrations WHERE name = '0010_contact_opt_out'")
        with teamcrm.open(url) as crm:
            ana = crm.as_member(admin.id)
            assert not ana.contact(cid).email_opt_out
            assert not ana.contact(cid).emails[0].bounced
            assert ana.set_email_opt_out(cid, True).email_opt_out


def test_a_bounce_marks_the_address_bounced_and_a_send_clears_it(crm: teamcrm.CRM) -> None:
    ana, _ = _team(crm)
    bea = ana.create_contact("Bea", emails=["bea@example.com", "bea@work.example"])
    seq = max((r.seq for r in ana.events(0)), default=0)
    ana.log_interaction("email", contact_ids=[bea.id], outcome="bounced", via="bea@example.com")
    got = crm.as_member(ana.member_id).contact(bea.id)
    assert [(e.validated, e.bounced) for e in got.emails] == [(False, True), (False, False)]
    assert teamcrm.preferred_email(got) == "bea@work.example"
    ana.log_interaction("email", contact_ids=[bea.id], outcome="bounced", via="bea@work.example")
    assert teamcrm.preferred_email(ana.contact(bea.id)) is None
    ana.log_interaction("email", contact_ids=[bea.id], outcome="sent", via="bea@example.com")
    got = ana.contact(bea.id)
    assert [(e.validated, e.bounced) for e in got.emails] == [(True, False), (False, True)]
    assert teamcrm.preferred_email(got) == "bea@example.com"
    channel_events = [
        (r.event.name, r.event.data["channel"])
        for r in ana.events(seq)
        if r.event.name
        in (EventName.CONTACT_CHANNEL_VALIDATED, EventName.CONTACT_CHANNEL_INVALIDATED)
    ]
    assert channel_events == [
        (EventName.CONTACT_CHANNEL_INVALIDATED, "bea@example.com"),
        (EventName.CONTACT_CHANNEL_INVALIDATED, "bea@work.example"),
        (EventName.CONTACT_CHANNEL_VALIDATED, "bea@example.com"),
    ]


def test_a_merge_keeps_a_bounce_unless_either_side_validated(crm: teamcrm.CRM) -> None:
    ana, _ = _team(crm)
    survivor = ana.create_contact("Bea", emails=["a@x.example", "b@x.example"])
    dup = ana.create_contact("Bea", emails=["a@x.example", "b@x.example"])
    ana.log_interaction("email", contact_ids=[dup.id], outcome="bounced", via="a@x.example")
    ana.log_interaction("email", contact_ids=[dup.id], outcome="bounced", via="b@x.example")
    ana.log_interaction("email", contact_ids=[survivor.id], outcome="sent", via="b@x.example")
    ana.merge_contacts(survivor.id, [dup.id])
    got = ana.contact(survivor.id)
    assert [(e.address, e.validated, e.bounced) for e in got.emails] == [
        ("a@x.example", False, True),
        ("b@x.example", True, False),
    ]
