"""Phone numbers keyed by E.164 on every store, and migration ``0300_phone_keys``.

Issue 16: ``"(617) 555-0101"`` was stored as ``6175550101`` and
``"+1 617 555 0101"`` as ``+16175550101``, so dedupe before routing missed
the match and ``search(phone="617-555-0101")`` found nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

import teamcrm
from pg_support import schemas
from teamcrm import PhoneNumber, ValidationError
from teamcrm.cli import main
from teamcrm.phones import UnparsedPhone, _nanp_key

STORES = ["memory", "sqlite", "postgres"]


@pytest.fixture(params=STORES)
def crm(
    request: pytest.FixtureRequest, clock: teamcrm.SettableClock, tmp_path: Path
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL on a schema of the test server)."""
    if request.param == "postgres":
        with schemas() as made:
            c = teamcrm.open(made.new(), clock=clock)
            yield c
            c.close()
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'crm.db'}"
    c = teamcrm.open(url, clock=clock)
    yield c
    c.close()


def _team(crm: teamcrm.CRM) -> teamcrm.MemberSession:
    _, admin = crm.create_team("Parkside", admin_name="Ana")
    return crm.as_member(admin.id)


def test_every_spelling_stores_one_key_and_search_finds_it(crm: teamcrm.CRM) -> None:
    ana = _team(crm)
    a = ana.create_contact("Ann", phones=["(617) 555-0101"])
    b = ana.create_contact("Bo", phones=["+1 617 555 0101"])
    c = ana.create_contact("Cy", phones=["617 555 0101 ext. 12"])
    assert [p.number for p in ana.contact(a.id).phones] == ["+16175550101"]
    assert [p.number for p in ana.contact(b.id).phones] == ["+16175550101"]
    assert [p.number for p in ana.contact(c.id).phones] == ["+16175550101;ext=12"]
    # the number as typed is kept for display, on every store
    assert [p.display for p in ana.contact(a.id).phones] == ["(617) 555-0101"]
    assert [p.display for p in ana.contact(c.id).phones] == ["617 555 0101 ext. 12"]
    for spelling in ("617-555-0101", "(617) 555 0101", "+16175550101", "+1.617.555.0101"):
        found = [r.contact_id for r in ana.search(phone=spelling).rows]
        assert found == [a.id, b.id], spelling
    assert [r.contact_id for r in ana.search(phone="617-555-0101 x12").rows] == [c.id]


def test_the_same_number_twice_on_a_contact_is_refused(crm: teamcrm.CRM) -> None:
    ana = _team(crm)
    with pytest.raises(ValidationError) as exc:
        ana.create_contact("Ann", phones=["(617) 555-0101", "+1 617 555 0101"])
    assert exc.value.field == "Contact.phones"
    c = ana.create_contact("Ann", phones=["(617) 555-0101"])
    assert ana.add_phone(c.id, "+1 617-555-0101").version == c.version  # no-op
    assert ana.remove_phone(c.id, "617.555.0101").phones == ()


@pytest.mark.parametrize(
    ("number", "reason"),
    [("555 0101", "area code"), ("+999 1234 5678", "country code"), ("call me", "may only")],
)
def test_invalid_numbers_are_refused_with_the_reason(
    crm: teamcrm.CRM, number: str, reason: str
) -> None:
    ana = _team(crm)
    with pytest.raises(ValidationError, match=reason) as exc:
        ana.create_contact("Ann", phones=[number])
    assert exc.value.field == "PhoneNumber.number"
    c = ana.create_contact("Ann")
    with pytest.raises(ValidationError, match=reason):
        ana.add_phone(c.id, number)


def test_the_team_region_reads_national_numbers(crm: teamcrm.CRM) -> None:
    ana = _team(crm)
    assert ana.team().settings.phone_region == "US"
    ana.change_settings(phone_region="pl")
    assert ana.team().settings.phone_region == "PL"
    c = ana.create_contact("Zofia", phones=["600 000 003", PhoneNumber(number="+1 617 555 0101")])
    assert [p.number for p in c.phones] == ["+48600000003", "+16175550101"]
    c = ana.add_phone(c.id, "12 345 67 89")
    assert c.phones[-1].number == "+48123456789"
    assert [r.contact_id for r in ana.search(phone="600-000-003").rows] == [c.id]
    ana.update_contact(c.id, phones=["601 000 000"])
    assert [p.number for p in ana.contact(c.id).phones] == ["+48601000000"]
    ana.change_settings(phone_region=None)
    with pytest.raises(ValidationError, match="no country code"):
        ana.add_phone(c.id, "600 000 004")
    with pytest.raises(ValidationError) as exc:
        ana.change_settings(phone_region="Poland")
    assert exc.value.field == "TeamSettings.phone_region"


