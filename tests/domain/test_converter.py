"""Every entity round-trips through :mod:`teamcrm.converter` as real JSON text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm import converter as conv_module
from teamcrm import ids
from teamcrm.bucket import AccessGrant, AccessLevel, Bucket, BucketKind, BucketMembership
from teamcrm.contact import Company, Contact, EmailAddress, PhoneNumber
from teamcrm.converter import converter, make_converter, structure, unstructure
from teamcrm.errors import ValidationError
from teamcrm.events import DomainEvent, EventName, OutboxMessage
from teamcrm.interaction import Interaction, InteractionKind, Outcome
from teamcrm.team import BucketManagement, Member, Role, Team, TeamSettings
from teamcrm.testing import strategies
from teamcrm.validation import check_phone

NOW = datetime(2026, 1, 5, 9, 30, 15, 123456, tzinfo=UTC)
TEAM = ids.new_team_id()
MEMBER = ids.new_member_id()
CONTACT = ids.new_contact_id()
COMPANY = ids.new_company_id()
BUCKET = ids.new_bucket_id()


def _event() -> DomainEvent:
    return DomainEvent(
        name=EventName.BUCKET_ITEMS_ADDED,
        team_id=TEAM,
        subject_id=BUCKET,
        occurred_at=NOW,
        actor_id=MEMBER,
        data={"item_ids": [CONTACT, COMPANY], "count": 2, "flag": False, "none": None},
    )


ENTITIES: list[Any] = [
    TeamSettings(
        bucket_management=BucketManagement.MANAGERS,
        file_notes_under_companies=False,
        statuses=("hot", "warm", "cold"),
        new_contact_status="warm",
        new_lead_status="hot",
    ),
    Team(id=TEAM, name="Acme Realty", created_at=NOW, version=3),
    Member(
        id=MEMBER,
        team_id=TEAM,
        name="Ana",
        role=Role.MANAGER,
        created_at=NOW,
        email="ana@acme.test",
        active=False,
        away_until=NOW + timedelta(days=3),
        time_zone="Europe/Warsaw",
        version=2,
    ),
    EmailAddress(address="bea@example.com", validated=True, label="work"),
    PhoneNumber(number="+15550102030"),
    Contact(
        id=CONTACT,
        team_id=TEAM,
        created_at=NOW,
        status="evaluate",
        first_name="Zoë",
        last_name="Jones",
        emails=(EmailAddress(address="z@example.com", validated=True),),
        phones=(PhoneNumber(number="+15550102030", label="mobile"),),
        company_ids=(COMPANY,),
        source="website",
        custom_fields={"budget": 250000, "ratio": 0.25, "vip": True, "note": "ü", "x": None},
        created_by=MEMBER,
        version=4,
    ),
    Contact(id=CONTACT, team_id=TEAM, created_at=NOW, status="new", last_name="Solo"),
    Company(id=COMPANY, team_id=TEAM, name="Globex", created_at=NOW, domain="globex.test"),
    AccessGrant(member_id=MEMBER, level=AccessLevel.EDITOR, can_view_conversations=True),
    Bucket(
        id=BUCKET,
        team_id=TEAM,
        name="Leads",
        kind=BucketKind.TEAM,
        created_at=NOW,
        grants=(AccessGrant(member_id=MEMBER),),
        created_by=MEMBER,
    ),
    Bucket(
        id=BUCKET,
        team_id=TEAM,
        name="Mine",
        kind=BucketKind.PERSONAL,
        created_at=NOW,
        owner_id=MEMBER,
    ),
    BucketMembership(team_id=TEAM, bucket_id=BUCKET, item_id=COMPANY, added_at=NOW),
    Interaction(
        id=ids.new_interaction_id(),
        team_id=TEAM,
        kind=InteractionKind.CALL,
        author_id=MEMBER,
        occurred_at=NOW - timedelta(hours=1),
        logged_at=NOW,
        contact_ids=(CONTACT,),
        company_ids=(COMPANY,),
        outcome=Outcome.CONNECTED,
        via="+15550102030",
        reference="OPP-7",
        body="Talked.\nCall back Tuesday.",
    ),
    Interaction(
        id=ids.new_interaction_id(),
        team_id=TEAM,
        kind=InteractionKind.NOTE,
        author_id=MEMBER,
        occurred_at=NOW,
        logged_at=NOW,
        company_ids=(COMPANY,),
    ),
    _event(),
    OutboxMessage(seq=7, event=_event()),
]


def _json_round_trip(obj: Any) -> Any:
    return json.loads(json.dumps(unstructure(obj)))


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda e: type(e).__name__)
def test_round_trip_through_json(entity: Any) -> None:
    data = _json_round_trip(entity)
    back = structure(data, type(entity))
    assert back == entity
    assert type(back) is type(entity)
    # the ready-made converter and a fresh one agree
    assert make_converter().structure(data, type(entity)) == entity
    assert converter.unstructure(back) == data


def test_datetimes_are_iso_8601_with_offset_and_enums_are_strings() -> None:
    member = ENTITIES[2]
    data = _json_round_trip(member)
    assert data["created_at"] == "2026-01-05T09:30:15.123456+00:00"
    assert data["away_until"] == "2026-01-08T09:30:15.123456+00:00"
    assert data["role"] == "manager"
    assert data["active"] is False
    ix = _json_round_trip(ENTITIES[12])
    assert ix["kind"] == "call"
    assert ix["outcome"] == "connected"
    assert ix["contact_ids"] == [CONTACT]
    settings = _json_round_trip(ENTITIES[0])
    assert settings["bucket_management"] == "managers"
    assert settings["statuses"] == ["hot", "warm", "cold"]
    ev = _json_round_trip(ENTITIES[-1])
    assert ev["event"]["name"] == "bucket.items_added"


def test_structure_converts_other_offsets_to_utc() -> None:
    data = _json_round_trip(ENTITIES[1])
    data["created_at"] = "2026-01-05T11:30:15.123456+02:00"
    team = structure(data, Team)
    assert team.created_at == NOW
    assert team.created_at.tzinfo is UTC


def _mutated(entity: Any, path: tuple[Any, ...], value: Any) -> Any:
    data = _json_round_trip(entity)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("index", "path", "value", "field"),
    [
        (1, ("created_at",), "2026-01-05T09:30:15", "datetime"),  # naive
        (1, ("created_at",), "yesterday", "datetime"),
        (1, ("created_at",), 1767605415, "datetime"),
        (1, ("name",), 5, "Team.name"),  # not coerced to "5"
        (1, ("version",), "3", "Team.version"),
        (1, ("settings", "statuses"), "evaluate", "TeamSettings.statuses"),  # not split
        (1, ("settings", "file_notes_under_companies"), "false", None),
        (2, ("active",), "false", "Member.active"),  # bool("false") would be True
        (2, ("active",), 0, "Member.active"),
        (2, ("role",), "owner", None),
        (2, ("time_zone",), "Mars/Base", "Member.time_zone"),
        (5, ("emails",), "z@example.com", "Contact.emails"),
        (5, ("emails", 0, "validated"), "yes", "EmailAddress.validated"),
        (5, ("phones", 0, "number"), 15550102030, "PhoneNumber.number"),
        (5, ("company_ids",), [CONTACT], "Contact.company_ids"),
        (5, ("custom_fields",), [["a", 1]], "Contact.custom_fields"),
        (5, ("custom_fields", "budget"), {"nested": 1}, None),
        (5, ("id",), _DELETE, None),  # missing key
        (9, ("grants", 0, "level"), "owner", None),
        (9, ("kind",), "personal", "Bucket.owner_id"),
        (11, ("item_id",), MEMBER, "BucketMembership.item_id"),
        (12, ("outcome",), "great", None),
        (12, ("contact_ids",), None, "Interaction.contact_ids"),
        (15, ("event", "data"), [1], "DomainEvent.data"),
        (15, ("event", "subject_id"), 5, "DomainEvent.subject_id"),
        (15, ("seq",), "7", "OutboxMessage.seq"),
    ],
)
def test_bad_data_raises_validation_error(
    index: int, path: tuple[Any, ...], value: Any, field: str | None
) -> None:
    entity = ENTITIES[index]
    data = _mutated(entity, path, value)
    with pytest.raises(ValidationError) as exc:
        structure(data, type(entity))
    if field is not None:
        assert exc.value.field.startswith(field), exc.value


@pytest.mark.parametrize("data", [None, 5, "team", [1, 2], {}])
def test_wrong_shapes_raise_validation_error(data: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        structure(data, Team)
    assert exc.value.field == "Team"


def test_unstructure_is_json_ready() -> None:
    for entity in ENTITIES:
        text = json.dumps(unstructure(entity), allow_nan=False)
        assert isinstance(json.loads(text), dict)


def test_module_exports() -> None:
    assert conv_module.converter is converter
    fresh = conv_module.configure_converter(conv_module.cattrs.Converter())
    assert fresh.structure(_json_round_trip(ENTITIES[1]), Team) == ENTITIES[1]


# ----------------------------------------------------------- property: contacts
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(categories=["L", "N", "Zs"]), max_size=20).map(str.strip),
)
_names = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=20)


@given(
    first=_names,
    last=st.text(alphabet=st.characters(categories=["L"]), max_size=20),
    custom=st.dictionaries(st.from_regex(r"\A[a-z_][a-z0-9_]{0,10}\Z"), _scalars, max_size=5),
    phones=st.lists(strategies.phones(), max_size=3),
    when=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    validated=st.booleans(),
)
def test_contacts_round_trip(
    first: str,
    last: str,
    custom: dict[str, Any],
    phones: list[str],
    when: datetime,
    validated: bool,
) -> None:
    phones = list({check_phone("p", p): p for p in phones}.values())  # one per key
    contact = Contact(
        id=CONTACT,
        team_id=TEAM,
        created_at=when,
        status="evaluate",
        first_name=first,
        last_name=last,
        phones=tuple(PhoneNumber(number=p, validated=validated) for p in phones),
        custom_fields=custom,
    )
    assert structure(_json_round_trip(contact), Contact) == contact
