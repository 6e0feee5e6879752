"""PostgreSQL company search reads indexes (issue 17, migration ``0470_company_search``).

On a team of 40,000 companies the plan of a domain search reads
``companies_by_team_domain``, never a scan of the team's companies (name
search reads the name-word B-tree of ``0480_postgres_name_words``:
``tests/adapters/test_postgres_name_words.py``).  A store
made before ``0470`` gets ``company_names`` filled from its companies when
it opens, and finds exactly what :func:`teamcrm.search.company_matches`
accepts.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import teamcrm
from pg_support import require_server, schemas
from teamcrm.adapters.postgres import company_names, filters
from teamcrm.adapters.postgres.connection import PGConnection
from teamcrm.contact import Company
from teamcrm.search import CompanyQuery, company_matches

require_server()

SIZE = 40_000


def _fill(crm: teamcrm.CRM, url: str) -> teamcrm.MemberSession:
    """Ana's team: three companies through the API, then SIZE more by raw inserts."""
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    ana.create_company("Kowalski Logistics", domain="Kowalski.PL")
    ana.create_company("Kowalska Farms", domain="farms.example")
    ana.create_company("Łódź Kowalewski", domain="lodz.example")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO companies (id, team_id, name, domain, created_by, created_at, version)"
            " SELECT 'co_' || lpad(to_hex(i), 26, '0'), %s, 'Company' || i || ' Holdings',"
            " 'c' || i || '.example.com', %s, i, 1 FROM generate_series(1, %s) i",
            (ana.team_id, admin.id, SIZE),
        )
        conn.execute(
            "INSERT INTO company_names (company_id, team_id, words)"
            " SELECT id, team_id, ' ' || lower(name) || ' ' FROM companies"
            " WHERE name LIKE 'Company%%'"
        )
        conn.execute("ANALYZE companies")
        conn.execute("ANALYZE company_names")
    return ana


def _plan(
    crm: teamcrm.CRM, ana: teamcrm.MemberSession, marker: str, **criteria: Any
) -> tuple[str, int]:
    """The EXPLAIN of the statement a company search runs, and how many it found."""
    recorded: list[tuple[str, Any]] = []
    original = PGConnection.run

    def record(self: PGConnection, sql: str, params: Any = None) -> psycopg.Cursor[Any]:
        if marker in sql and "LIMIT" in sql:
            recorded.append((sql, params))
        return original(self, sql, params)

    PGConnection.run = record  # type: ignore[method-assign]
    try:
        found = len(ana.search_companies(criteria.pop("name", None), **criteria, limit=50))
    finally:
        PGConnection.run = original  # type: ignore[method-assign]
    (sql, params), *_ = recorded
    with crm.store.unit_of_work(write=False) as uow:
        raw = uow.context.conn.raw  # type: ignore[attr-defined]
        return "\n".join(r[0] for r in raw.execute("EXPLAIN " + sql, params)), found


def test_postgres_company_search_reads_the_domain_index() -> None:
    """(The plan of a name search: ``tests/adapters/test_postgres_name_words.py``.)"""
    with schemas() as made:
        url = made.fresh()
        with teamcrm.open(url) as crm:
            ana = _fill(crm, url)
            with crm.store.unit_of_work(write=False) as uow:
                raw = uow.context.conn.raw  # type: ignore[attr-defined]
                assert not filters.trigram_index_missing(
                    raw, "company_names", company_names.COMPANY_TRIGRAMS_MISSING
                )
            for name, count in (
                ("kowal", 3),
                ("company1234", 11),
                ("company3999 hold", 1),
                ("lodz", 1),
            ):
                assert len(ana.search_companies(name, limit=50)) == count, name
            for domain, count in (("KOWALSKI.pl", 1), ("c777.example.com", 1), ("x.org", 0)):
                plan, found = _plan(crm, ana, "translate(", domain=domain)
                assert "companies_by_team_domain" in plan, plan
                assert "Seq Scan" not in plan, plan
                assert found == count, domain


_NAMES = (
    "Globex Corporation",
    "Ανδρέου Ναυτιλιακή",
    "Андрей и сыновья",
    "Straße & Söhne",
    "O'Brien-Smith Ltd",
    "Zoë Kowalska",
    "globex",
)


def test_0470_fills_company_names_from_the_companies_already_stored() -> None:
    """A schema made before 0470 (no company_names) is brought up to date on open.

    (Before 0470 means before ``0480_postgres_name_words`` too: the company word
    table goes as well, and is filled again from the new ``company_names``.)
    """
    with schemas() as made:
        url = made.fresh()
        with teamcrm.open(url) as crm:
            _, admin = crm.create_team("Acme", admin_name="Ana")
            ana = crm.as_member(admin.id)
            made_companies = [
                ana.create_company(name, domain=f"d{i}.Example.com")
                for i, name in enumerate(_NAMES)
            ]
        with psycopg.connect(url, autocommit=True) as conn:  # as if made before 0470
            conn.execute("DROP TABLE company_names")
            conn.execute("DROP INDEX companies_by_team_domain")
            conn.execute("DROP TABLE company_name_words")
            conn.execute("DROP TABLE contact_name_words")
            conn.execute(
                "DROP FUNCTION teamcrm_company_name_words, teamcrm_company_name_words_added,"
                " teamcrm_contact_name_words, teamcrm_contact_name_words_added CASCADE"
            )
            conn.execute(
                "DELETE FROM teamcrm_migrations"
                " WHERE name IN ('0470_company_search', '0480_postgres_name_words')"
            )
        with teamcrm.open(url) as crm:
            ana = crm.as_member(admin.id)
            stored: list[Company] = made_companies
            for text in ("glob", "globex co", "ανδρ", "андрей и", "strasse", "o brien", "zoe"):
                want = [c.id for c in stored if company_matches(c, CompanyQuery(name=text))]
                got = [r.company_id for r in ana.search_companies(text)]
                assert got, text
                assert got == want, text
            assert [r.company_id for r in ana.search_companies(domain="D3.example.COM")] == [
                made_companies[3].id
            ]


def test_without_pg_trgm_company_search_says_so_and_still_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with schemas() as made:
        url = made.fresh()
        with teamcrm.open(url) as crm:
            _, admin = crm.create_team("Acme", admin_name="Ana")
            ana = crm.as_member(admin.id)
            kept = ana.create_company("Kowalski Logistics")
            ana.create_company("Globex")
        with psycopg.connect(url, autocommit=False) as conn:
            conn.execute("DROP INDEX company_names_trigrams")
            monkeypatch.setattr(filters, "EXTENSION", "teamcrm_no_such_extension")
            made_index = filters.trigram_index(
                conn,
                "company_names",
                "company_names_trigrams",
                company_names.COMPANY_TRIGRAMS_MISSING,
            )
            conn.commit()
            assert not made_index
            assert filters.trigram_index_missing(
                conn, "company_names", company_names.COMPANY_TRIGRAMS_MISSING
            )
        with teamcrm.open(url) as crm:
            ana = crm.as_member(admin.id)
            assert [r.company_id for r in ana.search_companies("kowal")] == [kept.id]
