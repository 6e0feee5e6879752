"""Company search by name prefix, domain and visibility (shared by both SQL stores).

Each store's views say how a name prefix finds companies (the driving source
of :meth:`CompanySearch._company_name_source` and the parameters of its name
criterion) and how a domain is compared (:meth:`CompanySearch._domain_filter`):
SQLite through its name-word index (:class:`teamcrm.adapters.sqlite.names.NameSearch`),
PostgreSQL through ``company_names`` (:class:`teamcrm.adapters.postgres.views.PGViews`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import dumps, from_micros, to_micros
from teamcrm.contact import Company
from teamcrm.ids import CompanyId, TeamId
from teamcrm.search import CompanyQuery, SearchScope

__all__ = ["CompanySearch"]

_COMPANY_COLUMNS = "c.id, c.team_id, c.name, c.domain, c.created_by, c.created_at, c.version"


class CompanySearch(SQLRepository):
    """``search_companies`` in SQL, less the store's name index and domain comparison."""

    def _name_criterion(self, prefix: Sequence[str]) -> tuple[str, str, str]:
        """A name-prefix criterion: (filter on ``c``, driving source, the ``:fts`` value)."""
        raise NotImplementedError

    def _name_params(self, prefix: Sequence[str]) -> dict[str, str]:
        """Extra parameters of the name criterion's driving source."""
        raise NotImplementedError

    def _company_name_source(self, prefix: Sequence[str]) -> str:
        """The driving source of a company name criterion (companies joined as ``c``)."""
        raise NotImplementedError

    def _domain_filter(self) -> str:
        """The domain criterion on ``c`` (``:domain`` is ASCII-lower-cased)."""
        raise NotImplementedError

    @translated
    def search_companies(
        self,
        team_id: TeamId,
        query: CompanyQuery,
        *,
        scope: SearchScope | None,
        after: tuple[datetime, CompanyId] | None,
        limit: int,
    ) -> list[Company]:
        """Return up to *limit* matching companies by (``created_at``, id); see the port."""
        d = self._dialect
        where = ["c.team_id = :team"]
        params: dict[str, Any] = {"team": team_id, "limit": limit}
        by = "companies_by_team_domain" if query.domain_key else "companies_by_team_created_id"
        source = f"companies c{d.index_hint(by)}"
        prefix = query.name_prefix
        if prefix is not None:
            params["fts"] = self._name_criterion(prefix)[2]
            params.update(self._name_params(prefix))
            source = self._company_name_source(prefix)
        if query.domain_key is not None:
            params["domain"] = query.domain_key
            where.append(self._domain_filter())
        if scope is not None:
            params["me"] = scope.member_id
            params["visible"] = dumps(sorted(scope.bucket_ids))
            where.append(
                "(c.created_by = :me OR EXISTS (SELECT 1 FROM memberships m"
                f"{d.index_hint('memberships_by_item')} WHERE m.team_id = :team"
                f" AND m.item_id = c.id AND {d.ids_in('m.bucket_id', ':visible')}{d.per_row}))"
            )
        if after is not None:
            params["after_at"] = to_micros(after[0])
            params["after_id"] = after[1]
            where.append(
                "(c.created_at > :after_at OR (c.created_at = :after_at AND c.id > :after_id))"
            )
        rows = self._conn.execute(
            f"SELECT {_COMPANY_COLUMNS} FROM {source} WHERE {' AND '.join(where)}"
            " ORDER BY c.created_at, c.id LIMIT :limit",
            params,
        ).fetchall()
        return [
            Company(
                id=r[0],
                team_id=r[1],
                name=r[2],
                domain=r[3],
                created_by=r[4],
                created_at=from_micros(r[5]),
                version=r[6],
            )
            for r in rows
        ]
