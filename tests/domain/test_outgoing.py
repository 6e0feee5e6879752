"""build_message: a rendered template addressed for the sender port, or a skip reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from teamcrm import (
    CannotEmail,
    Contact,
    ContactOptedOut,
    EmailAddress,
    MemorySender,
    NoEmailAddress,
    OutgoingEmail,
    Role,
    TeamCRMError,
    Template,
    ValidationError,
    build_message,
)
from teamcrm.sender import build_mime
from teamcrm.team import Member

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TM, MB, CT = (p + "0" * 26 for p in ("tm_", "mb_", "ct_"))
ANA = Member(
    id=MB, team_id=TM, name="Ana Lopez", role=Role.AGENT, created_at=NOW, email="ana@acme.example"
)
RENDERED = Template.parse("Hi {{ contact.first_name }}", "Hello from {{ member.name }}").render(
    contact=Contact(id=CT, team_id=TM, created_at=NOW, status="new", first_name="Bea"), member=ANA
)


def contact(**kw: object) -> Contact:
    args: dict[str, object] = {
        "id": CT,
        "team_id": TM,
        "created_at": NOW,
        "status": "new",
        "first_name": "Bea",
        "emails": ("bea@example.com", "bea@work.example"),
    }
    args.update(kw)
    return Contact(**args)  # type: ignore[arg-type]


def test_the_message_goes_to_the_preferred_address_with_reply_to_the_member() -> None:
    msg = build_message(RENDERED, sender=ANA, contact=contact(), key="ps_1:3", created_at=NOW)
    assert isinstance(msg, OutgoingEmail)
    assert (msg.to, msg.subject, msg.text) == ("bea@example.com", "Hi Bea", "Hello from Ana Lopez")
    assert msg.html == RENDERED.html
    assert (msg.reply_to, msg.from_name, msg.key, msg.created_at) == (
        "ana@acme.example",
        "Ana Lopez",
        "ps_1:3",
        NOW,
    )
    sender = MemorySender()
    sender.send(msg)
    assert sender.to("bea@example.com") == [msg]


def test_to_picks_one_of_the_contacts_addresses_only() -> None:
    c = contact(emails=(EmailAddress(address="bea@example.com"), "bea@work.example"))
    msg = build_message(
        RENDERED, sender=ANA, contact=c, to="Bea@Work.example", key="k", created_at=NOW
    )
    assert msg.to == "bea@work.example"
    with pytest.raises(NoEmailAddress) as info:
        build_message(RENDERED, sender=ANA, contact=c, to="x@evil.example", key="k", created_at=NOW)
    assert info.value.code == "no_email"


def test_opted_out_and_addressless_contacts_are_refused_with_a_code() -> None:
    out = contact(email_opt_out=True, opted_out_at=NOW)
    with pytest.raises(ContactOptedOut) as opted:
        build_message(RENDERED, sender=ANA, contact=out, key="k", created_at=NOW)
    assert opted.value.code == "opted_out"
    assert opted.value.contact_id == CT
    with pytest.raises(NoEmailAddress) as none:
        build_message(RENDERED, sender=ANA, contact=contact(emails=()), key="k", created_at=NOW)
    assert none.value.code == "no_email"
    for err in (opted.value, none.value):
        assert isinstance(err, CannotEmail)
        assert isinstance(err, TeamCRMError)
        assert not isinstance(err, ValidationError)


def test_a_member_without_an_email_sends_without_reply_to() -> None:
    quiet = Member(id=MB, team_id=TM, name="Ana", role=Role.AGENT, created_at=NOW)
    msg = build_message(RENDERED, sender=quiet, contact=contact(), key="k", created_at=NOW)
    assert msg.reply_to is None
    mime = build_mime(msg, from_addr="crm@acme.example", reply_to="team@acme.example")
    assert mime["Reply-To"] == "team@acme.example"


def test_mime_headers_reply_to_from_name_and_a_message_id_from_the_key() -> None:
    msg = build_message(RENDERED, sender=ANA, contact=contact(), key="ps_1:3", created_at=NOW)
    mime = build_mime(msg, from_addr="crm@acme.example", reply_to="team@acme.example")
    assert mime["Reply-To"] == "ana@acme.example"  # the member's, not the sender's setting
    assert mime["From"] == "Ana Lopez <crm@acme.example>"
    again = build_mime(
        build_message(RENDERED, sender=ANA, contact=contact(), key="ps_1:3", created_at=NOW),
        from_addr="crm@acme.example",
    )
    assert mime["Message-ID"] == again["Message-ID"] == "<ps_13.teamcrm@acme.example>"
    other = build_message(RENDERED, sender=ANA, contact=contact(), key="ps_1:4", created_at=NOW)
    assert build_mime(other, from_addr="crm@acme.example")["Message-ID"] != mime["Message-ID"]


def test_a_non_ascii_key_still_gives_a_stable_message_id() -> None:
    def mid(key: str) -> str:
        msg = build_message(RENDERED, sender=ANA, contact=contact(), key=key, created_at=NOW)
        return str(build_mime(msg, from_addr="crm@acme.example")["Message-ID"])

    assert mid("kampania-żółw") == mid("kampania-żółw")
    assert mid("kampania-żółw") != mid("kampania-żółć")


def test_a_display_name_cannot_inject_headers() -> None:
    evil = Member(id=MB, team_id=TM, name='Ana "x" <a@b.c>', role=Role.AGENT, created_at=NOW)
    msg = build_message(RENDERED, sender=evil, contact=contact(), key="k", created_at=NOW)
    mime = build_mime(msg, from_addr="crm@acme.example")
    assert mime["From"].addresses[0].addr_spec == "crm@acme.example"
    with pytest.raises(ValidationError):
        OutgoingEmail(to="a@b.example", subject="s", text="t", from_name="A\r\nBcc: x@y.z")
    with pytest.raises(ValidationError):
        OutgoingEmail(to="a@b.example", subject="s", text="t", reply_to="nope")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": ""},
        {"key": 3},
        {"created_at": datetime(2026, 1, 1)},
        {"sender": "ana"},
        {"contact": "bea"},
        {"to": "not an address"},
    ],
)
def test_arguments_are_checked(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"sender": ANA, "contact": contact(), "key": "k", "created_at": NOW}
    args.update(kwargs)
    with pytest.raises(ValidationError):
        build_message(RENDERED, **args)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        build_message("rendered", sender=ANA, contact=contact(), key="k", created_at=NOW)  # type: ignore[arg-type]


def test_bounced_addresses_are_skipped_and_all_bounced_is_no_email() -> None:
    bounced = EmailAddress(address="bea@example.com", bounced=True)
    c = contact(emails=(bounced, "bea@work.example"))
    msg = build_message(RENDERED, sender=ANA, contact=c, key="k", created_at=NOW)
    assert msg.to == "bea@work.example"
    with pytest.raises(NoEmailAddress, match="bounced"):
        build_message(
            RENDERED, sender=ANA, contact=contact(emails=(bounced,)), key="k", created_at=NOW
        )
    # chosen on purpose, a bounced address is still one of the contact's
    chosen = build_message(
        RENDERED, sender=ANA, contact=c, to="bea@example.com", key="k", created_at=NOW
    )
    assert chosen.to == "bea@example.com"
