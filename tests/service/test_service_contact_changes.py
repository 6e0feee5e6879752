"""Company visibility on contact commands, and the changes that cannot lose a concurrent one.

* Every company id that ``create_contact(s)`` / ``update_contact`` /
  ``link_company`` accept must be visible to the member; a hidden one is
  ``NotFound`` exactly like a missing one (same error, same id named, nothing
  written).  What a member reads of a contact (``contact``,
  ``contact_record``, ``bucket_contacts``, search rows, the contact returned
  by a command) never shows a link to a company the member cannot see, and
  ``update_contact(company_ids=...)`` keeps such links.
* ``add_email``/``remove_email``, ``add_phone``/``remove_phone``,
  ``set_custom_field``/``remove_custom_field`` (and ``link_company`` /
  ``unlink_company``) read and write the contact in one unit, validate as
  ``update_contact`` does, record the same event, and are no-ops when there
  is nothing to change.

The tests run on ``memory://`` and on a SQLite file here, and on PostgreSQL
in ``test_postgres_core_services.py``.  The races between processes are in
``test_contact_processes.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import teamcrm
from service_helpers import Team3, last_seq, names
from teamcrm import (
    ConcurrencyError,
    EmailAddress,
    EventName,
    MemberSession,
    NotFound,
    PhoneNumber,
    ValidationError,
)

MISSING_CO = "co_" + "0" * 26


@pytest.fixture(params=["memory", "sqlite"])
def crm(
    request: pytest.FixtureRequest, clock: teamcrm.SettableClock, tmp_path: Path
) -> Iterator[teamcrm.CRM]:
    """A CRM on ``memory://`` or on a SQLite file."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'crm.db'}"
    c = teamcrm.open(url, clock=clock)
    yield c
    c.close()


def not_found(call: Callable[[], Any]) -> NotFound:
    with pytest.raises(NotFound) as exc:
        call()
    return exc.value


def same_error(hidden: NotFound, hidden_id: str, missing: NotFound, missing_id: str) -> None:
    """The two errors are the same but for the id they name."""
    assert (hidden.kind, hidden.key) == ("company", hidden_id)
    assert (missing.kind, missing.key) == ("company", missing_id)
    assert str(hidden).replace(hidden_id, "ID") == str(missing).replace(missing_id, "ID")


def count_contacts(crm: teamcrm.CRM, session: MemberSession) -> int:
    with crm.store.unit_of_work(write=False) as uow:
        return len(uow.contacts.all(session.team_id))


def stored(crm: teamcrm.CRM, session: MemberSession, contact_id: str) -> teamcrm.Contact:
    """The contact as stored (not as a member reads it)."""
    with crm.store.unit_of_work(write=False) as uow:
        return uow.contacts.get(session.team_id, contact_id)  # type: ignore[arg-type]


# ------------------------------------------------------- company visibility
def test_a_company_the_agent_cannot_see_is_not_found_when_creating_a_contact(
    crm: teamcrm.CRM, team: Team3
) -> None:
    ana, _, bob = team
    hidden = ana.create_company("Globex", domain="globex.test")  # in no bucket Bob sees
    seq = last_seq(ana)
    e_hidden = not_found(lambda: bob.create_contact("Bea", company_ids=[hidden.id]))
    e_missing = not_found(lambda: bob.create_contact("Bea", company_ids=[MISSING_CO]))
    same_error(e_hidden, hidden.id, e_missing, MISSING_CO)
    drafts = [{"first_name": "A"}, {"first_name": "B", "company_ids": [hidden.id]}]
    e_bulk = not_found(lambda: bob.create_contacts(drafts))
    assert (e_bulk.kind, e_bulk.key) == ("company", hidden.id)
    assert count_contacts(crm, ana) == 0
    assert names(ana, seq) == []
    # the first failing id is named, whether it is missing or hidden: no order oracle
    e = not_found(lambda: bob.create_contact("B", company_ids=[hidden.id, MISSING_CO]))
    assert e.key == hidden.id
    own = bob.create_company("Own")
    e = not_found(lambda: bob.create_contact("B", company_ids=[own.id, hidden.id]))
    assert e.key == hidden.id
    # managers see every company; the agent may use it once a bucket shows it to them
    assert ana.create_contact("Ana's", company_ids=[hidden.id]).company_ids == (hidden.id,)
    shared = ana.create_bucket("Shared")
    ana.add_to_bucket(shared.id, hidden.id)
    ana.grant_access(shared.id, bob.member_id)
    assert bob.create_contact("Bea", company_ids=[hidden.id, own.id]).company_ids == (
        hidden.id,
        own.id,
    )


