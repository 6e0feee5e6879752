"""Unit tests of :mod:`teamcrm.validation`: every check normalises or names field and value."""

from __future__ import annotations

import enum
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.errors import ValidationError
from teamcrm.validation import (
    MAX_CUSTOM_FIELDS,
    MAX_NAME,
    Checker,
    check_custom_fields,
    check_email,
    check_enum,
    check_id,
    check_int,
    check_phone,
    check_text,
    check_zone,
    normalise_email,
    normalise_phone,
    utc_datetime,
)


def _names(exc: pytest.ExceptionInfo[ValidationError], field: str, value: object) -> None:
    """The error carries and prints the field and the value."""
    assert exc.value.field == field
    assert exc.value.value == value or (exc.value.value is value)
    assert field in str(exc.value)
    assert repr(value)[:40] in str(exc.value)


# ------------------------------------------------------------------ check_text
def test_text_is_stripped_and_nfc_normalised() -> None:
    assert check_text("f", "  Ana  ") == "Ana"
    decomposed = "Zo" + "e\u0301"
    assert check_text("f", decomposed) == unicodedata.normalize("NFC", decomposed)


@pytest.mark.parametrize("value", [None, 5, 1.5, b"x", ["x"], True])
def test_text_rejects_non_strings(value: object) -> None:
    with pytest.raises(ValidationError, match="must be a string") as exc:
        check_text("Team.name", value)
    _names(exc, "Team.name", value)


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_text_rejects_empty_unless_allowed(value: str) -> None:
    with pytest.raises(ValidationError, match="empty") as exc:
        check_text("Team.name", value)
    _names(exc, "Team.name", value)
    assert check_text("f", value, allow_empty=True) == ""


def test_text_length_limit() -> None:
    assert check_text("f", "x" * MAX_NAME) == "x" * MAX_NAME
    with pytest.raises(ValidationError, match="at most 200"):
        check_text("f", "x" * (MAX_NAME + 1))
    # surrounding white space does not count
    assert check_text("f", " " + "x" * MAX_NAME + " ") == "x" * MAX_NAME


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f"])
def test_text_rejects_control_characters(char: str) -> None:
    with pytest.raises(ValidationError, match="control character"):
        check_text("f", f"a{char}b")


def test_text_newlines_only_when_multiline() -> None:
    with pytest.raises(ValidationError, match="control character"):
        check_text("f", "line one\nline two")
    assert check_text("f", "line one\n\tline two", multiline=True) == "line one\n\tline two"


def test_text_rejects_lone_surrogate() -> None:
    with pytest.raises(ValidationError, match="surrogate"):
        check_text("f", "a\ud800b")


@given(st.text(min_size=1, max_size=MAX_NAME))
def test_text_is_idempotent_on_what_it_accepts(value: str) -> None:
    try:
        once = check_text("f", value)
    except ValidationError:
        return
    assert check_text("f", once) == once


