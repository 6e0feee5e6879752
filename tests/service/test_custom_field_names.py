"""Custom fields named in any language (seed 004: "województwo"), on every store."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

import pg_support
import teamcrm
from teamcrm.validation import check_custom_fields, check_field_name

NAMES = ["województwo", "Ταχ. κώδικας", "都道府県", "Область", "हिन्दी नाम", "_código-postal"]


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    with pg_support.open_store_kind(request.param, tmp_path) as c:
        yield c


@pytest.mark.parametrize("name", NAMES)
def test_names_in_any_script_are_accepted(name: str) -> None:
    assert check_field_name("f", name) == name


@pytest.mark.parametrize(
    "bad", ["", "1st", "\u0663abc", "\u0301x", "a" * 65, "a:b", 'a"b', "a\nb", "tab\there"]
)
def test_names_stay_refused_when_malformed(bad: str) -> None:
    with pytest.raises(teamcrm.ValidationError, match="names must be"):
        check_field_name("f", bad)


def test_a_decomposed_spelling_is_the_same_field() -> None:
    nfd = unicodedata.normalize("NFD", "województwo")
    assert nfd != "województwo"
    assert dict(check_custom_fields("f", {nfd: "x"})) == {"województwo": "x"}
    with pytest.raises(teamcrm.ValidationError, match="same field"):
        check_custom_fields("f", {nfd: 1, "województwo": 2})


def test_unicode_fields_are_stored_updated_and_searched_on_every_store(
    crm: teamcrm.CRM,
) -> None:
    _, admin = crm.create_team("Kraków", admin_name="Ania")
    ania = crm.as_member(admin.id)
    fields = {name: f"value {i}" for i, name in enumerate(NAMES)}
    ewa = ania.create_contact("Ewa", custom_fields=fields)
    assert dict(ania.contact(ewa.id).custom_fields) == fields
    # Typed with combining accents: the same field.
    nfd = unicodedata.normalize("NFD", "województwo")
    others = {k: v for k, v in fields.items() if k != "województwo"}
    ania.update_contact(ewa.id, custom_fields={**others, nfd: "mazowieckie"})
    assert ania.contact(ewa.id).custom_fields["województwo"] == "mazowieckie"
    ania.create_contact("Jan", custom_fields={"województwo": "małopolskie"})
    hits = ania.search(custom_field="województwo", custom_value="mazowieckie")
    assert [r.contact.id for r in hits.rows] == [ewa.id]
    assert len(ania.search(custom_field=nfd).rows) == 2
    assert len(ania.search(custom_field="都道府県").rows) == 1
    assert len(ania.search(custom_field="Ταχ. κώδικας", custom_value="value 1").rows) == 1
