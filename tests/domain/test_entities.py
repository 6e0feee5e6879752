"""Unit tests of the domain entities: valid construction, normalisation, named rejections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm import ids
from teamcrm.bucket import AccessGrant, AccessLevel, Bucket, BucketKind, BucketMembership
from teamcrm.contact import Company, Contact, EmailAddress, PhoneNumber
from teamcrm.errors import ValidationError
from teamcrm.events import DomainEvent, EventName, OutboxMessage
from teamcrm.interaction import Interaction, InteractionKind, Outcome
from teamcrm.team import (
    DEFAULT_STATUSES,
    BucketManagement,
    Member,
    Role,
    Team,
    TeamSettings,
)

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
PLUS2 = timezone(timedelta(hours=2))
TEAM = ids.new_team_id()
MEMBER = ids.new_member_id()
CONTACT = ids.new_contact_id()
COMPANY = ids.new_company_id()
BUCKET = ids.new_bucket_id()


def rejects(cls: type, field: str, value: object, **kwargs: Any) -> ValidationError:
    """Build *cls* with *kwargs* and *field* set to *value*; return the error naming both."""
    attr = field.split(".", 1)[1]
    with pytest.raises(ValidationError) as exc:
        cls(**{**kwargs, attr: value})
    assert exc.value.field == field, exc.value
    assert field in str(exc.value)
    return exc.value


# ----------------------------------------------------------------- TeamSettings
def test_settings_defaults() -> None:
    s = TeamSettings()
    assert s.bucket_management is BucketManagement.EVERYONE
    assert s.file_notes_under_companies is True
    assert s.statuses == DEFAULT_STATUSES == ("evaluate", "priority", "active", "nurture", "closed")
    assert s.new_contact_status == s.new_lead_status == "evaluate"


def test_settings_normalise() -> None:
    s = TeamSettings(
        bucket_management="managers",  # type: ignore[arg-type]
        statuses=[" hot ", "cold"],  # type: ignore[arg-type]
        new_contact_status="cold",
        new_lead_status="hot",
    )
    assert s.bucket_management is BucketManagement.MANAGERS
    assert s.statuses == ("hot", "cold")  # a tuple, order kept, stripped


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("TeamSettings.bucket_management", "admins"),
        ("TeamSettings.file_notes_under_companies", "yes"),
        ("TeamSettings.file_notes_under_companies", 1),
        ("TeamSettings.statuses", ()),
        ("TeamSettings.statuses", ("a", "a")),
        ("TeamSettings.statuses", "evaluate"),
        ("TeamSettings.statuses", ("evaluate", 5)),
        ("TeamSettings.new_contact_status", "won"),
        ("TeamSettings.new_lead_status", "won"),
        ("TeamSettings.new_lead_status", 3),
    ],
)
def test_settings_rejections(field: str, value: object) -> None:
    rejects(TeamSettings, field, value)


def test_settings_default_status_must_be_in_a_new_list() -> None:
    # new_contact_status keeps its default "evaluate", which the new list lacks
    err = rejects(
        TeamSettings, "TeamSettings.new_contact_status", "evaluate", statuses=("hot", "cold")
    )
    assert "('hot', 'cold')" in err.reason


# ------------------------------------------------------------------------ Team
TEAM_KW: dict[str, Any] = {"id": TEAM, "name": "Acme", "created_at": NOW}


def test_team_valid_and_utc() -> None:
    team = Team(**{**TEAM_KW, "name": "  Acme  ", "created_at": NOW.astimezone(PLUS2)})
    assert team.name == "Acme"
    assert team.created_at.tzinfo is UTC
    assert team.version == 1
    assert team.settings == TeamSettings()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Team.id", MEMBER),
        ("Team.id", "tm_x"),
        ("Team.name", 5),
        ("Team.name", ""),
        ("Team.created_at", datetime(2026, 1, 1)),
        ("Team.settings", {"statuses": ["a"]}),
        ("Team.version", 0),
        ("Team.version", True),
    ],
)
def test_team_rejections(field: str, value: object) -> None:
    rejects(Team, field, value, **TEAM_KW)


def test_entities_are_frozen() -> None:
    team = Team(**TEAM_KW)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        team.name = "Other"  # type: ignore[misc]


# ---------------------------------------------------------------------- Member
MEMBER_KW: dict[str, Any] = {
    "id": MEMBER,
    "team_id": TEAM,
    "name": "Ana",
    "role": Role.ADMIN,
    "created_at": NOW,
}


def test_member_valid_and_normalised() -> None:
    m = Member(
        **{**MEMBER_KW, "role": "agent", "email": "Ana@Example.COM", "time_zone": "Europe/Warsaw"}
    )
    assert m.role is Role.AGENT
    assert m.email == "Ana@example.com"
    assert m.active is True
    assert m.away_until is None


def test_member_away_and_availability() -> None:
    m = Member(**MEMBER_KW, away_until=NOW.astimezone(PLUS2) + timedelta(days=1))
    assert m.away_until is not None
    assert m.away_until.tzinfo is UTC
    assert m.is_away(NOW)
    assert not m.is_available(NOW)
    assert not m.is_away(NOW + timedelta(days=1))  # the instant it ends, back
    assert m.is_available(NOW + timedelta(days=2))
    inactive = attrs.evolve(m, active=False, away_until=None)
    assert not inactive.is_available(NOW)


def test_roles() -> None:
    assert Role.ADMIN.is_manager
    assert Role.MANAGER.is_manager
    assert not Role.AGENT.is_manager


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Member.id", CONTACT),
        ("Member.team_id", "team-1"),
        ("Member.name", 42),
        ("Member.name", "x" * 201),
        ("Member.role", "owner"),
        ("Member.created_at", "2026-01-01"),
        ("Member.email", "not-an-email"),
        ("Member.active", None),
        ("Member.away_until", datetime(2026, 1, 1)),
        ("Member.time_zone", "Nowhere/Land"),
        ("Member.version", -1),
    ],
)
def test_member_rejections(field: str, value: object) -> None:
    rejects(Member, field, value, **MEMBER_KW)


# ------------------------------------------------------- EmailAddress, PhoneNumber
def test_email_address_normalised() -> None:
    e = EmailAddress(address=" Bea@Example.COM ", label=" work ")
    assert e.address == "Bea@example.com"
    assert e.label == "work"
    assert e.validated is False
    assert EmailAddress(address="b@x.io", label="  ").label is None


def test_phone_number_normalised() -> None:
    p = PhoneNumber(number="+1 (555) 010-2030", validated=True)
    assert p.number == "+15550102030"
    assert p.validated is True


@pytest.mark.parametrize(
    ("cls", "field", "value", "kw"),
    [
        (EmailAddress, "EmailAddress.address", "bea", {}),
        (EmailAddress, "EmailAddress.address", None, {}),
        (EmailAddress, "EmailAddress.validated", "no", {"address": "b@x.io"}),
        (EmailAddress, "EmailAddress.label", 5, {"address": "b@x.io"}),
        (PhoneNumber, "PhoneNumber.number", "12", {}),
        (PhoneNumber, "PhoneNumber.number", 5550102030, {}),
        (PhoneNumber, "PhoneNumber.validated", 1, {"number": "5550102030"}),
    ],
)
def test_channel_rejections(cls: type, field: str, value: object, kw: dict[str, Any]) -> None:
    rejects(cls, field, value, **kw)


# --------------------------------------------------------------------- Contact
CONTACT_KW: dict[str, Any] = {
    "id": CONTACT,
    "team_id": TEAM,
    "created_at": NOW,
    "status": "evaluate",
    "first_name": "Bea",
}


def test_contact_valid_and_normalised() -> None:
    c = Contact(
        **{**CONTACT_KW, "first_name": " Bea ", "last_name": " Jones "},
        emails=["Bea@Example.com", EmailAddress(address="b@x.io", validated=True)],
        phones=["+1 (555) 010-2030"],
        company_ids=[COMPANY, COMPANY],
        custom_fields={"budget": 5, "vip": True},
    )
    assert (c.first_name, c.last_name, c.display_name) == ("Bea", "Jones", "Bea Jones")
    assert c.emails == (
        EmailAddress(address="Bea@example.com"),
        EmailAddress(address="b@x.io", validated=True),
    )
    assert c.phones == (PhoneNumber(number="+15550102030"),)
    assert c.company_ids == (COMPANY,)
    assert c.custom_fields == {"budget": 5, "vip": True}


def test_contact_needs_a_name() -> None:
    err = rejects(Contact, "Contact.first_name", "  ", **{**CONTACT_KW, "last_name": ""})
    assert "name" in err.reason
    assert Contact(**{**CONTACT_KW, "first_name": "", "last_name": "Jones"}).display_name == "Jones"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Contact.id", COMPANY),
        ("Contact.team_id", None),
        ("Contact.created_at", datetime(2026, 1, 1)),
        ("Contact.status", ""),
        ("Contact.first_name", 7),
        ("Contact.emails", "bea@example.com"),
        ("Contact.emails", ["bea@example.com", "BEA@EXAMPLE.COM"]),
        ("Contact.emails", [PhoneNumber(number="5550102030")]),
        ("Contact.phones", ["555 010 2030", "555-010-2030"]),
        ("Contact.phones", {"555 010 2030": 1}),
        ("Contact.company_ids", [CONTACT]),
        ("Contact.company_ids", COMPANY),
        ("Contact.source", 5),
        ("Contact.custom_fields", {"x": [1, 2]}),
        ("Contact.custom_fields", None),
        ("Contact.created_by", TEAM),
        ("Contact.version", 0),
    ],
)
def test_contact_rejections(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as exc:
        Contact(**{**CONTACT_KW, field.split(".")[1]: value})
    assert exc.value.field.startswith(field), exc.value


def test_contact_rejects_too_many_channels() -> None:
    rejects(Contact, "Contact.emails", [f"a{i}@x.io" for i in range(51)], **CONTACT_KW)


def test_contact_custom_fields_cannot_be_mutated() -> None:
    c = Contact(**CONTACT_KW, custom_fields={"a": 1})
    with pytest.raises(TypeError):
        c.custom_fields["a"] = 2  # type: ignore[index]


# --------------------------------------------------------------------- Company
COMPANY_KW: dict[str, Any] = {"id": COMPANY, "team_id": TEAM, "name": "Globex", "created_at": NOW}


def test_company_valid() -> None:
    co = Company(**COMPANY_KW, domain=" globex.com ", created_by=MEMBER)
    assert co.domain == "globex.com"
    assert co.version == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Company.id", CONTACT),
        ("Company.name", ""),
        ("Company.name", 1),
        ("Company.domain", 1),
        ("Company.created_at", NOW.replace(tzinfo=None)),
        ("Company.created_by", "mb_nope"),
    ],
)
def test_company_rejections(field: str, value: object) -> None:
    rejects(Company, field, value, **COMPANY_KW)


# ------------------------------------------------------- Bucket and AccessGrant
def test_access_grant() -> None:
    g = AccessGrant(member_id=MEMBER, level="editor")  # type: ignore[arg-type]
    assert g.level is AccessLevel.EDITOR
    assert g.can_view_conversations is False
    assert AccessGrant(member_id=MEMBER).level is AccessLevel.VIEWER


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("AccessGrant.member_id", CONTACT),
        ("AccessGrant.level", "owner"),
        ("AccessGrant.can_view_conversations", "true"),
    ],
)
def test_access_grant_rejections(field: str, value: object) -> None:
    rejects(AccessGrant, field, value, member_id=MEMBER)


BUCKET_KW: dict[str, Any] = {
    "id": BUCKET,
    "team_id": TEAM,
    "name": "Leads",
    "kind": BucketKind.TEAM,
    "created_at": NOW,
}


def test_bucket_team_with_grants_sorted() -> None:
    a, b = sorted([ids.new_member_id(), ids.new_member_id()])
    bucket = Bucket(**BUCKET_KW, grants=[AccessGrant(member_id=b), AccessGrant(member_id=a)])
    assert [g.member_id for g in bucket.grants] == [a, b]
    assert bucket.grant_for(a) == AccessGrant(member_id=a)
    assert bucket.grant_for(ids.new_member_id()) is None
    assert not bucket.is_personal


def test_bucket_personal() -> None:
    bucket = Bucket(**{**BUCKET_KW, "kind": "personal"}, owner_id=MEMBER)
    assert bucket.kind is BucketKind.PERSONAL
    assert bucket.is_personal


@pytest.mark.parametrize(
    ("field", "value", "extra"),
    [
        ("Bucket.id", TEAM, {}),
        ("Bucket.name", "", {}),
        ("Bucket.kind", "shared", {}),
        ("Bucket.grants", [AccessGrant(member_id=MEMBER)] * 2, {}),
        ("Bucket.grants", ["mb_x"], {}),
        ("Bucket.owner_id", MEMBER, {}),  # a team bucket has no owner
        ("Bucket.owner_id", None, {"kind": BucketKind.PERSONAL}),
        (
            "Bucket.grants",
            (AccessGrant(member_id=MEMBER),),
            {"kind": "personal", "owner_id": MEMBER},
        ),
        ("Bucket.version", "1", {}),
    ],
)
def test_bucket_rejections(field: str, value: object, extra: dict[str, Any]) -> None:
    rejects(Bucket, field, value, **{**BUCKET_KW, **extra})


def test_bucket_membership() -> None:
    m = BucketMembership(team_id=TEAM, bucket_id=BUCKET, item_id=CONTACT, added_at=NOW)
    assert m.is_contact
    co = BucketMembership(team_id=TEAM, bucket_id=BUCKET, item_id=COMPANY, added_at=NOW)
    assert not co.is_contact


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("BucketMembership.item_id", MEMBER),
        ("BucketMembership.item_id", "ct_short"),
        ("BucketMembership.item_id", 5),
        ("BucketMembership.bucket_id", CONTACT),
        ("BucketMembership.added_at", None),
        ("BucketMembership.added_by", BUCKET),
    ],
)
def test_bucket_membership_rejections(field: str, value: object) -> None:
    rejects(
        BucketMembership,
        field,
        value,
        team_id=TEAM,
        bucket_id=BUCKET,
        item_id=CONTACT,
        added_at=NOW,
    )


# ----------------------------------------------------------------- Interaction
IX_KW: dict[str, Any] = {
    "id": ids.new_interaction_id(),
    "team_id": TEAM,
    "kind": InteractionKind.CALL,
    "author_id": MEMBER,
    "occurred_at": NOW,
    "logged_at": NOW,
    "contact_ids": (CONTACT,),
}


def test_interaction_valid() -> None:
    ix = Interaction(
        **{**IX_KW, "kind": "note", "contact_ids": [CONTACT, CONTACT]},
        company_ids=[COMPANY],
        outcome="held",
        body="  line one\nline two  ",
        via=" ",
    )
    assert ix.kind is InteractionKind.NOTE
    assert ix.outcome is Outcome.HELD
    assert ix.contact_ids == (CONTACT,)
    assert ix.company_ids == (COMPANY,)
    assert ix.body == "line one\nline two"
    assert ix.via is None


def test_interaction_needs_a_target() -> None:
    rejects(Interaction, "Interaction.contact_ids", (), **IX_KW)
    only_company = Interaction(**{**IX_KW, "contact_ids": ()}, company_ids=(COMPANY,))
    assert only_company.company_ids == (COMPANY,)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Interaction.id", CONTACT),
        ("Interaction.kind", "fax"),
        ("Interaction.author_id", None),
        ("Interaction.occurred_at", datetime(2026, 1, 1)),
        ("Interaction.logged_at", "now"),
        ("Interaction.contact_ids", [COMPANY]),
        ("Interaction.company_ids", [CONTACT]),
        ("Interaction.outcome", "great"),
        ("Interaction.via", 5),
        ("Interaction.reference", "x" * 201),
        ("Interaction.body", None),
        ("Interaction.body", "a\x00b"),
    ],
)
def test_interaction_rejections(field: str, value: object) -> None:
    rejects(Interaction, field, value, **IX_KW)


# ----------------------------------------------------------------- DomainEvent
def test_domain_event_valid() -> None:
    ev = DomainEvent(
        name="contact.created",  # type: ignore[arg-type]
        team_id=TEAM,
        subject_id=CONTACT,
        occurred_at=NOW.astimezone(PLUS2),
        actor_id=MEMBER,
        data={"status": "evaluate", "item_ids": (CONTACT,), "n": 1, "ok": True, "x": None},
    )
    assert ev.name is EventName.CONTACT_CREATED
    assert ev.occurred_at.tzinfo is UTC
    assert ev.data["item_ids"] == [CONTACT]
    assert OutboxMessage(seq=1, event=ev).event is ev


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("DomainEvent.name", "contact.exploded"),
        ("DomainEvent.team_id", MEMBER),
        ("DomainEvent.subject_id", 5),
        ("DomainEvent.subject_id", ""),
        ("DomainEvent.occurred_at", datetime(2026, 1, 1)),
        ("DomainEvent.actor_id", TEAM),
        ("DomainEvent.data", ["a"]),
    ],
)
def test_domain_event_rejections(field: str, value: object) -> None:
    rejects(
        DomainEvent,
        field,
        value,
        name=EventName.TEAM_CREATED,
        team_id=TEAM,
        subject_id=TEAM,
        occurred_at=NOW,
    )


@pytest.mark.parametrize("data", [{"x": {"a": 1}}, {"x": [1, 2]}, {"x": NOW}, {"": 1}])
def test_domain_event_data_must_be_json_ready(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as exc:
        DomainEvent(
            name=EventName.TEAM_CREATED,
            team_id=TEAM,
            subject_id=TEAM,
            occurred_at=NOW,
            data=data,
        )
    assert exc.value.field.startswith("DomainEvent.data")


def test_outbox_message_rejections() -> None:
    ev = DomainEvent(name=EventName.TEAM_CREATED, team_id=TEAM, subject_id=TEAM, occurred_at=NOW)
    rejects(OutboxMessage, "OutboxMessage.seq", 0, event=ev)
    rejects(OutboxMessage, "OutboxMessage.seq", "1", event=ev)
    rejects(OutboxMessage, "OutboxMessage.event", {"name": "team.created"}, seq=1)


# ------------------------------------------------------------ hypothesis: names
@given(st.text(max_size=250))
def test_any_text_name_is_either_accepted_normalised_or_named_in_the_error(name: str) -> None:
    error: ValidationError | None = None
    try:
        team = Team(**{**TEAM_KW, "name": name})
    except ValidationError as exc:
        error = exc
    if error is not None:
        assert error.field == "Team.name"
        assert error.value == name
        return
    assert team.name == team.name.strip()
    assert len(team.name) > 0
    assert Team(**{**TEAM_KW, "name": team.name}) == team