def test_text_length_is_checked_after_normalisation() -> None:
    # U+0958 is a composition exclusion: NFC turns it into two code points,
    # so 200 of them are 400 characters once normalised: too long.
    with pytest.raises(ValidationError, match="once normalised"):
        check_text("f", "\u0958" * MAX_NAME)
    assert len(check_text("f", "\u0958" * (MAX_NAME // 2))) == MAX_NAME


# -------------------------------------------------------------- utc_datetime
def test_utc_datetime_converts_to_utc() -> None:
    warsaw = timezone(timedelta(hours=2))
    value = datetime(2026, 6, 1, 12, 0, tzinfo=warsaw)
    out = utc_datetime("f", value)
    assert out.tzinfo is UTC
    assert out == value
    assert out.hour == 10


@pytest.mark.parametrize("value", [datetime(2026, 1, 1), "2026-01-01T00:00:00+00:00", 0, None])
def test_utc_datetime_rejects_naive_and_non_datetimes(value: object) -> None:
    with pytest.raises(ValidationError) as exc:
        utc_datetime("until", value)
    _names(exc, "until", value)


# ---------------------------------------------------------------- check_zone
@pytest.mark.parametrize("zone", ["UTC", "Europe/Warsaw", "America/New_York"])
def test_zone_accepts_iana_names(zone: str) -> None:
    assert check_zone("Member.time_zone", zone) == zone


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "../../etc/passwd", 5, None])
def test_zone_rejects_unknown(zone: object) -> None:
    with pytest.raises(ValidationError) as exc:
        check_zone("Member.time_zone", zone)
    _names(exc, "Member.time_zone", zone)


# ---------------------------------------------------------------- check_enum
class _Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


def test_enum_accepts_members_and_values() -> None:
    assert check_enum("f", _Colour, _Colour.RED) is _Colour.RED
    assert check_enum("f", _Colour, "blue") is _Colour.BLUE


@pytest.mark.parametrize("value", ["green", "RED", 1, None, ["red"]])
def test_enum_rejects_others_and_lists_the_allowed(value: object) -> None:
    with pytest.raises(ValidationError, match="'red', 'blue'") as exc:
        check_enum("Member.role", _Colour, value)
    _names(exc, "Member.role", value)


# ----------------------------------------------------------------- check_int
def test_int_bounds() -> None:
    assert check_int("f", 0) == 0
    assert check_int("f", 5, minimum=5, maximum=5) == 5
    with pytest.raises(ValidationError, match="between 1 and 3"):
        check_int("f", 4, minimum=1, maximum=3)


@pytest.mark.parametrize("value", [True, False, 1.0, "1", None])
def test_int_rejects_bools_floats_and_text(value: object) -> None:
    with pytest.raises(ValidationError, match="integer") as exc:
        check_int("version", value)
    _names(exc, "version", value)


# ------------------------------------------------------------------ check_id
def test_id_accepts_well_formed() -> None:
    good = "ct_" + "0123456789abcdef0123456789"
    assert check_id("contact_id", good, "ct_") == good


@pytest.mark.parametrize(
    "value",
    [
        "bk_0123456789abcdef0123456789",  # wrong prefix
        "ct_0123456789ABCDEF0123456789",  # upper-case hex
        "ct_0123",  # too short
        "ct_0123456789abcdef01234567890",  # too long
        " ct_0123456789abcdef0123456789",
        "",
        5,
        None,
    ],
)
def test_id_rejects_malformed(value: object) -> None:
    with pytest.raises(ValidationError, match="'ct_'") as exc:
        check_id("contact_id", value, "ct_")
    _names(exc, "contact_id", value)


# --------------------------------------------------------------- check_email
def test_email_lowercases_the_domain_only() -> None:
    assert check_email("f", "  Bea.Jones@Example.COM ") == "Bea.Jones@example.com"
    assert normalise_email("x@Y.Org") == "x@y.org"


@pytest.mark.parametrize(
    "value",
    [
        "bea",
        "bea@",
        "@example.com",
        "bea@example",
        "a b@c.de",
        5,
        "a..b@example.com",
        "a@example..com",
        "a@example.com.",
        ".a@example.com",
        "a.@example.com",
        "a@-example.com",
        "a@example-.com",
        "a@.example.com",
        "a@example.123",
        "a@b@example.com",
        "a" * 65 + "@example.com",
    ],
)
def test_email_rejects_non_addresses(value: object) -> None:
    with pytest.raises(ValidationError) as exc:
        check_email("EmailAddress.address", value)
    _names(exc, "EmailAddress.address", value)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Zoe.Kowalska+crm@Example.COM", "Zoe.Kowalska+crm@example.com"),
        ("o'brien@mail.example.ie", "o'brien@mail.example.ie"),
        ("x@sub-domain.example.co.uk", "x@sub-domain.example.co.uk"),
        ("łukasz@przykład.pl", "łukasz@przykład.pl"),
    ],
)
def test_email_keeps_the_local_part_and_lowercases_the_domain(raw: str, normal: str) -> None:
    assert check_email("f", raw) == normal


# --------------------------------------------------------------- check_phone
@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("+1 (555) 010-2030", "+15550102030"),
        ("555.010.2030", "+15550102030"),
        ("(617) 555-0101", "+16175550101"),
        ("+1 617 555 0101", "+16175550101"),
        ("617-555-0101", "+16175550101"),
        ("+48 12/345 67 89", "+48123456789"),
        ("+1 617 555 0101 ext. 12", "+16175550101;ext=12"),
        ("617 555 0101 x12", "+16175550101;ext=12"),
    ],
)
def test_phone_is_normalised(raw: str, normal: str) -> None:
    """Every spelling of one number gives one key: E.164, ``;ext=N`` for an extension."""
    assert check_phone("PhoneNumber.number", raw) == normal
    assert normalise_phone(raw) == normal
    assert check_phone("PhoneNumber.number", normal) == normal


def test_phone_region_reads_national_numbers() -> None:
    assert check_phone("f", "600 000 003", "PL") == "+48600000003"
    assert check_phone("f", "020 7946 0958", "GB") == "+442079460958"
    assert check_phone("f", "+1 617 555 0101", "PL") == "+16175550101"  # + wins over region
    with pytest.raises(ValidationError, match="no country code"):
        check_phone("f", "617 555 0101", None)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("123456", "too short"),
        ("1" * 16, "too long"),
        ("555-CALL-NOW", "may only hold"),
        ("", "empty"),
        ("٥٥٥٠١٠٢٠٣٠", "may only hold"),
        (5550102030, "must be a str"),
        ("+15550100", "area code"),
        ("+999 1234 5678", "country code"),
    ],
)
def test_phone_rejects_bad_numbers(value: object, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as exc:
        check_phone("PhoneNumber.number", value)
    _names(exc, "PhoneNumber.number", value)


def test_phone_plus_only_leads() -> None:
    with pytest.raises(ValidationError):
        check_phone("PhoneNumber.number", "1+2+3+4+5+6+7")


@given(st.from_regex(r"\A\+?[0-9]{7,15}\Z"))
def test_phone_normal_form_is_a_fixed_point(number: str) -> None:
    try:
        key = check_phone("f", number)
    except ValidationError:
        return
    assert key.startswith("+")
    assert check_phone("f", key) == key
    assert check_phone("f", key, None) == key


# ------------------------------------------------------- check_custom_fields
def test_custom_fields_accept_json_scalars_and_copy() -> None:
    raw = {"budget": 250_000, "ratio": 0.5, "vip": True, "note": " hi ", "gone": None}
    out = check_custom_fields("Contact.custom_fields", raw)
    assert out == {**raw, "note": "hi"}
    assert out is not raw


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ({"x": [1]}, "x"),
        ({"x": {"a": 1}}, "x"),
        ({"x": float("nan")}, "x"),
        ({"x": float("inf")}, "x"),
        ({"x": 2**63}, "x"),
        ({"x": datetime(2026, 1, 1, tzinfo=UTC)}, "x"),
    ],
)
def test_custom_fields_reject_non_scalars(value: dict[str, object], key: str) -> None:
    with pytest.raises(ValidationError) as exc:
        check_custom_fields("Contact.custom_fields", value)
    assert exc.value.field == f"Contact.custom_fields[{key!r}]"
    assert exc.value.value == value[key] or exc.value.value != exc.value.value  # nan