def test_dedupe_before_routing_matches_any_spelling(crm: teamcrm.CRM) -> None:
    """Issue 16: four contacts gave three leads because two spellings of one number differed."""
    ana = _team(crm)
    web = ana.create_bucket("Web leads")
    bob = ana.add_member("Bob", role="agent")
    pool = ana.create_pool("Web", source_bucket_ids=[web.id], member_ids=[bob.id], method="manual")
    a = ana.create_contact("Ann", phones=["(617) 555-0101"])
    b = ana.create_contact("Ann", "Again", phones=["+1 617 555 0101"])
    ana.add_to_bucket(web.id, [a.id, b.id])
    assert [ld.contact_id for ld in ana.leads(pool_id=pool.id)] == [a.id]


def test_a_connected_call_via_any_spelling_validates_the_number(crm: teamcrm.CRM) -> None:
    ana = _team(crm)
    c = ana.create_contact("Ann", phones=["+1 617 555 0101", "+1 617 555 0102"])
    ana.log_interaction("call", contact_ids=[c.id], outcome="connected", via="(617) 555-0102")
    assert [p.validated for p in ana.contact(c.id).phones] == [False, True]


# ------------------------------------------------------------------ migration
#: Rows as the release before 0300_phone_keys wrote them: digits only, with a
#: "+" only when typed; two spellings of one number on one contact; one
#: number that cannot be parsed.
OLD_PHONES = [
    ("6175550101", 0),
    ("+16175550101", 1),  # the same number: merged into the first row, validated
    ("+15550100", 0),  # too short: kept as stored, reported
    ("+48123456789", 0),  # already a key
]


#: Undo ``0300_phone_keys`` on a database made by this release.
DOWNGRADE = (
    "ALTER TABLE teams DROP COLUMN phone_region",
    "ALTER TABLE contact_phones DROP COLUMN display",
    "DELETE FROM teamcrm_migrations WHERE name IN ('0009_phone_columns', '0300_phone_keys')",
)


def _old_rows(run: Any, team_id: str, contact_id: str, lead_id: str) -> None:
    """Downgrade to the release before 0300_phone_keys and write its kind of rows."""
    for statement in DOWNGRADE:
        run(statement, ())
    run("DELETE FROM contact_phones", ())
    for position, (number, validated) in enumerate(OLD_PHONES):
        run(
            "INSERT INTO contact_phones (contact_id, position, team_id, number, validated, label)"
            " VALUES (?, ?, ?, ?, ?, NULL)",
            (contact_id, position, team_id, number, validated),
        )
    keys = ["email:ann@x.com", "phone:6175550101", "phone:+15550100"]
    run("UPDATE leads SET keys = ? WHERE id = ?", (json.dumps(keys), lead_id))
    run("DELETE FROM lead_keys WHERE lead_id = ?", (lead_id,))
    for key in keys:
        run(
            "INSERT INTO lead_keys (team_id, pool_key, key, lead_id)"
            " SELECT team_id, pool_key, ?, id FROM leads WHERE id = ?",
            (key, lead_id),
        )


def _check_migrated(crm: teamcrm.CRM, team_id: str, contact_id: str, lead_id: str) -> None:
    with crm.store.unit_of_work(write=False) as uow:
        contact = uow.contacts.get(team_id, contact_id)  # type: ignore[arg-type]
        lead = uow.leads.get(team_id, lead_id)  # type: ignore[arg-type]
    assert [(p.number, p.validated, p.display) for p in contact.phones] == [
        ("+16175550101", True, "6175550101"),
        ("+15550100", False, None),
        ("+48123456789", False, None),
    ]
    assert lead.keys == ("email:ann@x.com", "phone:+16175550101", "phone:+15550100")
    admin = next(m for m in crm_members(crm, team_id) if m.role.value == "admin")
    ana = crm.as_member(admin.id)
    assert ana.unparsed_phones() == [
        UnparsedPhone(contact_id=contact_id, number="+15550100", reason="needs its area code")
    ]
    # the open lead's keys match a new contact typed in another spelling
    web = next(b for b in ana.buckets() if b.name == "Web")
    twin = ana.create_contact("Ann", "Twin", phones=["(617) 555-0101"])
    ana.add_to_bucket(web.id, [twin.id])
    assert [ld.contact_id for ld in ana.leads()] == [contact_id]


