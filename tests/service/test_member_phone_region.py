"""A member's own phone region overrides the team's for numbers that member types (issue 16)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

import pg_support
import teamcrm
from teamcrm.errors import ValidationError


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    if request.param == "postgres":
        with pg_support.schemas() as made, teamcrm.open(made.new()) as c:
            yield c
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 't.db'}"
    with teamcrm.open(url) as c:
        yield c


def _team(crm: teamcrm.CRM) -> tuple[teamcrm.MemberSession, teamcrm.MemberSession]:
    """Ana (admin, team region US) and Piotr (agent, his own region PL)."""
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    piotr = crm.as_member(ana.add_member("Piotr", role="agent", phone_region="pl").id)
    return ana, piotr


def test_the_region_is_stored_on_every_store(crm: teamcrm.CRM) -> None:
    ana, piotr = _team(crm)
    assert ana.member(piotr.member_id).phone_region == "PL"
    assert ana.member(ana.member_id).phone_region is None
    updated = piotr.update_member(phone_region="DE")
    assert (updated.phone_region, updated.version) == ("DE", 2)
    assert ana.member(piotr.member_id).phone_region == "DE"
    assert ana.update_member(piotr.member_id, phone_region="").phone_region is None
    assert ana.member(piotr.member_id).phone_region is None
    with pytest.raises(ValidationError) as refused:
        ana.add_member("Xena", phone_region="XX")
    assert refused.value.field == "Member.phone_region"


def test_numbers_a_member_types_are_read_in_that_members_region(crm: teamcrm.CRM) -> None:
    ana, piotr = _team(crm)
    mine = piotr.create_contact("Jan", "Kowalski", phones=["612 345 678"])
    assert [(p.number, p.display) for p in mine.phones] == [("+48612345678", "612 345 678")]
    [bulk] = piotr.create_contacts([{"first_name": "Ewa", "phones": ["22 123 45 67"]}])
    assert bulk.phones[0].number == "+48221234567"
    assert piotr.add_phone(mine.id, "(601) 111-222").phones[-1].number == "+48601111222"
    # the same digits typed by Ana are read in the team's region (US)
    theirs = ana.create_contact("Amy", "Lee", phones=["(617) 555-0101"])
    assert theirs.phones[0].number == "+16175550101"
    # ... and Piotr's same digits are a Polish number
    same = piotr.create_contact("Other", "Amy", phones=["(617) 555-0101"])
    assert same.phones[0].number == "+486175550101"
    # search: typed locally, each in their own region
    assert [r.contact.id for r in piotr.search(phone="612-345-678").rows] == [mine.id]
    piotr.remove_phone(mine.id, "601 111 222")
    assert [p.number for p in piotr.contact(mine.id).phones] == ["+48612345678"]


def test_an_import_reads_numbers_in_the_importing_members_region(crm: teamcrm.CRM) -> None:
    ana, piotr = _team(crm)
    text = "name,phone\nJan Nowak,612 345 679\n"
    report = piotr.import_contacts(io.StringIO(text))
    assert report.created == 1
    jan = piotr.search(phone="+48612345679").rows[0].contact
    assert jan.phones[0].number == "+48612345679"
    # Ana (no region of her own, team US) cannot read that number
    with pytest.raises(teamcrm.importing.ImportFailed):
        ana.import_contacts(io.StringIO("name,phone\nOla Nowak,612 345 670\n"))
    ana.change_settings(phone_region="PL")
    assert ana.import_contacts(io.StringIO("name,phone\nOla Nowak,612 345 670\n")).created == 1


def test_the_region_survives_a_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with teamcrm.open(url) as crm:
        ana, piotr = _team(crm)
        team_id, piotr_id = ana.team_id, piotr.member_id
    with teamcrm.open(url) as crm:
        member = crm.as_member(piotr_id).member(piotr_id)
        assert (member.team_id, member.phone_region) == (team_id, "PL")
