"""PostgreSQL company search through indexes (issue 17, migration ``0470_company_search``).

Before ``0470`` a company name query read every company of the team and
checked each name in Python, and a domain query compared every domain.
``0470_company_search`` gives companies what contacts have:

* ``company_names (company_id, team_id, words)``: the company's name as
  :func:`~teamcrm.adapters.postgres.views.name_words` folds it (in Python,
  the folding every store uses), written by :class:`PGCompanies` in the
  statement that inserts the company (and again when it is updated),
  emptied with its company by ``ON DELETE CASCADE``;
* ``company_names_trigrams``, a ``pg_trgm`` GIN index on ``words``, so a
  name query (``words LIKE '% globex co%'``,
  :func:`~teamcrm.adapters.postgres.views.name_like`) reads the trigrams of
  the query.  Without pg_trgm the migration says so as ``0431`` does (a
  warning, a comment on ``company_names``) and search stays correct;
* ``companies_by_team_domain`` on ``(team_id, translate(domain, ...))``, the
  ASCII lower-casing the domain criterion compares
  (:func:`~teamcrm.adapters.postgres.views.domain_key`).

The migration fills ``company_names`` from the companies already stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from teamcrm.adapters.postgres.filters import trigram_index
from teamcrm.adapters.postgres.migrations import register_postgres_migration
from teamcrm.adapters.postgres.repositories import PGCompanies as _LockingCompanies
from teamcrm.adapters.postgres.repositories import pg
from teamcrm.adapters.postgres.views import domain_key, name_words
from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import to_micros
from teamcrm.contact import Company

__all__ = ["COMPANY_TRIGRAMS_MISSING", "PGCompanies", "write_company_names"]

COMPANY_NAMES_TABLE = """CREATE TABLE company_names (
    company_id TEXT COLLATE "C" PRIMARY KEY REFERENCES companies (id) ON DELETE CASCADE,
    team_id TEXT COLLATE "C" NOT NULL,
    words TEXT COLLATE "C" NOT NULL
)"""

#: The comment ``0470_company_search`` leaves on ``company_names`` when pg_trgm is missing.
COMPANY_TRIGRAMS_MISSING = (
    "company name search without a trigram index: pg_trgm could not be created"
)

#: Companies read and written per statement while ``0470`` fills ``company_names``.
_BACKFILL_BATCH = 10_000

_INSERT_NAMES = (
    "INSERT INTO company_names (company_id, team_id, words)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[])"
)


def _fill_names(conn: psycopg.Connection[Any]) -> None:
    """Write the ``company_names`` row of every stored company, a batch at a time."""
    with conn.cursor(name="teamcrm_0470_companies") as read:
        read.execute("SELECT id, team_id, name FROM companies")
        while batch := read.fetchmany(_BACKFILL_BATCH):
            conn.execute(
                _INSERT_NAMES,
                (
                    [r[0] for r in batch],
                    [r[1] for r in batch],
                    [name_words(r[2], "") for r in batch],
                ),
            )


def _company_search(conn: psycopg.Connection[Any]) -> None:
    conn.execute(COMPANY_NAMES_TABLE)
    conn.execute("CREATE INDEX company_names_by_team ON company_names (team_id)")
    conn.execute(
        f"CREATE INDEX companies_by_team_domain ON companies (team_id, {domain_key('domain')})"
    )
    _fill_names(conn)
    trigram_index(conn, "company_names", "company_names_trigrams", COMPANY_TRIGRAMS_MISSING)
    conn.execute("ANALYZE companies")
    conn.execute("ANALYZE company_names")


register_postgres_migration("0470_company_search", apply=_company_search)


def write_company_names(repository: SQLRepository, companies: Sequence[Company]) -> None:
    """Insert or replace the ``company_names`` rows of *companies*."""
    if not companies:
        return
    pg(repository).run(
        _INSERT_NAMES + " ON CONFLICT (company_id) DO UPDATE"
        " SET team_id = excluded.team_id, words = excluded.words",
        (
            [c.id for c in companies],
            [c.team_id for c in companies],
            [name_words(c.name, "") for c in companies],
        ),
    )


class PGCompanies(_LockingCompanies):
    """Companies, keeping ``company_names`` in step (see the module); ``lock`` locks rows."""

    @translated
    def add(self, company: Company) -> None:
        """Insert a new company and its ``company_names`` row, in one statement."""
        c = company
        self._insert(
            c.id,
            "WITH c AS (INSERT INTO companies"
            " (id, team_id, name, domain, created_by, created_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id, team_id)"
            " INSERT INTO company_names (company_id, team_id, words)"
            " SELECT id, team_id, ? FROM c",
            (
                c.id,
                c.team_id,
                c.name,
                c.domain,
                c.created_by,
                to_micros(c.created_at),
                c.version,
                name_words(c.name, ""),
            ),
        )

    @translated
    def update(self, company: Company) -> None:
        """Replace the stored company whose version is ``company.version - 1``."""
        super().update(company)
        write_company_names(self, [company])