def crm_members(crm: teamcrm.CRM, team_id: str) -> list[teamcrm.Member]:
    with crm.store.unit_of_work(write=False) as uow:
        return uow.members.all(team_id)  # type: ignore[arg-type]


def _before(crm: teamcrm.CRM) -> tuple[str, str, str]:
    """A team with a contact that is an open lead of pool 'Web'."""
    ana = _team(crm)
    web = ana.create_bucket("Web")
    bob = ana.add_member("Bob", role="agent")
    ana.create_pool("Web", source_bucket_ids=[web.id], member_ids=[bob.id], method="manual")
    c = ana.create_contact("Ann", emails=["ann@x.com"])
    ana.add_to_bucket(web.id, [c.id])
    (lead,) = ana.leads()
    return ana.team_id, c.id, lead.id


def _old_sqlite(tmp_path: Path, clock: teamcrm.SettableClock) -> Path:
    db = tmp_path / "old.db"
    crm = teamcrm.open(f"sqlite:///{db}", clock=clock)
    _IDS[db] = _before(crm)
    crm.close()
    conn = sqlite3.connect(db)
    _old_rows(conn.execute, *_IDS[db])
    (count,) = conn.execute("SELECT count(*) FROM teamcrm_migrations").fetchone()
    conn.execute(f"PRAGMA user_version = {count}")
    conn.commit()
    conn.close()
    return db


_IDS: dict[Path, tuple[str, str, str]] = {}


def test_sqlite_migration_rekeys_stored_numbers_and_lead_keys(
    tmp_path: Path, clock: teamcrm.SettableClock
) -> None:
    db = _old_sqlite(tmp_path, clock)

    crm = teamcrm.open(f"sqlite:///{db}", clock=clock)
    try:
        _check_migrated(crm, *_IDS[db])
    finally:
        crm.close()


def test_postgres_migration_rekeys_stored_numbers_and_lead_keys(
    clock: teamcrm.SettableClock,
) -> None:
    import psycopg

    with schemas() as made:
        url = made.fresh()
        old = teamcrm.open(url, clock=clock)
        team_id, contact_id, lead_id = _before(old)
        old.close()
        with psycopg.connect(url, autocommit=True) as conn:

            def run(sql: str, params: Any) -> None:
                conn.execute(sql.replace("?", "%s"), params)

            run("DELETE FROM contact_phones", ())
            _old_rows(run, team_id, contact_id, lead_id)
        crm = teamcrm.open(url, clock=clock)
        try:
            _check_migrated(crm, team_id, contact_id, lead_id)
        finally:
            crm.close()


def test_cli_lists_unparsed_numbers(
    tmp_path: Path, clock: teamcrm.SettableClock, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _old_sqlite(tmp_path, clock)
    assert main(["phones", "--db", str(db), "--as", "Ana", "--format", "json"]) == 0
    contact_id = _IDS[db][1]
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {"contact_id": contact_id, "number": "+15550100", "reason": "needs its area code"}
    ]
    assert main(["phones", "--db", str(db), "--as", "Ana", "--plain"]) == 0
    assert "1 phone number(s) could not be parsed" in capsys.readouterr().out


@given(
    st.booleans(),
    st.text("0123456789", min_size=8, max_size=13),
    st.sampled_from(["", " ", "-", ".", "/"]),
    st.sampled_from(["US", "CA", "PL", None]),
    st.booleans(),
)
def test_the_north_american_fast_path_agrees_with_phonenumbers(
    plus: bool, digits: str, sep: str, region: str | None, paren: bool
) -> None:
    """Bulk imports skip parsing plain NANP numbers: the key must be what phonenumbers gives."""
    d = digits
    body = f"({d[:3]}) {d[3:]}" if paren else sep.join([d[:3], d[3:6], d[6:]])
    text = ("+" if plus else "") + body
    fast = _nanp_key(text, region)
    if fast is None:
        return
    parsed = phonenumbers.parse(text, None if plus else region)
    assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == fast
    assert phonenumbers.is_possible_number(parsed)
