"""Companies (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import (
    from_micros,
    to_micros,
)
from teamcrm.contact import Company
from teamcrm.errors import NotFound
from teamcrm.ids import CompanyId, TeamId
from teamcrm.validation import trusted

__all__ = ["SQLiteCompanies"]


# ----------------------------------------------------------------- companies
_COMPANY_SELECT = "SELECT id, team_id, name, domain, created_by, created_at, version FROM companies"


def _company(row: Sequence[Any]) -> Company:
    coid, tid, name, domain, by, created, version = row
    return trusted(
        Company,
        id=coid,
        team_id=tid,
        name=name,
        domain=domain,
        created_by=by,
        created_at=from_micros(created),
        version=version,
    )


class SQLiteCompanies(SQLRepository):
    """Companies of a team."""

    kind = "company"
    table = "companies"

    @translated
    def get(self, team_id: TeamId, company_id: CompanyId) -> Company:
        """Return the company or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_COMPANY_SELECT} WHERE id = ? AND team_id = ?", (company_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, company_id)
        return _company(row)

    @translated
    def add(self, company: Company) -> None:
        """Insert a new company."""
        c = company
        self._insert(
            c.id,
            "INSERT INTO companies (id, team_id, name, domain, created_by, created_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (c.id, c.team_id, c.name, c.domain, c.created_by, to_micros(c.created_at), c.version),
        )

    @translated
    def update(self, company: Company) -> None:
        """Replace the stored company whose version is ``company.version - 1``."""
        c = company
        self._update_versioned(
            c.id,
            c.team_id,
            c.version,
            {
                "name": c.name,
                "domain": c.domain,
                "created_by": c.created_by,
                "created_at": to_micros(c.created_at),
            },
        )

    @translated
    def delete(self, team_id: TeamId, company_id: CompanyId, version: int) -> None:
        """Delete the company if its stored version is *version*."""
        self._delete_versioned(team_id, company_id, version)

    def lock(
        self, team_id: TeamId, company_ids: Iterable[CompanyId], *, exclusive: bool = False
    ) -> None:
        """Nothing to do: a writing unit holds the database's write lock (``BEGIN IMMEDIATE``)."""

    @translated
    def all(self, team_id: TeamId) -> list[Company]:
        """Return every company of the team, oldest first."""
        rows = self._conn.execute(
            f"{_COMPANY_SELECT} WHERE team_id = ? ORDER BY created_at, rowid", (team_id,)
        )
        return [_company(r) for r in rows]
