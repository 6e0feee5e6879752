"""Search: the query value, folding, matching, paging and visibility on memory and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import teamcrm
from teamcrm.adapters.sqlite.codec import EPOCH
from teamcrm.search import (
    ContactQuery,
    DateRange,
    decode_cursor,
    encode_cursor,
    fold,
    name_matches,
    tokens,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory://", "sqlite://"])
def store_crm(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[teamcrm.CRM, teamcrm.SettableClock]]:
    clock = teamcrm.SettableClock(START)
    crm = teamcrm.open(request.param, clock=clock)
    yield crm, clock
    crm.close()


# ------------------------------------------------------------------ pure parts
def test_fold_removes_case_accents_and_extra_letters() -> None:
    assert fold("  Zoë  KOWALSKA ") == "zoe kowalska"
    assert fold("Łukasz Straße") == "lukasz strasse"
    assert fold("Øyvind Ærø") == "oyvind aero"
    assert tokens("Mary-Ann O'Brien") == ("mary", "ann", "o", "brien")


@pytest.mark.parametrize(
    ("query", "first", "last", "expected"),
    [
        ("zoe", "Zoë", "Kowalska", True),
        ("KOW", "Zoë", "Kowalska", True),
        ("zoe kow", "Zoë", "Kowalska", True),
        ("zo ko", "Zoë", "Kowalska", False),  # only the last word is a prefix
        ("kow zoe", "Zoë", "Kowalska", False),
        ("ann", "Mary-Ann", "Lee", True),
        ("lukasz", "Łukasz", "Nowak", True),
        ("alska", "Zoë", "Kowalska", False),  # a prefix, not a substring
    ],
)
def test_name_matches_word_prefixes(query: str, first: str, last: str, expected: bool) -> None:
    assert name_matches(tokens(query), first, last) is expected


def test_query_normalises_and_rejects_with_field_names() -> None:
    q = ContactQuery(phone="+1 (555) 010-2030", email="Bea@Example.COM")
    assert q.phone == "+15550102030"
    assert q.email_key == "bea@example.com"
    cases = [
        ({"phone": "call me"}, "ContactQuery.phone"),
        ({"email": "nope"}, "ContactQuery.email"),
        ({"bucket_id": "xx"}, "ContactQuery.bucket_id"),
        ({"name": "--"}, "ContactQuery.name"),
        ({"custom_value": 3}, "ContactQuery.custom_value"),
        ({"custom_field": "tier", "custom_value": [1]}, "ContactQuery.custom_field['tier']"),
        ({"created": "2026"}, "ContactQuery.created"),
    ]
    for kwargs, field in cases:
        with pytest.raises(teamcrm.ValidationError) as info:
            ContactQuery(**kwargs)
        assert info.value.field == field


def test_date_range_is_half_open() -> None:
    r = DateRange(start=START, end=START + timedelta(days=1))
    assert START in r
    assert START + timedelta(days=1) not in r
    with pytest.raises(teamcrm.ValidationError):
        DateRange(start=START, end=START)


@given(st.datetimes(timezones=st.just(UTC)), st.integers(0, 2**100))
def test_cursor_round_trips(at: datetime, n: int) -> None:
    cid = f"ct_{n:026x}"
    assert decode_cursor(encode_cursor(at, cid)) == (at, cid)


@pytest.mark.parametrize("bad", ["", "!!!", "Zm9v", "x" * 500])
def test_bad_cursor_is_a_validation_error(bad: str) -> None:
    with pytest.raises(teamcrm.ValidationError) as info:
        decode_cursor(bad)
    assert info.value.field == "after"


# ------------------------------------------------------------------ use cases
def _team(crm: teamcrm.CRM) -> tuple[teamcrm.MemberSession, teamcrm.MemberSession]:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob", role="agent").id)
    return ana, bob


def test_every_criterion_combines_with_and(
    store_crm: tuple[teamcrm.CRM, teamcrm.SettableClock],
) -> None:
    crm, clock = store_crm
    ana, _ = _team(crm)
    acme = ana.create_company("Acme Inc")
    zoe = ana.create_contact(
        "Zoë",
        "Kowalska",
        emails=["Zoe.K@Example.pl"],
        phones=["+1 (555) 010-2030"],
        company_ids=[acme.id],
        source="referral",
        custom_fields={"tier": "gold", "score": 3, "vip": True},
    )
    clock.advance(timedelta(days=1))
    other = ana.create_contact("Zoran", "Kowal", source="website", status="active")
    bucket = ana.create_bucket("Past Clients")
    ana.add_to_bucket(bucket.id, zoe.id)
    clock.advance(timedelta(days=1))
    ana.log_interaction("call", contact_ids=[zoe.id], outcome="connected", occurred_at=crm.now())

    def ids(**criteria: object) -> list[str]:
        return [r.contact_id for r in ana.search(**criteria)]

    assert ids(name="zo") == [zoe.id, other.id]
    assert ids(name="ZOE") == [zoe.id]
    assert ids(name="zoe kow") == [zoe.id]
    assert ids(email="zoe.k@EXAMPLE.pl") == [zoe.id]
    assert ids(phone="+15550102030") == [zoe.id]
    assert ids(phone="555 0102030") == [zoe.id]  # any spelling (issue 16)
    assert ids(company_id=acme.id) == [zoe.id]
    assert ids(status="active") == [other.id]
    assert ids(source="referral", name="zo") == [zoe.id]
    assert ids(source="website", name="zoe") == []
    assert ids(bucket_id=bucket.id) == [zoe.id]
    assert ids(custom_field="tier", custom_value="gold") == [zoe.id]
    assert ids(custom_field="score", custom_value=3.0) == [zoe.id]
    assert ids(custom_field="score", custom_value="3") == []
    assert ids(custom_field="vip", custom_value=True) == [zoe.id]
    assert ids(custom_field="vip", custom_value=1) == []
    assert ids(custom_field="tier") == [zoe.id]
    day = START + timedelta(days=2)
    assert ids(last_contacted=DateRange(start=day)) == [zoe.id]
    assert ids(last_contacted=DateRange(end=day)) == []
    assert ids(created=DateRange(start=START + timedelta(hours=1))) == [other.id]
    assert ids(created=DateRange(end=START + timedelta(hours=1)), name="zo") == [zoe.id]
    row = ana.search(name="zoe")[0]
    assert row.last_contacted_at == day
    assert row.contact == ana.contact(zoe.id)  # the call validated the phone: version 2
    assert row.contact.phones[0].validated
    assert row.phone == "+15550102030"


def test_references_must_exist(store_crm: tuple[teamcrm.CRM, teamcrm.SettableClock]) -> None:
    crm, _ = store_crm
    ana, bob = _team(crm)
    hidden = bob.create_bucket("Mine", personal=True)
    with pytest.raises(teamcrm.NotFound):
        ana.search(bucket_id=hidden.id)  # someone's personal bucket: not even for an admin
    with pytest.raises(teamcrm.NotFound):
        ana.search(company_id="co_" + "0" * 26)
    with pytest.raises(teamcrm.ValidationError):
        ana.search(status="nonsense")
    with pytest.raises(teamcrm.ValidationError):
        ana.search(colour="red")
    with pytest.raises(teamcrm.ValidationError):
        ana.search(ContactQuery(), name="x")
    with pytest.raises(teamcrm.ValidationError):
        ana.search(limit=0)


def test_agents_see_only_what_the_permission_rules_allow(
    store_crm: tuple[teamcrm.CRM, teamcrm.SettableClock],
) -> None:
    crm, _ = store_crm
    ana, bob = _team(crm)
    shared = ana.create_bucket("Shared")
    secret = ana.create_bucket("Secret")
    ana.grant_access(shared.id, bob.member_id, level="viewer")
    in_shared = ana.create_contact("Sam", "Shared")
    in_secret = ana.create_contact("Sid", "Secret")
    loose = ana.create_contact("Lou", "Loose")
    ana.add_to_bucket(shared.id, in_shared.id)
    ana.add_to_bucket(secret.id, in_secret.id)
    own = bob.create_contact("Bea", "Own")
    mine = bob.create_bucket("Bob's", personal=True)
    bob.copy_to_personal_bucket(in_shared.id, mine.id)
    assert {r.contact_id for r in bob.search()} == {in_shared.id, own.id}
    assert {r.contact_id for r in ana.search()} == {in_shared.id, in_secret.id, loose.id, own.id}
    assert [r.contact_id for r in bob.search(bucket_id=mine.id)] == [in_shared.id]
    with pytest.raises(teamcrm.NotFound):
        bob.search(bucket_id=secret.id)


def test_pages_follow_a_stable_order_without_gaps(
    store_crm: tuple[teamcrm.CRM, teamcrm.SettableClock],
) -> None:
    crm, clock = store_crm
    ana, _ = _team(crm)
    made = ana.create_contacts([{"first_name": f"P{i:02d}"} for i in range(7)])
    clock.advance(timedelta(seconds=1))
    made += ana.create_contacts([{"first_name": f"Q{i:02d}"} for i in range(4)])
    expected = sorted(made, key=lambda c: (c.created_at, c.id))
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = ana.search(limit=3, after=after)
        seen.extend(r.contact_id for r in page)
        pages += 1
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == [c.id for c in expected]
    assert pages == 4


NAMES = st.sampled_from(
    ["Zoë", "Zoe", "Łukasz", "Anna", "Anne-Marie", "O'Brien", "Ærøe", "Strauß", "José", "Ann"]
)


@given(
    people=st.lists(st.tuples(NAMES, NAMES, st.sampled_from(["evaluate", "active"])), max_size=8),
    prefix=st.sampled_from(
        ["zo", "zoe", "an", "ann", "anne m", "luk", "o bri", "aer", "strauss", "jose"]
    ),
    status=st.sampled_from([None, "evaluate", "active"]),
)
def test_sqlite_finds_exactly_what_memory_finds(
    people: list[tuple[str, str, str]], prefix: str, status: str | None
) -> None:
    results = []
    for url in ("memory://", "sqlite://"):
        crm = teamcrm.open(url, clock=teamcrm.SettableClock(START))
        _, admin = crm.create_team("Acme", admin_name="Ana")
        ana = crm.as_member(admin.id)
        made = ana.create_contacts(
            [{"first_name": f, "last_name": la, "status": s} for f, la, s in people]
        )
        order = {c.id: i for i, c in enumerate(made)}
        found = [order[r.contact_id] for r in ana.search(name=prefix, status=status, limit=100)]
        results.append(sorted(found))
        expected = sorted(
            i
            for i, (f, la, s) in enumerate(people)
            if name_matches(tokens(prefix), f, la) and (status is None or s == status)
        )
        assert results[-1] == expected
        crm.close()
    assert results[0] == results[1]


def test_sqlite_name_index_follows_renames_and_deletes() -> None:
    crm = teamcrm.open("sqlite://", clock=teamcrm.SettableClock(START))
    ana, _ = _team(crm)
    c = ana.create_contact("Zoë", "Kowalska")
    assert [r.contact_id for r in ana.search(name="kowal")] == [c.id]
    ana.update_contact(c.id, last_name="Nowak")
    assert list(ana.search(name="kowal")) == []
    assert [r.contact_id for r in ana.search(name="zoe now")] == [c.id]
    ana.delete_contact(c.id)
    assert list(ana.search(name="zoe")) == []
    crm.close()


def test_sqlite_search_uses_indexes_not_a_scan_of_contacts() -> None:
    crm = teamcrm.open("sqlite://")
    ana, _ = _team(crm)
    ana.create_contact("Zoë", "Kowalska", phones=["+1 555 010 2030"])
    store = crm.store
    plans = {}
    with store.unit_of_work(write=False) as uow:
        conn = uow.context.conn  # type: ignore[attr-defined]
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        ana_team = ana.team_id
        uow.views.search(
            ana_team, ContactQuery(phone="+15550102030"), scope=None, after=None, limit=5
        )
        uow.views.search(ana_team, ContactQuery(name="zoe"), scope=None, after=None, limit=5)
        uow.views.search(ana_team, ContactQuery(), scope=None, after=None, limit=5)
        conn.set_trace_callback(None)
        searches = [s for s in seen if "ORDER BY c.created_at, c.id" in s]
        ours = [s for s in seen if not s.startswith("-- ")]  # not FTS5's inner statements
        assert len(ours) == len(searches) == 3  # one statement per search
        for sql in searches:
            detail = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
            plans[sql] = detail
    assert len(plans) == 3
    for detail in plans.values():
        steps = detail.split(" | ")
        # contacts are reached by an index or by rowid, never by a full scan
        assert not any(step == "SCAN c" or step.startswith("SCAN c ") for step in steps), detail
    crm.close()


def test_sqlite_last_contacted_after_a_search_reads_nothing_unless_something_was_written() -> None:
    clock = teamcrm.SettableClock(START)
    crm = teamcrm.open("sqlite://", clock=clock)
    ana, _ = _team(crm)
    zoe = ana.create_contact("Zoë", "Kowalska")
    clock.advance(timedelta(seconds=1))
    bea = ana.create_contact("Bea", "Jones")
    ana.log_interaction("call", contact_ids=[zoe.id], occurred_at=START - timedelta(hours=1))
    with crm.store.unit_of_work() as uow:
        conn = uow.context.conn  # type: ignore[attr-defined]
        team_id = ana.team_id
        found = uow.views.search(team_id, ContactQuery(), scope=None, after=None, limit=5)
        assert [c.id for c in found] == [zoe.id, bea.id]
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        touched = uow.views.last_contacted(team_id, [zoe.id, bea.id])
        assert touched == {zoe.id: START - timedelta(hours=1)}
        assert seen == []  # answered from the search's own row
        # a write in the same unit: the kept touches are not trusted any more
        later = START + timedelta(hours=2)
        conn.execute(
            "INSERT INTO touches_team (team_id, contact_id, member_id, at, kind, team_wide)"
            " VALUES (?, ?, ?, ?, 'call', 1)",
            (team_id, bea.id, ana.member_id, (later - EPOCH) // timedelta(microseconds=1)),
        )
        touched = uow.views.last_contacted(team_id, [zoe.id, bea.id])
        assert touched == {zoe.id: START - timedelta(hours=1), bea.id: later}
        assert seen  # read again
        # contacts the search did not return are read too
        seen.clear()
        uow.views.search(team_id, ContactQuery(name="zoe"), scope=None, after=None, limit=5)
        assert uow.views.last_contacted(team_id, [bea.id]) == {bea.id: later}
        assert len([s for s in seen if not s.startswith("-- ")]) == 2
        conn.set_trace_callback(None)
        uow.rollback()
    crm.close()