@pytest.mark.parametrize("key", ["", "1abc", "a" * 65, "bad/key", 5])
def test_custom_fields_reject_bad_names(key: object) -> None:
    with pytest.raises(ValidationError, match="names") as exc:
        check_custom_fields("Contact.custom_fields", {key: 1})
    assert exc.value.value == key


def test_custom_fields_must_be_a_bounded_mapping() -> None:
    with pytest.raises(ValidationError, match="mapping"):
        check_custom_fields("Contact.custom_fields", [("a", 1)])
    too_many = {f"k{i}": i for i in range(MAX_CUSTOM_FIELDS + 1)}
    with pytest.raises(ValidationError, match="at most"):
        check_custom_fields("Contact.custom_fields", too_many)


def test_custom_fields_accept_the_whole_int64_range() -> None:
    assert check_custom_fields("f", {"x": -(2**63)}) == {"x": -(2**63)}


# ------------------------------------------------------------------- Checker
class _Thing:
    def __init__(self, **kw: object) -> None:
        for key, value in kw.items():
            object.__setattr__(self, key, value)


def test_checker_names_fields_by_class() -> None:
    thing = _Thing(name=" x ", ids=["ct_" + "a" * 26, "ct_" + "a" * 26, "ct_" + "b" * 26])
    c = Checker(thing)
    c.text("name")
    c.ids("ids", "ct_")
    assert thing.name == "x"  # type: ignore[attr-defined]
    assert thing.ids == ("ct_" + "a" * 26, "ct_" + "b" * 26)  # type: ignore[attr-defined]
    with pytest.raises(ValidationError) as exc:
        Checker(_Thing(flag="yes")).boolean("flag")
    assert exc.value.field == "_Thing.flag"
    with pytest.raises(ValidationError, match="list or tuple"):
        Checker(_Thing(ids="ct_" + "a" * 26)).ids("ids", "ct_")
    with pytest.raises(ValidationError, match="0 to 1 ids"):
        Checker(_Thing(ids=["ct_" + "a" * 26, "ct_" + "b" * 26])).ids("ids", "ct_", max_len=1)


def test_checker_optional_text_empty_becomes_none() -> None:
    thing = _Thing(label="   ")
    Checker(thing).optional_text("label")
    assert thing.label is None  # type: ignore[attr-defined]


def test_trusted_builds_without_checks_but_keeps_defaults_read_only() -> None:
    from datetime import UTC, datetime

    from teamcrm.contact import Contact
    from teamcrm.validation import FrozenDict, trusted

    c = trusted(
        Contact,
        id="ct_" + "0" * 26,
        team_id="tm_" + "0" * 26,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        status="evaluate",
        first_name="Ann",
    )
    assert c.first_name == "Ann"
    assert c.emails == ()
    assert c.version == 1
    assert isinstance(c.custom_fields, FrozenDict)
    assert c == Contact(
        id=c.id, team_id=c.team_id, created_at=c.created_at, status="evaluate", first_name="Ann"
    )
    with pytest.raises(TypeError):
        trusted(Contact, id=c.id)  # required fields missing: a programming error


def test_trusted_fills_inherited_slots_and_plain_attributes_too() -> None:
    import attrs

    from teamcrm.validation import trusted, trusted_builder

    @attrs.frozen(kw_only=True)
    class Base:
        a: int
        b: str = "b"

    @attrs.frozen(kw_only=True)
    class Child(Base):
        c: tuple[int, ...] = ()

    @attrs.frozen(kw_only=True, slots=False)
    class Plain:
        x: int

    child = trusted(Child, a=1, c=(2,))
    assert child == Child(a=1, c=(2,))
    assert (child.a, child.b, child.c) == (1, "b", (2,))
    assert trusted_builder(Child)(a=3).a == 3
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        child.a = 5  # type: ignore[misc]
    assert trusted(Plain, x=7) == Plain(x=7)
