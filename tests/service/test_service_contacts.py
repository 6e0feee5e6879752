"""Use cases of contacts and companies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import teamcrm
from service_helpers import Team3, last_seq, names
from teamcrm import (
    ConcurrencyError,
    ContactDraft,
    EmailAddress,
    EventName,
    MemberSession,
    NotFound,
    PermissionDenied,
    PhoneNumber,
    TeamCRMError,
    ValidationError,
)


def count_contacts(crm: teamcrm.CRM, session: MemberSession) -> int:
    with crm.store.unit_of_work(write=False) as uow:
        return len(uow.contacts.all(session.team_id))


# ------------------------------------------------------------------- create
def test_create_contact_normalises_and_defaults(team: Team3, clock: teamcrm.SettableClock) -> None:
    ana = team[0]
    seq = last_seq(ana)
    c = ana.create_contact(
        " Bea ",
        "Jones",
        emails=["Bea@Example.COM"],
        phones=["+1 (555) 010-2030", PhoneNumber(number="555 010 9999", label="home")],
        source="website",
        custom_fields={"budget": 250_000, "vip": True, "ratio": 0.5, "note": "x", "none": None},
    )
    assert c.first_name == "Bea"
    assert c.emails == (EmailAddress(address="Bea@example.com"),)
    assert [p.number for p in c.phones] == ["+15550102030", "+15550109999"]
    assert c.status == "evaluate"  # the team's new_contact_status
    assert c.created_at == clock.now()
    assert c.created_by == ana.member_id
    assert c.team_id == ana.team_id
    assert c.version == 1
    assert ana.contact(c.id) == c
    rows = ana.events(seq)
    assert [r.event.name for r in rows] == [EventName.CONTACT_CREATED]
    assert rows[0].event.data == {"source": "website", "status": "evaluate"}
    assert rows[0].event.actor_id == ana.member_id


def test_default_status_follows_the_setting(team: Team3) -> None:
    ana = team[0]
    ana.change_settings(statuses=["new", "won"], new_contact_status="new", new_lead_status="new")
    assert ana.create_contact("Bea").status == "new"
    assert ana.create_contact("Cy", status="won").status == "won"
    with pytest.raises(ValidationError) as exc:
        ana.create_contact("Di", status="evaluate")  # no longer a status of the team
    assert exc.value.field == "Contact.status"
    assert exc.value.value == "evaluate"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "Contact.first_name"),  # a contact needs a name
        ({"first_name": " ", "last_name": ""}, "Contact.first_name"),
        ({"first_name": 5}, "Contact.first_name"),
        ({"first_name": "B", "status": "won"}, "Contact.status"),
        ({"first_name": "B", "status": 0}, "Contact.status"),
        ({"first_name": "B", "emails": ["nope"]}, "EmailAddress.address"),
        ({"first_name": "B", "emails": "b@x.io"}, "Contact.emails"),
        ({"first_name": "B", "emails": ["b@x.io", "B@X.IO"]}, "Contact.emails"),
        ({"first_name": "B", "phones": ["555 010 2030", "(555) 010-2030"]}, "Contact.phones"),
        ({"first_name": "B", "phones": ["12"]}, "PhoneNumber.number"),
        ({"first_name": "B", "custom_fields": {"x": [1]}}, "Contact.custom_fields['x']"),
        ({"first_name": "B", "custom_fields": {"x": {"y": 1}}}, "Contact.custom_fields['x']"),
        ({"first_name": "B", "custom_fields": ["x"]}, "Contact.custom_fields"),
        ({"first_name": "B", "company_ids": ["ct_" + "0" * 26]}, "Contact.company_ids"),
        ({"first_name": "B", "source": 5}, "Contact.source"),
    ],
)
def test_create_contact_rejections(
    crm: teamcrm.CRM, team: Team3, kwargs: dict[str, Any], field: str
) -> None:
    ana = team[0]
    seq = last_seq(ana)
    with pytest.raises(ValidationError) as exc:
        ana.create_contact(**kwargs)
    assert exc.value.field == field, exc.value
    assert field in str(exc.value)
    assert count_contacts(crm, ana) == 0
    assert names(ana, seq) == []


def test_company_of_a_new_contact_must_exist_in_the_team(crm: teamcrm.CRM, team: Team3) -> None:
    ana = team[0]
    _, z = crm.create_team("Other", admin_name="Zed")
    foreign = crm.as_member(z.id).create_company("Foreign Inc")
    with pytest.raises(NotFound):
        ana.create_contact("Bea", company_ids=[foreign.id])
    with pytest.raises(NotFound):
        ana.create_contact("Bea", company_ids=["co_" + "0" * 26])
    assert count_contacts(crm, ana) == 0


# ------------------------------------------------------------ create_contacts
def test_create_contacts_in_bulk(team: Team3) -> None:
    ana = team[0]
    bucket = ana.create_bucket("Imports")
    seq = last_seq(ana)
    made = ana.create_contacts(
        [
            ContactDraft(first_name="A", source="import"),
            {"first_name": "B", "emails": ["b@x.io"]},
            ContactDraft(last_name="C", status="active"),
        ],
        bucket_id=bucket.id,
    )
    assert [c.display_name for c in made] == ["A", "B", "C"]
    assert [c.status for c in made] == ["evaluate", "evaluate", "active"]
    assert len({c.id for c in made}) == 3
    assert {c.id for c in ana.bucket_contacts(bucket.id)} == {c.id for c in made}
    assert names(ana, seq) == [EventName.CONTACT_CREATED] * 3 + [EventName.BUCKET_ITEMS_ADDED]


@pytest.mark.parametrize(
    "bad",
    [
        {"first_name": ""},
        {"first_name": "X", "emails": ["x"]},
        {"first_name": "X", "colour": "red"},
        {"first_name": "X", "status": "won"},
        {"first_name": "X", "company_ids": ["co_" + "0" * 26]},
        5,
    ],
)
def test_create_contacts_is_all_or_nothing(crm: teamcrm.CRM, team: Team3, bad: Any) -> None:
    ana = team[0]
    bucket = ana.create_bucket("Imports")
    seq = last_seq(ana)
    drafts = [{"first_name": "Good"}, bad, {"first_name": "Also good"}]
    with pytest.raises(TeamCRMError):
        ana.create_contacts(drafts, bucket_id=bucket.id)
    assert count_contacts(crm, ana) == 0
    assert ana.bucket_items(bucket.id) == []
    assert names(ana, seq) == []


def test_create_contacts_argument_checks(team: Team3) -> None:
    ana = team[0]
    with pytest.raises(ValidationError, match="drafts"):
        ana.create_contacts(5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="unknown contact field"):
        ana.create_contacts([{1: "x", "y": 2, "first_name": "A"}])  # type: ignore[dict-item]
    assert ana.create_contacts([]) == []


def test_create_contacts_into_a_bucket_needs_edit_rights(team: Team3) -> None:
    ana, _, bob = team
    bucket = ana.create_bucket("Leads")
    ana.grant_access(bucket.id, bob.member_id)  # viewer
    with pytest.raises(PermissionDenied):
        bob.create_contacts([{"first_name": "A"}], bucket_id=bucket.id)
    hidden = ana.create_bucket("Hidden")
    with pytest.raises(NotFound):
        bob.create_contacts([{"first_name": "A"}], bucket_id=hidden.id)
    assert bob.create_contacts([{"first_name": "A"}])[0].created_by == bob.member_id


# -------------------------------------------------------------------- update
def test_update_contact(team: Team3, clock: teamcrm.SettableClock) -> None:
    ana = team[0]
    c = ana.create_contact("Bea", emails=["b@x.io"])
    clock.advance(timedelta(hours=1))
    seq = last_seq(ana)
    u = ana.update_contact(
        c.id,
        expected_version=1,
        status="active",
        last_name="Jones",
        phones=["+48 123 456 789"],
        custom_fields={"k": 1},
    )
    assert (u.status, u.last_name, u.version) == ("active", "Jones", 2)
    assert u.phones[0].number == "+48123456789"
    assert u.created_at == c.created_at
    assert ana.contact(c.id) == u
    rows = ana.events(seq)
    assert [r.event.name for r in rows] == [EventName.CONTACT_UPDATED]
    assert rows[0].event.data == {"fields": ["custom_fields", "last_name", "phones", "status"]}


def test_update_contact_with_a_stale_version_is_refused(team: Team3) -> None:
    ana, max_, _ = team
    c = ana.create_contact("Bea")
    max_.update_contact(c.id, status="active")
    seq = last_seq(ana)
    with pytest.raises(ConcurrencyError) as exc:
        ana.update_contact(c.id, expected_version=c.version, status="closed")
    assert exc.value.key == c.id
    assert ana.contact(c.id).status == "active"
    assert names(ana, seq) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "won"}, "Contact.status"),
        ({"status": None}, "Contact.status"),
        ({"first_name": "", "last_name": ""}, "Contact.first_name"),
        ({"emails": ["a@x.io", "A@x.io"]}, "Contact.emails"),
        ({"emails": None}, "Contact.emails"),
        ({"company_ids": ["ct_" + "0" * 26]}, "Contact.company_ids"),
        ({"company_ids": "co_x"}, "Contact.company_ids"),
        ({"custom_fields": {"x": float("nan")}}, "Contact.custom_fields['x']"),
        ({"id": "ct_" + "1" * 26}, "contact"),
        ({"version": 9}, "contact"),
        ({"created_by": None}, "contact"),
        ({"expected_version": "1", "status": "active"}, "expected_version"),
        ({"expected_version": 0, "status": "active"}, "expected_version"),
    ],
)
def test_update_contact_rejections(team: Team3, changes: dict[str, Any], field: str) -> None:
    ana = team[0]
    c = ana.create_contact("Bea", last_name="Jones")
    seq = last_seq(ana)
    with pytest.raises(ValidationError) as exc:
        ana.update_contact(c.id, **changes)
    assert exc.value.field == field, exc.value
    assert ana.contact(c.id) == c
    assert names(ana, seq) == []


def test_agents_see_and_change_only_contacts_they_can_see(team: Team3) -> None:
    ana, max_, bob = team
    secret = ana.create_contact("Secret")
    own = bob.create_contact("Own")
    assert max_.contact(secret.id) == secret  # managers see everything
    for call in (
        lambda: bob.contact(secret.id),
        lambda: bob.update_contact(secret.id, status="active"),
        lambda: bob.delete_contact(secret.id),
        lambda: bob.mark_email_validated(secret.id, "a@b.co"),
    ):
        with pytest.raises(NotFound):
            call()
    assert bob.contact(own.id) == own
    bucket = ana.create_bucket("Shared")
    ana.add_to_bucket(bucket.id, secret.id)
    ana.grant_access(bucket.id, bob.member_id)
    assert bob.update_contact(secret.id, status="active").status == "active"


# -------------------------------------------------------------------- delete
def test_delete_contact(crm: teamcrm.CRM, team: Team3) -> None:
    ana, max_, bob = team
    bucket = ana.create_bucket("Shared")
    c = ana.create_contact("Bea")
    ana.add_to_bucket(bucket.id, c.id)
    ana.grant_access(bucket.id, bob.member_id, level="editor")
    ana.log_interaction("note", contact_ids=[c.id], body="hi")
    with pytest.raises(PermissionDenied):
        bob.delete_contact(c.id)  # sees it but neither creator nor manager
    seq = last_seq(ana)
    max_.delete_contact(c.id)
    assert names(ana, seq) == [EventName.CONTACT_DELETED]
    with pytest.raises(NotFound):
        ana.contact(c.id)
    assert ana.bucket_items(bucket.id) == []
    with crm.store.unit_of_work(write=False) as uow:  # interactions are kept
        assert len(uow.interactions.for_contact(ana.team_id, c.id)) == 1
    own = bob.create_contact("Own")
    bob.delete_contact(own.id)  # its creator may
    with pytest.raises(NotFound):
        bob.delete_contact(own.id)


# ----------------------------------------------------------------- companies
def test_companies_crud_and_linking(team: Team3) -> None:
    ana, _, bob = team
    seq = last_seq(ana)
    co = ana.create_company(" Globex ", domain="globex.test")
    assert (co.name, co.domain, co.created_by) == ("Globex", "globex.test", ana.member_id)
    c = ana.create_contact("Bea")
    linked = ana.link_company(c.id, co.id)
    assert linked.company_ids == (co.id,)
    assert ana.link_company(c.id, co.id) == linked  # no-op, no new version
    assert ana.unlink_company(c.id, co.id).company_ids == ()
    assert ana.unlink_company(c.id, co.id).version == 3  # no-op
    renamed = ana.update_company(co.id, name="Globex Corp")
    assert (renamed.name, renamed.version) == ("Globex Corp", 2)
    assert [x.id for x in ana.companies()] == [co.id]
    assert bob.companies() == []  # an agent sees only companies they can see
    assert names(ana, seq) == [
        EventName.COMPANY_CREATED,
        EventName.CONTACT_CREATED,
        EventName.CONTACT_UPDATED,
        EventName.CONTACT_UPDATED,
        EventName.COMPANY_UPDATED,
    ]


def test_deleting_a_company_unlinks_its_contacts(team: Team3) -> None:
    ana, _, bob = team
    co = ana.create_company("Globex")
    c = ana.create_contact("Bea", company_ids=[co.id])
    with pytest.raises(NotFound):
        bob.delete_company(co.id)
    seq = last_seq(ana)
    ana.delete_company(co.id)
    assert ana.contact(c.id).company_ids == ()
    assert EventName.COMPANY_DELETED in names(ana, seq)
    with pytest.raises(NotFound):
        ana.company(co.id)


def test_linking_needs_a_company_of_the_team(crm: teamcrm.CRM, team: Team3) -> None:
    ana = team[0]
    _, z = crm.create_team("Other", admin_name="Zed")
    zed = crm.as_member(z.id)
    foreign = zed.create_company("Foreign")
    foreign_contact = zed.create_contact("Zoe")
    c = ana.create_contact("Bea")
    with pytest.raises(NotFound):
        ana.link_company(c.id, foreign.id)
    with pytest.raises(NotFound):
        ana.update_contact(c.id, company_ids=[foreign.id])
    with pytest.raises(NotFound):
        ana.link_company(foreign_contact.id, ana.create_company("Ours").id)
    with pytest.raises(ValidationError, match="company_id"):
        ana.link_company(c.id, c.id)
    with pytest.raises(ValidationError, match="company_id"):
        ana.unlink_company(c.id, "bk_" + "0" * 26)
    assert ana.contact(c.id).company_ids == ()
    assert zed.company(foreign.id).name == "Foreign"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.create_company(5), "Company.name"),
        (lambda s: s.create_company(""), "Company.name"),
        (lambda s: s.create_company("X", domain=["x"]), "Company.domain"),
        (lambda s: s.company("ct_" + "0" * 26), "company_id"),
    ],
)
def test_company_rejections(team: Team3, call: Any, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        call(team[0])
    assert exc.value.field == field


# ------------------------------------------------------- validated channels
def test_mark_email_and_phone_validated(team: Team3) -> None:
    ana = team[0]
    c = ana.create_contact("Bea", emails=["bea@example.com"], phones=["+1 555 010 2030"])
    seq = last_seq(ana)
    v1 = ana.mark_email_validated(c.id, " BEA@example.COM ")
    assert v1.emails[0].validated
    assert v1.version == 2
    v2 = ana.mark_phone_validated(c.id, "+1 (555) 010-2030")
    assert v2.phones[0].validated
    assert ana.mark_phone_validated(c.id, "+15550102030").version == 3  # already: no-op
    rows = ana.events(seq)
    assert [r.event.name for r in rows] == [EventName.CONTACT_CHANNEL_VALIDATED] * 2
    assert [r.event.data["channel"] for r in rows] == ["bea@example.com", "+15550102030"]
    with pytest.raises(ValidationError) as exc:
        ana.mark_email_validated(c.id, "other@example.com")
    assert exc.value.field == "address"
    with pytest.raises(ValidationError) as exc:
        ana.mark_phone_validated(c.id, "555 999 0000")
    assert exc.value.field == "number"
    with pytest.raises(ValidationError, match="address"):
        ana.mark_email_validated(c.id, 5)  # type: ignore[arg-type]


# --------------------------------------------------------- cross-team, types
def test_ids_of_another_team_are_not_found(crm: teamcrm.CRM, team: Team3) -> None:
    ana = team[0]
    _, z = crm.create_team("Other", admin_name="Zed")
    zed = crm.as_member(z.id)
    theirs = zed.create_contact("Zoe")
    co = zed.create_company("Z Corp")
    for call in (
        lambda: ana.contact(theirs.id),
        lambda: ana.update_contact(theirs.id, status="active"),
        lambda: ana.delete_contact(theirs.id),
        lambda: ana.mark_email_validated(theirs.id, "z@x.io"),
        lambda: ana.company(co.id),
        lambda: ana.update_company(co.id, name="Mine"),
        lambda: ana.delete_company(co.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert zed.contact(theirs.id) == theirs
    assert zed.company(co.id) == co


def test_wrong_prefix_ids_name_the_field(team: Team3) -> None:
    ana = team[0]
    c = ana.create_contact("Bea")
    with pytest.raises(ValidationError) as exc:
        ana.contact("bk_" + c.id[3:])
    assert exc.value.field == "contact_id"
    assert exc.value.value == "bk_" + c.id[3:]
    assert "bk_" in str(exc.value)


# --------------------------------------------------------------- property
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
_value = st.one_of(
    _scalar,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=40)
@given(fields=st.dictionaries(st.text(max_size=8), _value, max_size=4))
def test_custom_fields_are_json_scalars_or_refused(fields: dict[Any, Any]) -> None:
    crm = teamcrm.open("memory://")
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    error: ValidationError | None = None
    try:
        c = ana.create_contact("Bea", custom_fields=fields)
    except ValidationError as exc:
        error = exc
    if error is not None:
        assert error.field.startswith("Contact.custom_fields")
        assert count_contacts(crm, ana) == 0
        return
    assert not any(isinstance(v, list | dict) for v in fields.values())
    for key, value in c.custom_fields.items():
        assert isinstance(value, str | int | float | bool) or value is None
        assert key in fields
    assert ana.contact(c.id).custom_fields == c.custom_fields
