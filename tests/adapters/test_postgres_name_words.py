"""PostgreSQL name and company search read a B-tree of name words (issue 17, ``0480``).

* On a team of 40,000 contacts and 40,000 companies, the plan of a name
  search (one word, several words; an admin and an agent) reads the word
  index (``contact_name_words_pkey``, ``company_name_words_pkey``): no
  trigram index, no bitmap scan, no sequential scan; the agent's visibility
  is checked per row (a memberships lookup by item).
* The work does not grow with the team: the shared buffers a name search
  touches are the same at 2,000 and 40,000 names.
* The word tables always equal a fresh fill from the name rows, after
  inserts, renames and deletes through the API.
* A schema made before ``0480`` gets its word tables filled when it opens.
"""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg
import pytest

import teamcrm
from pg_support import require_server, schemas
from teamcrm.adapters.postgres.connection import PGConnection
from teamcrm.adapters.postgres.name_words import BACKFILL
from teamcrm.search import ContactQuery, matches

require_server()

SIZE = 40_000


def _fill(crm: teamcrm.CRM, url: str, size: int) -> tuple[teamcrm.MemberSession, str]:
    """Ana's team: a few rows through the API, *size* more of each kind by raw inserts.

    Bob, an agent, sees all of them through a bucket shared with the team.

    The raw inserts write ``contact_names`` and ``company_names`` as the
    library does (folded words between spaces); the word tables follow by
    their triggers.
    """
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = ana.add_member("Bob", role="agent")
    bucket = ana.create_bucket("All")
    ana.share_with_team(bucket.id)
    ana.create_company("Kowalski Logistics")
    ana.create_company("Łódź Kowalewski")
    ana.create_contact(first_name="Zoë", last_name="Kowalska")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO contacts (id, team_id, first_name, last_name, status, source,"
            " custom_fields, created_by, created_at, version)"
            " SELECT 'ct_' || lpad(to_hex(i), 26, '0'), %s, 'Person' || i,"
            " CASE WHEN i %% 1000 = 7 THEN 'Kowalska' ELSE 'Smith' END, 'evaluate', '',"
            " '{}', %s, i, 1 FROM generate_series(1, %s) i",
            (ana.team_id, admin.id, size),
        )
        conn.execute(
            "INSERT INTO contact_names (contact_id, team_id, words)"
            " SELECT id, team_id, ' ' || lower(first_name) || ' ' || lower(last_name) || ' '"
            " FROM contacts WHERE first_name LIKE 'Person%%'"
        )
        conn.execute(
            "INSERT INTO companies (id, team_id, name, domain, created_by, created_at, version)"
            " SELECT 'co_' || lpad(to_hex(i), 26, '0'), %s, 'Company' || i || ' Holdings',"
            " 'c' || i || '.example.com', %s, i, 1 FROM generate_series(1, %s) i",
            (ana.team_id, admin.id, size),
        )
        conn.execute(
            "INSERT INTO company_names (company_id, team_id, words)"
            " SELECT id, team_id, ' ' || lower(name) || ' ' FROM companies"
            " WHERE name LIKE 'Company%%'"
        )
        conn.execute(  # Bob sees every contact and company through the shared bucket
            "INSERT INTO memberships (team_id, bucket_id, item_id, added_at)"
            " SELECT team_id, %s, id, 0 FROM contacts UNION ALL"
            " SELECT team_id, %s, id, 0 FROM companies",
            (bucket.id, bucket.id),
        )
        for table in ("contacts", "contact_names", "contact_name_words"):
            conn.execute(f"ANALYZE {table}")
        for table in ("companies", "company_names", "company_name_words", "memberships"):
            conn.execute(f"ANALYZE {table}")
    return ana, bob.id


#: Finds a name search's statement, through the word index or (before 0480) not.
_NAME_STATEMENT = r"_names\b|_name_words"


def _statement(run: Any, marker: str) -> tuple[str, Any, int]:
    """The search statement *run* sends (the one *marker*, a pattern, finds), and how many."""
    recorded: list[tuple[str, Any]] = []
    original = PGConnection.run

    def record(self: PGConnection, sql: str, params: Any = None) -> psycopg.Cursor[Any]:
        if re.search(marker, sql) and "LIMIT" in sql:
            recorded.append((sql, params))
        return original(self, sql, params)

    PGConnection.run = record  # type: ignore[method-assign]
    try:
        found = run()
    finally:
        PGConnection.run = original  # type: ignore[method-assign]
    (sql, params), *_ = recorded
    return sql, params, found