def test_a_company_the_agent_cannot_see_is_not_found_when_updating_or_linking(
    crm: teamcrm.CRM, team: Team3
) -> None:
    ana, _, bob = team
    hidden = ana.create_company("Globex")
    c = bob.create_contact("Bea")
    seq = last_seq(ana)
    for call_with in (
        lambda co: bob.update_contact(c.id, company_ids=[co]),
        lambda co: bob.update_contact(c.id, expected_version=1, company_ids=[co]),
        lambda co: bob.link_company(c.id, co),
    ):
        e_hidden = not_found(lambda: call_with(hidden.id))  # noqa: B023 - called at once
        e_missing = not_found(lambda: call_with(MISSING_CO))  # noqa: B023
        same_error(e_hidden, hidden.id, e_missing, MISSING_CO)
    assert stored(crm, ana, c.id) == c
    assert names(ana, seq) == []


def test_links_to_hidden_companies_are_never_shown_and_are_kept(
    crm: teamcrm.CRM, team: Team3
) -> None:
    ana, max_, bob = team
    hidden = ana.create_company("Globex", domain="globex.test")
    shared = ana.create_bucket("Shared")
    c = ana.create_contact("Bea", company_ids=[hidden.id])
    ana.add_to_bucket(shared.id, c.id)
    ana.grant_access(shared.id, bob.member_id, level="editor")

    assert bob.contact(c.id).company_ids == ()
    record = bob.contact_record(c.id)
    assert record.companies == ()
    assert record.contact.company_ids == ()
    assert [x.company_ids for x in bob.bucket_contacts(shared.id)] == [()]
    assert [r.contact.company_ids for r in bob.search(name="Bea").rows] == [()]
    e_hidden = not_found(lambda: bob.search(company_id=hidden.id))  # no existence oracle
    e_missing = not_found(lambda: bob.search(company_id=MISSING_CO))
    same_error(e_hidden, hidden.id, e_missing, MISSING_CO)
    assert max_.contact(c.id).company_ids == (hidden.id,)  # managers see it
    assert max_.contact_record(c.id).companies == (ana.company(hidden.id),)

    # Bob replaces the links he can see; the hidden one stays, still unseen by him
    own = bob.create_company("Own")
    changed = bob.update_contact(c.id, company_ids=[own.id])
    assert changed.company_ids == (own.id,)
    assert bob.contact(c.id) == changed
    assert ana.contact(c.id).company_ids == (own.id, hidden.id)
    assert bob.update_contact(c.id, company_ids=[]).company_ids == ()
    assert ana.contact(c.id).company_ids == (hidden.id,)
    # unlinking a hidden company is a no-op, exactly as for a missing one
    before = stored(crm, ana, c.id)
    assert bob.unlink_company(c.id, hidden.id) == bob.contact(c.id)
    assert bob.unlink_company(c.id, MISSING_CO) == bob.contact(c.id)
    assert stored(crm, ana, c.id) == before
    # commands return the contact as Bob reads it
    assert bob.add_phone(c.id, "555 010 2030").company_ids == ()
    assert bob.mark_phone_validated(c.id, "555 010 2030").company_ids == ()
    # once a bucket shows Globex to Bob, he sees the link and its name
    ana.add_to_bucket(shared.id, hidden.id)
    assert bob.contact(c.id).company_ids == (hidden.id,)
    assert bob.contact_record(c.id).companies == (ana.company(hidden.id),)


# ------------------------------------------------------ emails and phones
def test_add_and_remove_email(team: Team3) -> None:
    ana, _, _ = team
    c = ana.create_contact("Bea", emails=["bea@example.com"])
    seq = last_seq(ana)
    added = ana.add_email(c.id, EmailAddress(address="Bea.Work@Example.COM", label="work"))
    assert [e.address for e in added.emails] == ["bea@example.com", "Bea.Work@example.com"]
    assert added.emails[1].label == "work"
    assert added.version == 2
    assert ana.contact(c.id) == added
    rows = ana.events(seq)
    assert [r.event.name for r in rows] == [EventName.CONTACT_UPDATED]
    assert rows[0].event.data == {"fields": ["emails"]}
    # the same address in another case: a no-op (no new version, no event)
    seq = last_seq(ana)
    assert ana.add_email(c.id, "BEA.work@example.com") == added
    assert ana.remove_email(c.id, "nobody@example.com") == added
    assert names(ana, seq) == []
    removed = ana.remove_email(c.id, "BEA@EXAMPLE.com")
    assert [e.address for e in removed.emails] == ["Bea.Work@example.com"]
    assert removed.version == 3
    assert names(ana, seq) == [EventName.CONTACT_UPDATED]


