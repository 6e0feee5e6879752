"""Opportunities and cases (issue 19 item 7, seed 002) on the memory, SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pg_support
import teamcrm
import teamcrm.ids
from teamcrm import (
    Case,
    CaseStatus,
    ConcurrencyError,
    EventName,
    NotFound,
    Opportunity,
    PermissionDenied,
    Stage,
    ValidationError,
    backup,
)
from teamcrm.ids import ContactId
from teamcrm.testing.snapshot import store_snapshot

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    with pg_support.open_store_kind(request.param, tmp_path) as c:
        yield c


@attrs.define
class Team:
    crm: teamcrm.CRM
    ana: teamcrm.MemberSession  # admin
    max: teamcrm.MemberSession  # manager
    bob: teamcrm.MemberSession  # agent
    cat: teamcrm.MemberSession  # agent
    hidden: teamcrm.Contact  # Ana's contact, out of Bob's and Cat's sight
    bobs: teamcrm.Contact  # Bob's own contact (Cat cannot see it)
    company: teamcrm.Company  # Ana's company, out of Bob's and Cat's sight


@pytest.fixture
def team(crm: teamcrm.CRM) -> Team:
    _, admin = crm.create_team("Clevertim", admin_name="Ana")
    ana = crm.as_member(admin.id)
    mx = crm.as_member(ana.add_member("Max", role="manager").id)
    bob = crm.as_member(ana.add_member("Bob", role="agent").id)
    cat = crm.as_member(ana.add_member("Cat", role="agent").id)
    return Team(
        crm,
        ana,
        mx,
        bob,
        cat,
        ana.create_contact("Hidden", "Person"),
        bob.create_contact("Bobs", "Client"),
        ana.create_company("Acme Ltd"),
    )


def _message(exc: pytest.ExceptionInfo[BaseException], record_id: str) -> str:
    return str(exc.value).replace(record_id, "<id>")


# ------------------------------------------------------------------ basics
def test_an_opportunity_round_trips_with_an_exact_value(team: Team) -> None:
    made = team.ana.create_opportunity(
        "Retirement plan",
        value="1250.50",
        currency="eur",
        stage="proposal",
        contact_ids=[team.hidden.id],
        company_ids=[team.company.id],
    )
    assert made.value == Decimal("1250.50")
    assert made.currency == "EUR"
    assert made.stage is Stage.PROPOSAL
    assert made.owner_id == team.ana.member_id
    assert made.id.startswith("op_")
    assert made.version == 1
    assert team.ana.opportunity(made.id) == made
    assert team.max.opportunities() == [made]


def test_a_case_round_trips_and_lists_by_status(team: Team) -> None:
    a = team.ana.create_case("Invoice wrong", contact_ids=[team.hidden.id])
    b = team.ana.create_case("Login fails", status="pending", company_ids=[team.company.id])
    assert a.id.startswith("ca_")
    assert a.status is CaseStatus.OPEN
    assert team.ana.case(b.id) == b
    assert team.ana.cases() == [a, b]
    assert team.ana.cases(status="pending") == [b]
    closed = team.ana.update_case(a.id, status="closed", expected_version=1)
    assert closed.version == 2
    assert closed.status is CaseStatus.CLOSED
    assert team.ana.cases(status=CaseStatus.CLOSED) == [closed]


def test_opportunities_list_by_stage_and_owner(team: Team) -> None:
    one = team.ana.create_opportunity("One", contact_ids=[team.bobs.id])
    two = team.ana.create_opportunity("Two", stage="won", owner_id=team.bob.member_id)
    assert team.ana.opportunities(stage="won") == [two]
    assert team.ana.opportunities(owner_id=team.ana.member_id) == [one]
    assert team.bob.opportunities() == [one, two]
    moved = team.ana.update_opportunity(two.id, stage="lost", value=10)
    assert moved.stage is Stage.LOST
    assert moved.value == 10
    assert moved.version == 2
    assert team.ana.opportunities(stage="won") == []


# -------------------------------------------------------------- visibility
def test_a_record_is_seen_through_one_of_its_contacts_or_companies(team: Team) -> None:
    opp = team.ana.create_opportunity("Hidden deal", contact_ids=[team.hidden.id])
    case = team.ana.create_case("Hidden case", company_ids=[team.company.id])
    missing = "op_" + "0" * 26
    for record_id, read in ((opp.id, team.bob.opportunity), (case.id, team.bob.case)):
        with pytest.raises(NotFound) as hidden:
            read(record_id)  # type: ignore[arg-type]
        other = missing if record_id.startswith("op_") else "ca_" + "0" * 26
        with pytest.raises(NotFound) as absent:
            read(other)  # type: ignore[arg-type]
        assert _message(hidden, record_id) == _message(absent, other)  # nothing leaks
    assert team.bob.opportunities() == []
    assert team.bob.cases() == []
    with pytest.raises(NotFound):
        team.bob.opportunity_notes(opp.id)
    with pytest.raises(NotFound):
        team.bob.log_interaction("note", contact_ids=[team.bobs.id], opportunity_id=opp.id)
    with pytest.raises(NotFound):
        team.bob.link_record(opp.id, contact_ids=[team.bobs.id])
    with pytest.raises(NotFound):
        team.bob.update_case(case.id, title="mine now")
    # One visible contact is enough; Bob is shown only the links he may see.
    team.ana.link_record(opp.id, contact_ids=[team.bobs.id])
    seen = team.bob.opportunity(opp.id)
    assert seen.contact_ids == (team.bobs.id,)
    assert team.ana.opportunity(opp.id).contact_ids == (team.hidden.id, team.bobs.id)
    assert [o.id for o in team.bob.opportunities()] == [opp.id]
    with pytest.raises(NotFound):
        team.cat.opportunity(opp.id)
    # Unlinking the only link he sees hides it from him again.
    team.bob.unlink_record(opp.id, contact_ids=[team.bobs.id])
    with pytest.raises(NotFound):
        team.bob.opportunity(opp.id)
    # A hidden contact cannot be unlinked (nor named) by Bob.
    team.ana.link_record(case.id, contact_ids=[team.bobs.id])
    with pytest.raises(NotFound):
        team.bob.unlink_record(case.id, contact_ids=[team.hidden.id])


def test_the_owner_and_the_creator_see_a_record_without_links(team: Team) -> None:
    opp = team.bob.create_opportunity("Cold call list")
    case = team.bob.create_case("Open question")
    assert team.bob.opportunity(opp.id) == opp
    assert team.bob.case(case.id) == case
    assert team.max.opportunities() == [opp]
    assert team.max.cases() == [case]
    with pytest.raises(NotFound):
        team.cat.opportunity(opp.id)
    with pytest.raises(NotFound):
        team.cat.case(case.id)
    handed = team.ana.create_opportunity("Handed over", owner_id=team.cat.member_id)
    assert team.cat.opportunity(handed.id).owner_id == team.cat.member_id


def test_reads_follow_visibility_at_read_time(team: Team) -> None:
    bucket = team.ana.create_bucket("Shared")
    team.ana.add_to_bucket(bucket.id, team.hidden.id)
    opp = team.ana.create_opportunity("Via bucket", contact_ids=[team.hidden.id])
    team.ana.grant_access(bucket.id, team.cat.member_id, level="viewer")
    assert team.cat.opportunity(opp.id).contact_ids == (team.hidden.id,)
    team.ana.revoke_access(bucket.id, team.cat.member_id)
    with pytest.raises(NotFound):
        team.cat.opportunity(opp.id)
    assert team.cat.opportunities() == []


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"value": 1.5}, "value"),
        ({"value": "-1"}, "value"),
        ({"value": "1.23456"}, "value"),
        ({"value": "1e20"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"currency": "EURO"}, "currency"),
        ({"stage": "closed"}, "stage"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_opportunity_fields_are_refused_naming_the_field(
    team: Team, changes: dict[str, object], field: str
) -> None:
    fields: dict[str, object] = {"title": "Deal", **changes}
    with pytest.raises(ValidationError, match=field):
        team.ana.create_opportunity(**fields)  # type: ignore[arg-type]
    assert team.ana.opportunities() == []  # nothing half-written


def test_commands_check_rights_and_versions(team: Team) -> None:
    opp = team.ana.create_opportunity("Deal", contact_ids=[team.bobs.id])
    with pytest.raises(PermissionDenied):
        team.bob.create_opportunity("Not mine", owner_id=team.cat.member_id)
    with pytest.raises(PermissionDenied):
        team.bob.update_opportunity(opp.id, owner_id=team.bob.member_id)
    with pytest.raises(PermissionDenied):
        team.bob.delete_opportunity(opp.id)
    renamed = team.bob.update_opportunity(opp.id, title="Bigger deal", expected_version=1)
    assert renamed.version == 2
    with pytest.raises(ConcurrencyError):
        team.ana.update_opportunity(opp.id, title="Stale", expected_version=1)
    with pytest.raises(ConcurrencyError):
        team.ana.delete_opportunity(opp.id, expected_version=1)
    same = team.ana.update_opportunity(opp.id, title="Bigger deal", value="0.00")
    assert same.version == 2  # nothing changed, nothing written
    with pytest.raises(ValidationError, match="case_id"):
        team.ana.case(opp.id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        team.ana.link_record(opp.id, contact_ids=["ct_" + "0" * 26])  # type: ignore[list-item]
    team.ana.delete_opportunity(opp.id, expected_version=2)
    with pytest.raises(NotFound):
        team.ana.opportunity(opp.id)


def test_a_refused_call_writes_nothing(team: Team) -> None:
    opp = team.ana.create_opportunity("Deal", contact_ids=[team.bobs.id])
    store, team_id = team.crm.store, team.ana.team_id
    before = store_snapshot(store, [team_id])
    ghost = ContactId("ct_" + "0" * 26)
    with pytest.raises(NotFound):
        team.ana.link_record(opp.id, contact_ids=[team.hidden.id, ghost])
    with pytest.raises(NotFound):
        team.bob.create_case("Half", contact_ids=[team.bobs.id, team.hidden.id])
    with pytest.raises(NotFound):
        team.bob.log_interaction("note", contact_ids=[team.bobs.id], case_id="ca_" + "1" * 26)
    with pytest.raises(ValidationError):
        team.ana.update_opportunity(opp.id, title="ok", currency="euro")
    assert store_snapshot(store, [team_id]) == before


def test_events_name_every_change(team: Team) -> None:
    after = team.ana.events()[-1].seq
    opp = team.ana.create_opportunity("Deal")
    team.ana.update_opportunity(opp.id, stage="qualified")
    team.ana.link_record(opp.id, contact_ids=[team.hidden.id])
    team.ana.delete_opportunity(opp.id)
    case = team.ana.create_case("Issue")
    team.ana.update_case(case.id, status="pending")
    team.ana.delete_case(case.id)
    events = [m.event for m in team.ana.events(after)]
    assert [e.name for e in events] == [
        EventName.OPPORTUNITY_CREATED,
        EventName.OPPORTUNITY_UPDATED,
        EventName.OPPORTUNITY_UPDATED,
        EventName.OPPORTUNITY_DELETED,
        EventName.CASE_CREATED,
        EventName.CASE_UPDATED,
        EventName.CASE_DELETED,
    ]
    assert events[1].data["fields"] == ["stage"]
    assert events[2].data["fields"] == ["contact_ids"]


# ------------------------------------------------------------------- notes
def test_interactions_are_filed_under_records_and_listed_as_readable(team: Team) -> None:
    case = team.ana.create_case("Billing", contact_ids=[team.hidden.id, team.bobs.id])
    opp = team.ana.create_opportunity("Upsell", company_ids=[team.company.id])
    anas = team.ana.log_interaction("note", case_id=case.id, body="Called about billing")
    assert anas.contact_ids == (team.hidden.id, team.bobs.id)  # the case's contacts
    bobs = team.bob.log_interaction("call", case_id=case.id, outcome="no_answer")
    assert bobs.contact_ids == (team.bobs.id,)  # only what Bob sees
    both = team.ana.log_interaction(
        "meeting", contact_ids=[team.hidden.id], opportunity_id=opp.id, case_id=case.id
    )
    # Each reads only the notes they may read (as for a contact's interactions:
    # another member's need a team bucket both can see), newest first.
    assert [i.id for i in team.ana.case_notes(case.id)] == [both.id, anas.id]
    assert [i.id for i in team.ana.opportunity_notes(opp.id)] == [both.id]
    assert [i.id for i in team.bob.case_notes(case.id)] == [bobs.id]
    shared = team.ana.create_bucket("Billing team")
    team.ana.add_to_bucket(shared.id, team.bobs.id)
    bob_id = team.bob.member_id
    team.ana.grant_access(shared.id, bob_id, level="viewer", can_view_conversations=True)
    assert [i.id for i in team.bob.case_notes(case.id)] == [bobs.id, anas.id]
    with pytest.raises(ValidationError, match="contact"):
        team.bob.log_interaction("note", opportunity_id=team.bob.create_opportunity("Bare").id)
    with pytest.raises(ValidationError, match="opportunity_id"):
        team.ana.log_interaction("note", opportunity_id=case.id)  # type: ignore[arg-type]
    # Deleting a record keeps its interactions.
    team.ana.delete_case(case.id)
    assert both.id in {i.id for i in team.ana.interactions_for_contact(team.hidden.id)}


# ------------------------------------------------- deletes, merges, backups
def test_deleting_a_contact_or_company_removes_its_links_and_keeps_the_record(team: Team) -> None:
    opp = team.bob.create_opportunity("Deal", contact_ids=[team.bobs.id])
    case = team.ana.create_case("Case", contact_ids=[team.bobs.id], company_ids=[team.company.id])
    team.bob.delete_contact(team.bobs.id)
    left = team.bob.opportunity(opp.id)  # the owner still sees it
    assert left.contact_ids == ()
    assert left.version == opp.version
    assert team.ana.case(case.id).contact_ids == ()
    team.ana.delete_company(team.company.id)
    assert team.ana.case(case.id).company_ids == ()
    with pytest.raises(NotFound):
        team.bob.case(case.id)  # Bob saw it only through his contact
    assert team.max.cases()[0].id == case.id  # kept, for managers and its creator


def test_merging_contacts_moves_record_links_to_the_survivor(team: Team) -> None:
    dup = team.ana.create_contact("Hidden", "Person")
    opp = team.ana.create_opportunity("Deal", contact_ids=[dup.id])
    case = team.ana.create_case("Case", contact_ids=[team.hidden.id, dup.id])
    team.ana.merge_contacts(team.hidden.id, [dup.id])
    assert team.ana.opportunity(opp.id).contact_ids == (team.hidden.id,)
    assert team.ana.case(case.id).contact_ids == (team.hidden.id,)


def test_a_team_backup_round_trips_records_and_their_notes(team: Team) -> None:
    opp = team.ana.create_opportunity("Deal", value="99.90", contact_ids=[team.hidden.id])
    case = team.ana.create_case("Case", company_ids=[team.company.id])
    team.ana.log_interaction("note", opportunity_id=opp.id, case_id=case.id, body="x")
    out = io.StringIO()
    summary = backup.export_team(team.crm, team.ana.team_id, out)
    assert summary.counts["opportunity"] == 1
    assert summary.counts["case"] == 1
    assert summary.counts["record_note"] == 2
    with teamcrm.open("memory://") as target:
        backup.import_team(target.store, io.StringIO(out.getvalue()))
        again = io.StringIO()
        backup.export_team(target, team.ana.team_id, again)
        assert again.getvalue() == out.getvalue()
        ana = target.as_member(team.ana.member_id)
        assert ana.opportunity(opp.id).value == Decimal("99.90")
        assert [i.body for i in ana.case_notes(case.id)] == ["x"]


def test_domain_records_validate_their_own_fields(team: Team) -> None:
    opp = team.ana.create_opportunity("Deal")
    with pytest.raises(ValidationError, match=r"Opportunity\.contact_ids"):
        attrs.evolve(opp, contact_ids=["co_" + "0" * 26])
    case = team.ana.create_case("Case")
    with pytest.raises(ValidationError, match=r"Case\.status"):
        attrs.evolve(case, status="solved")
    assert isinstance(opp, Opportunity)
    assert isinstance(case, Case)


# --------------------------------------------------------------- properties
def _visibility_world() -> tuple[
    teamcrm.CRM, dict[str, teamcrm.MemberSession], list[str], set[str]
]:
    """A memory team; returns the CRM, sessions, six link targets, and those Bob sees."""
    crm = teamcrm.open("memory://")
    _, admin = crm.create_team("Props", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob").id)
    mx = crm.as_member(ana.add_member("Max", role="manager").id)
    granted = ana.create_bucket("Granted")
    closed = ana.create_bucket("Closed")
    ana.grant_access(granted.id, bob.member_id, level="viewer")
    own = bob.create_contact("Own")
    via_bucket = ana.create_contact("Shared")
    ana.add_to_bucket(granted.id, via_bucket.id)
    in_closed = ana.create_contact("Closed")
    ana.add_to_bucket(closed.id, in_closed.id)
    anas = ana.create_contact("Anas")
    bobs_co = bob.create_company("Bob Co")
    anas_co = ana.create_company("Ana Co")
    targets = [own.id, via_bucket.id, in_closed.id, anas.id, bobs_co.id, anas_co.id]
    sessions = {"ana": ana, "bob": bob, "max": mx}
    return crm, sessions, targets, {own.id, via_bucket.id, bobs_co.id}


@settings(max_examples=40, deadline=None)
@given(
    picks=st.lists(st.integers(0, 5), unique=True, max_size=6),
    owner=st.sampled_from(["ana", "bob"]),
    as_case=st.booleans(),
)
def test_a_member_sees_a_record_iff_he_owns_it_or_sees_one_of_its_links(
    picks: list[int], owner: str, as_case: bool
) -> None:
    crm, who, targets, bob_sees = _visibility_world()
    try:
        chosen = [targets[i] for i in picks]
        contacts = [t for t in chosen if t.startswith("ct_")]
        companies = [t for t in chosen if t.startswith("co_")]
        maker = who[owner]
        if as_case:
            record: Opportunity | Case = maker.create_case(
                "C", contact_ids=contacts, company_ids=companies
            )
            read = who["bob"].case
            listed = [r.id for r in who["bob"].cases()]
        else:
            record = who["ana"].create_opportunity(
                "O",
                owner_id=who[owner].member_id,
                contact_ids=contacts,
                company_ids=companies,
            )
            read = who["bob"].opportunity
            listed = [r.id for r in who["bob"].opportunities()]
        expected = owner == "bob" or bool(bob_sees & set(chosen))
        assert (record.id in listed) == expected
        if expected:
            shown = read(record.id)  # type: ignore[arg-type]
            assert shown.contact_ids == tuple(c for c in contacts if c in bob_sees)
            assert shown.company_ids == tuple(c for c in companies if c in bob_sees)
        else:
            with pytest.raises(NotFound):
                read(record.id)  # type: ignore[arg-type]
        managed = who["max"].case if as_case else who["max"].opportunity
        assert managed(record.id) == record  # type: ignore[arg-type]
    finally:
        crm.close()


@given(
    st.decimals(min_value=0, max_value=Decimal("999999999999999.9999"), places=4, allow_nan=False)
)
def test_an_exact_value_survives_the_converter(value: Decimal) -> None:
    opp = Opportunity(
        id=teamcrm.ids.new_opportunity_id(),
        team_id=teamcrm.ids.new_team_id(),
        title="Deal",
        value=value,
        currency="usd",
        stage="lead",
        owner_id=teamcrm.ids.new_member_id(),
        created_by=teamcrm.ids.new_member_id(),
        created_at=START,
        updated_at=START,
    )
    data = teamcrm.unstructure(opp)
    assert isinstance(data["value"], str)
    back = teamcrm.structure(data, Opportunity)
    assert back == opp
    assert back.value == value
    assert str(back.value) == str(opp.value)