def _explain(crm: teamcrm.CRM, sql: str, params: Any, options: str = "") -> list[str]:
    with crm.store.unit_of_work(write=False) as uow:
        raw = uow.context.conn.raw  # type: ignore[attr-defined]
        return [r[0] for r in raw.execute(f"EXPLAIN {options} {sql}", params)]


def _contacts(session: teamcrm.MemberSession, name: str) -> Any:
    return lambda: len(session.search(name=name, limit=100).rows)


def _companies(session: teamcrm.MemberSession, name: str) -> Any:
    return lambda: len(session.search_companies(name, limit=50).rows)


#: (what is searched, words table, query, how many an admin finds)
_CASES = (
    (_contacts, "contact_name_words", "kowal", 41),
    (_contacts, "contact_name_words", "person1234", 11),
    (_contacts, "contact_name_words", "person3999 smi", 1),
    (_contacts, "contact_name_words", "zoe kowalska", 1),
    (_companies, "company_name_words", "kowal", 2),
    (_companies, "company_name_words", "company1234", 11),
    (_companies, "company_name_words", "company3999 hold", 1),
    (_companies, "company_name_words", "lodz", 1),
)


#: A sequential scan of a table that holds the team's contacts, companies or names.
_SCANNED = re.compile(
    r"Seq Scan on (contact|company|companies|memberships)(s|_names|_name_words)?\b"
)


def test_postgres_name_search_reads_the_name_word_index() -> None:
    with schemas() as made:
        url = made.fresh()
        with teamcrm.open(url) as crm:
            ana, bob_id = _fill(crm, url, SIZE)
            bob = crm.as_member(bob_id)  # type: ignore[arg-type]
            for session, agent in ((ana, False), (bob, True)):
                for search, table, name, count in _CASES:
                    sql, params, found = _statement(search(session, name), _NAME_STATEMENT)
                    plan = "\n".join(_explain(crm, sql, params))
                    assert f"{table}_pkey" in plan, plan
                    assert "trgm" not in plan, plan
                    assert "trigram" not in plan, plan
                    assert "Bitmap" not in plan, plan
                    # (the page's emails, phones... are empty tables here: scanned as such)
                    assert not _SCANNED.search(plan), plan
                    if agent:  # visibility per row: a memberships lookup by item
                        assert "memberships_by_item" in plan, plan
                    assert found == count, (name, agent)


def _buffers(crm: teamcrm.CRM, search: Any) -> int:
    """The shared buffers (hit and read) the statement of *search* touches."""
    sql, params, _ = _statement(search, _NAME_STATEMENT)
    with crm.store.unit_of_work(write=False) as uow:
        raw = uow.context.conn.raw  # type: ignore[attr-defined]
        # The second run, on the same connection: a backend's first use of a
        # table reads the catalogs, and those pages count in the plan's buffers.
        for _ in range(2):
            plan = [r[0] for r in raw.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)]
    top = next(line for line in plan if "Buffers:" in line)
    return sum(int(n) for n in re.findall(r"(?:hit|read)=(\d+)", top))


def test_postgres_name_search_work_does_not_grow_with_the_team() -> None:
    """The buffers of a name search at 2,000 and at 40,000 names differ by a few pages.

    (Each query finds one row at both sizes; a B-tree one level deeper costs a
    page per descent.)
    """
    touched: list[list[int]] = []
    for size in (2_000, SIZE):
        with schemas() as made:
            url = made.fresh()
            with teamcrm.open(url) as crm:
                ana, _ = _fill(crm, url, size)
                touched.append(
                    [
                        _buffers(crm, _contacts(ana, "zoe")),
                        _buffers(crm, _contacts(ana, "zoe kow")),
                        _buffers(crm, _companies(ana, "lodz")),
                        _buffers(crm, _companies(ana, "kowalski logi")),
                    ]
                )
    small, large = touched
    for a, b in zip(small, large, strict=True):
        assert b <= a + 4, touched


def _word_rows(conn: psycopg.Connection[Any], table: str) -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3").fetchall()