def test_add_and_remove_phone(team: Team3) -> None:
    ana, _, _ = team
    c = ana.create_contact("Bea", phones=["+1 555 010 2030"])
    seq = last_seq(ana)
    added = ana.add_phone(c.id, PhoneNumber(number="+48 123 456 789", label="mobile"))
    assert [p.number for p in added.phones] == ["+15550102030", "+48123456789"]
    assert added.version == 2
    assert ana.add_phone(c.id, "+48 (123) 456-789") == added  # the same number: no-op
    assert ana.remove_phone(c.id, "+1 555 999 0000") == added  # absent: no-op
    removed = ana.remove_phone(c.id, "+1 (555) 010-2030")
    assert [p.number for p in removed.phones] == ["+48123456789"]
    assert removed.version == 3
    assert [r.event.data for r in ana.events(seq)] == [{"fields": ["phones"]}] * 2


def test_set_and_remove_a_custom_field(team: Team3) -> None:
    ana, _, _ = team
    c = ana.create_contact("Bea", custom_fields={"budget": 100, "vip": True})
    seq = last_seq(ana)
    one = ana.set_custom_field(c.id, "budget", 250)
    assert one.custom_fields == {"budget": 250, "vip": True}
    assert ana.set_custom_field(c.id, "budget", 250) == one  # same value: no-op
    two = ana.set_custom_field(c.id, "budget", 250.0)  # another type is another value
    assert type(two.custom_fields["budget"]) is float
    three = ana.set_custom_field(c.id, "region", "EMEA")
    assert three.custom_fields == {"budget": 250.0, "vip": True, "region": "EMEA"}
    assert ana.remove_custom_field(c.id, "missing") == three  # absent: no-op
    four = ana.remove_custom_field(c.id, "vip")
    assert four.custom_fields == {"budget": 250.0, "region": "EMEA"}
    assert four.version == 5
    assert [r.event.data for r in ana.events(seq)] == [{"fields": ["custom_fields"]}] * 4


# Each operation and the update_contact call it stands for: the same error.
_SAME_VALIDATION: list[tuple[str, Callable[[MemberSession, str], Any], dict[str, Any]]] = [
    ("bad email", lambda s, c: s.add_email(c, "not-an-email"), {"emails": ["not-an-email"]}),
    ("email type", lambda s, c: s.add_email(c, 5), {"emails": [5]}),
    ("bad phone", lambda s, c: s.add_phone(c, "call me"), {"phones": ["call me"]}),
    ("phone type", lambda s, c: s.add_phone(c, None), {"phones": [None]}),
    (
        "field value",
        lambda s, c: s.set_custom_field(c, "x", float("nan")),
        {"custom_fields": {"x": float("nan")}},
    ),
    (
        "field name",
        lambda s, c: s.set_custom_field(c, "", 1),
        {"custom_fields": {"": 1}},
    ),
    (
        "too many fields",
        lambda s, c: s.set_custom_field(c, "f200", 1),
        {"custom_fields": {f"f{i}": 1 for i in range(201)}},
    ),
    (
        "too many emails",
        lambda s, c: s.add_email(c, "x50@example.com"),
        {"emails": [f"x{i}@example.com" for i in range(51)]},
    ),
    (
        "too many phones",
        lambda s, c: s.add_phone(c, "+15550100050"),
        {"phones": [f"+155501000{i:02d}" for i in range(51)]},
    ),
]


@pytest.mark.parametrize(
    ("case", "op", "changes"), _SAME_VALIDATION, ids=[c[0] for c in _SAME_VALIDATION]
)
def test_operations_validate_as_update_contact_does(
    crm: teamcrm.CRM,
    team: Team3,
    case: str,
    op: Callable[[MemberSession, str], Any],
    changes: dict[str, Any],
) -> None:
    ana = team[0]
    full = {  # as many as a contact may hold
        "emails": [f"x{i}@example.com" for i in range(50)],
        "phones": [f"+155501000{i:02d}" for i in range(50)],
        "custom_fields": {f"f{i}": 1 for i in range(200)},
    }
    c = ana.create_contact("Bea", **full)
    seq = last_seq(ana)
    with pytest.raises(ValidationError) as by_op:
        op(ana, c.id)
    with pytest.raises(ValidationError) as by_update:
        ana.update_contact(c.id, **changes)
    assert by_op.value.field == by_update.value.field, (by_op.value, by_update.value)
    assert stored(crm, ana, c.id) == c
    assert names(ana, seq) == []


