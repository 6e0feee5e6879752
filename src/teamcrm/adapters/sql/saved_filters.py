"""Saved filters (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import dumps, from_micros, loads, to_micros
from teamcrm.converter import converter
from teamcrm.errors import NotFound
from teamcrm.ids import MemberId, TeamId
from teamcrm.search import ContactQuery, SavedFilter, SavedFilterId

__all__ = ["SQLiteSavedFilters"]


# ------------------------------------------------------------ saved filters
_FILTER_SELECT = (
    "SELECT id, team_id, owner_id, name, shared, query, created_at, version FROM saved_filters"
)


def _saved(row: Sequence[Any]) -> SavedFilter:
    fid, tid, owner, name, shared, query, created, version = row
    return SavedFilter(
        id=fid,
        team_id=tid,
        owner_id=owner,
        name=name,
        shared=bool(shared),
        query=converter.structure(loads(query), ContactQuery),
        created_at=from_micros(created),
        version=version,
    )


class SQLiteSavedFilters(SQLRepository):
    """Saved filters; the query is stored as JSON made by ``teamcrm.converter``."""

    kind = "saved filter"
    table = "saved_filters"

    @translated
    def get(self, team_id: TeamId, filter_id: SavedFilterId) -> SavedFilter:
        """Return the saved filter or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_FILTER_SELECT} WHERE id = ? AND team_id = ?", (filter_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, filter_id)
        return _saved(row)

    @translated
    def add(self, saved: SavedFilter) -> None:
        """Insert a new saved filter."""
        f = saved
        self._insert(
            f.id,
            "INSERT INTO saved_filters (id, team_id, owner_id, name, shared, query, created_at,"
            " version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                f.id,
                f.team_id,
                f.owner_id,
                f.name,
                int(f.shared),
                dumps(converter.unstructure(f.query, ContactQuery)),
                to_micros(f.created_at),
                f.version,
            ),
        )

    @translated
    def update(self, saved: SavedFilter) -> None:
        """Replace the stored filter whose version is ``saved.version - 1``."""
        f = saved
        self._update_versioned(
            f.id,
            f.team_id,
            f.version,
            {
                "owner_id": f.owner_id,
                "name": f.name,
                "shared": int(f.shared),
                "query": dumps(converter.unstructure(f.query, ContactQuery)),
                "created_at": to_micros(f.created_at),
            },
        )

    @translated
    def delete(self, team_id: TeamId, filter_id: SavedFilterId, version: int) -> None:
        """Delete the filter if its stored version is *version*."""
        self._delete_versioned(team_id, filter_id, version)

    @translated
    def for_member(self, team_id: TeamId, member_id: MemberId) -> list[SavedFilter]:
        """The member's own filters and the team's shared ones, by name then id."""
        rows = self._conn.execute(
            f"{_FILTER_SELECT} WHERE team_id = ? AND (owner_id = ? OR shared = 1)",
            (team_id, member_id),
        )
        saved = [_saved(r) for r in rows]
        return sorted(saved, key=lambda f: (f.name.casefold(), f.id))