def _fresh_fill(conn: psycopg.Connection[Any], table: str) -> list[tuple[Any, ...]]:
    """What the migration's backfill makes of the name rows, in a rolled-back transaction."""
    with conn.transaction(force_rollback=True):
        conn.execute(f"DELETE FROM {table}")
        conn.execute(BACKFILL[table])
        return _word_rows(conn, table)


_NAMES = (
    ("Mary-Ann", "O'Brien"),
    ("Ανδρέας", "Γιώργος"),
    ("Андрей", "Алёна"),
    ("Ann", "Ann"),
    ("", "Straße"),
)


def test_triggers_keep_the_word_tables_equal_to_a_fresh_fill() -> None:
    with schemas() as made:
        url = made.fresh()
        with teamcrm.open(url) as crm:
            _, admin = crm.create_team("Acme", admin_name="Ana")
            ana = crm.as_member(admin.id)
            people = [ana.create_contact(first_name=f, last_name=la) for f, la in _NAMES]
            firms = [ana.create_company(f"{f} {la}".strip()) for f, la in _NAMES]
            ana.update_contact(people[0].id, first_name="Anne-Marie")
            ana.update_contact(people[3].id, last_name="Annika")
            ana.update_contact(people[1].id, status="active")  # no name change
            ana.update_company(firms[0].id, name="Globex Ann")
            ana.delete_contact(people[2].id)
            ana.delete_company(firms[4].id)
            with psycopg.connect(url) as conn:
                for table in ("contact_name_words", "company_name_words"):
                    rows = _word_rows(conn, table)
                    assert rows, table
                    assert rows == _fresh_fill(conn, table), table
                words = {r[1] for r in _word_rows(conn, "contact_name_words")}
                assert {"anne", "marie", "annika", "ανδρεας", "strasse"} <= words
                assert not {"mary", "андреи"} & words
            stored = [ana.contact(p.id) for p in people if p != people[2]]
            for text in ("ann", "anne m", "o brien", "ανδ", "strasse", "annika"):
                want = [c.id for c in stored if matches(c, ContactQuery(name=text))]
                got = [r.contact_id for r in ana.search(name=text).rows]
                assert got == want, text


def test_0480_fills_the_word_tables_from_the_names_already_stored() -> None:
    """A schema made before 0480 (no word tables) is brought up to date on open."""
    with schemas() as made:
        url = made.fresh()
        with teamcrm.open(url) as crm:
            _, admin = crm.create_team("Acme", admin_name="Ana")
            ana = crm.as_member(admin.id)
            for f, la in _NAMES:
                ana.create_contact(first_name=f, last_name=la)
                ana.create_company(f"{f} {la}".strip())
        with psycopg.connect(url, autocommit=True) as conn:  # as if made before 0480
            for table in ("contact_name_words", "company_name_words"):
                conn.execute(f"DROP TABLE {table}")
                conn.execute(f"DROP FUNCTION teamcrm_{table}, teamcrm_{table}_added CASCADE")
            conn.execute("DELETE FROM teamcrm_migrations WHERE name = '0480_postgres_name_words'")
        with teamcrm.open(url) as crm:
            ana = crm.as_member(admin.id)
            assert len(ana.search(name="ann").rows) == 2
            assert len(ana.search(name="андрей ал").rows) == 1
            assert len(ana.search_companies("strasse").rows) == 1
        with psycopg.connect(url) as conn:
            for table in ("contact_name_words", "company_name_words"):
                assert _word_rows(conn, table) == _fresh_fill(conn, table)
            triggers = conn.execute(
                "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND t.tgname LIKE %s",
                ("%name_words%",),
            ).fetchone()
            assert triggers == (6,)


@pytest.mark.parametrize("words", ["  ", " ann ann "])
def test_empty_and_repeated_words(words: str) -> None:
    """An empty name holds no word; a repeated word is held once."""
    with schemas() as made:
        url = made.fresh()
        with teamcrm.open(url) as crm:
            _, admin = crm.create_team("Acme", admin_name="Ana")
            contact = crm.as_member(admin.id).create_contact(first_name="X")
        with psycopg.connect(url) as conn:
            conn.execute(
                "UPDATE contact_names SET words = %s WHERE contact_id = %s", (words, contact.id)
            )
            held = [r[1] for r in _word_rows(conn, "contact_name_words")]
            assert held == sorted(set(words.split())), json.dumps(held)