def test_operation_argument_checks(team: Team3) -> None:
    ana = team[0]
    c = ana.create_contact("Bea")
    for call, field in (
        (lambda: ana.remove_email(c.id, "nope"), "address"),
        (lambda: ana.remove_phone(c.id, "12"), "number"),
        (lambda: ana.remove_custom_field(c.id, 5), "Contact.custom_fields[5]"),
        (lambda: ana.add_email("bk_" + "0" * 26, "a@b.co"), "contact_id"),
        (lambda: ana.set_custom_field("ct_x", "k", 1), "contact_id"),
    ):
        with pytest.raises(ValidationError) as exc:
            call()
        assert exc.value.field == field, exc.value
    with pytest.raises(NotFound):
        ana.add_phone("ct_" + "0" * 26, "555 010 2030")


_OPS: list[tuple[str, Callable[[MemberSession, str], Any]]] = [
    ("add_email", lambda s, c: s.add_email(c, "new@example.com")),
    ("remove_email", lambda s, c: s.remove_email(c, "bea@example.com")),
    ("add_phone", lambda s, c: s.add_phone(c, "555 010 9999")),
    ("remove_phone", lambda s, c: s.remove_phone(c, "555 010 2030")),
    ("set_custom_field", lambda s, c: s.set_custom_field(c, "k", 2)),
    ("remove_custom_field", lambda s, c: s.remove_custom_field(c, "k")),
]


@pytest.mark.parametrize(("op_name", "op"), _OPS, ids=[o[0] for o in _OPS])
def test_operations_need_what_editing_the_contact_needs(
    crm: teamcrm.CRM, team: Team3, op_name: str, op: Callable[[MemberSession, str], Any]
) -> None:
    ana, max_, bob = team
    c = ana.create_contact(
        "Bea", emails=["bea@example.com"], phones=["555 010 2030"], custom_fields={"k": 1}
    )
    seq = last_seq(ana)
    e = not_found(lambda: op(bob, c.id))  # Bob cannot see it: as if it did not exist
    assert (e.kind, e.key) == ("contact", c.id)
    assert stored(crm, ana, c.id) == c
    assert names(ana, seq) == []
    shared = ana.create_bucket("Shared")
    ana.add_to_bucket(shared.id, c.id)
    ana.grant_access(shared.id, bob.member_id)  # a viewer may update_contact, so may op
    assert op(bob, c.id).version == 2
    assert op(max_, c.id).version == 2  # done already: a no-op
    ana.deactivate_member(bob.member_id)
    with pytest.raises(teamcrm.PermissionDenied):
        op(bob, c.id)


def test_operations_keep_what_changed_since_the_callers_read(team: Team3) -> None:
    ana, max_, _ = team
    c = ana.create_contact("Bea", phones=["555 010 2030"])
    seen = ana.contact(c.id)
    max_.update_contact(c.id, status="active", emails=["bea@example.com"])
    after = ana.add_phone(seen.id, "555 010 9999")
    assert after.status == "active"
    assert [e.address for e in after.emails] == ["bea@example.com"]
    assert [p.number for p in after.phones] == ["+15550102030", "+15550109999"]
    after = ana.set_custom_field(seen.id, "k", 1)
    assert (after.status, len(after.phones), after.version) == ("active", 2, 4)


def test_update_contact_with_expected_version_is_refused_on_every_store(team: Team3) -> None:
    ana, max_, _ = team
    c = ana.create_contact("Bea")
    max_.add_phone(c.id, "555 010 2030")
    seq = last_seq(ana)
    with pytest.raises(ConcurrencyError) as exc:
        ana.update_contact(c.id, expected_version=c.version, phones=["555 010 9999"])
    assert (exc.value.key, exc.value.expected_version) == (c.id, 1)
    assert [p.number for p in ana.contact(c.id).phones] == ["+15550102030"]
    assert names(ana, seq) == []
    assert ana.update_contact(c.id, expected_version=2, source="web").version == 3
