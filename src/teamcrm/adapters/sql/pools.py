"""Lead pools and their round-robin cursors (shared by both SQL stores)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import dumps, from_micros, loads, to_micros
from teamcrm.adapters.sql.dialect import insert_ignoring
from teamcrm.adapters.sql.row_memo import row_memo
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.followup import Cadence, CadenceUnit
from teamcrm.ids import BucketId, TeamId
from teamcrm.lead import (
    RoleSlot,
    RoutingCursor,
)
from teamcrm.pool import Capacity, LeadPool, PoolId, parse_method
from teamcrm.validation import FrozenDict, trusted, trusted_builder

#: A stored cursor's entity (its row matched the ids asked for: no checks again).
_cursor = trusted_builder(RoutingCursor)

__all__ = ["SQLiteLeadPools", "SQLiteRoutingCursors"]


_US = timedelta(microseconds=1)


# ---------------------------------------------------------------------- pools
_POOL_SELECT = (
    "SELECT id, team_id, name, created_at, source_bucket_ids, member_ids, method, active,"
    " offer_window_us, follow_up_count, follow_up_unit, fallback_member_id, created_by,"
    " version, weights, capacity, member_capacity, response_window_us, dedupe FROM lead_pools"
)


def _caps(data: Any) -> Capacity | None:
    if data is None:
        return None
    return trusted(Capacity, per_day=data["per_day"], per_30_days=data["per_30_days"])


def _cap_data(cap: Capacity | None) -> dict[str, int | None] | None:
    return None if cap is None else {"per_day": cap.per_day, "per_30_days": cap.per_30_days}


@row_memo
def _pool(row: Sequence[Any]) -> LeadPool:
    (pid, tid, name, created, sources, members, method, active, window, count, unit) = row[:11]
    fallback, by, version, weights, capacity, member_capacity, respond_us, dedupe = row[11:]
    # rows this module wrote from checked pools: rebuilt without checking again
    return trusted(
        LeadPool,
        id=pid,
        team_id=tid,
        name=name,
        created_at=from_micros(created),
        source_bucket_ids=tuple(loads(sources)),
        member_ids=tuple(loads(members)),
        method=parse_method("lead_pools.method", method),
        active=bool(active),
        offer_window=timedelta(microseconds=window),
        follow_up=None if count is None else Cadence(count=count, unit=CadenceUnit(unit)),
        fallback_member_id=fallback,
        created_by=by,
        weights=FrozenDict(loads(weights)),
        capacity=None if capacity is None else _caps(loads(capacity)),
        member_capacity=FrozenDict({k: _caps(v) for k, v in loads(member_capacity).items()}),
        response_window=None if respond_us is None else timedelta(microseconds=respond_us),
        dedupe=bool(dedupe),
        version=version,
    )


def _pool_values(p: LeadPool) -> dict[str, Any]:
    """The pool's columns but id, team and version, in ``SQLiteLeadPools.add``'s order."""
    return {
        "name": p.name,
        "created_at": to_micros(p.created_at),
        "source_bucket_ids": dumps(p.source_bucket_ids),
        "member_ids": dumps(p.member_ids),
        "method": p.method_name,
        "active": int(p.active),
        "offer_window_us": p.offer_window // _US,
        "follow_up_count": None if p.follow_up is None else p.follow_up.count,
        "follow_up_unit": None if p.follow_up is None else p.follow_up.unit.value,
        "fallback_member_id": p.fallback_member_id,
        "created_by": p.created_by,
        "weights": dumps(dict(p.weights)),
        "capacity": None if p.capacity is None else dumps(_cap_data(p.capacity)),
        "member_capacity": dumps({k: _cap_data(v) for k, v in p.member_capacity.items()}),
        "response_window_us": None if p.response_window is None else p.response_window // _US,
        "dedupe": int(p.dedupe),
    }


class SQLiteLeadPools(SQLRepository):
    """Lead pools; sources and members as JSON arrays (pools are few per team)."""

    kind = "lead pool"
    table = "lead_pools"

    @translated
    def get(self, team_id: TeamId, pool_id: PoolId) -> LeadPool:
        """Return the pool or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_POOL_SELECT} WHERE id = ? AND team_id = ?", (pool_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, pool_id)
        return _pool(row)

    @translated
    def add(self, pool: LeadPool) -> None:
        """Insert a new pool."""
        self._insert(
            pool.id,
            "INSERT INTO lead_pools (id, team_id, name, created_at, source_bucket_ids,"
            " member_ids, method, active, offer_window_us, follow_up_count, follow_up_unit,"
            " fallback_member_id, created_by, weights, capacity, member_capacity,"
            " response_window_us, dedupe, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (pool.id, pool.team_id, *_pool_values(pool).values(), pool.version),
        )

    @translated
    def update(self, pool: LeadPool) -> None:
        """Replace the stored pool whose version is ``pool.version - 1``."""
        self._update_versioned(pool.id, pool.team_id, pool.version, _pool_values(pool))

    @translated
    def delete(self, team_id: TeamId, pool_id: PoolId, version: int) -> None:
        """Delete the pool and its cursor if its stored version is *version*."""
        self._delete_versioned(team_id, pool_id, version)
        self._conn.execute(
            "DELETE FROM routing_cursors WHERE team_id = ? AND pool_id = ?", (team_id, pool_id)
        )

    @translated
    def all(self, team_id: TeamId) -> list[LeadPool]:
        """Return every pool of the team, ordered by ``created_at`` then id."""
        rows = self._conn.execute(
            f"{_POOL_SELECT} WHERE team_id = ? ORDER BY created_at, id", (team_id,)
        ).fetchall()
        return [_pool(r) for r in rows]

    def for_buckets(self, team_id: TeamId, bucket_ids: Iterable[BucketId]) -> list[LeadPool]:
        """Return the pools with any of *bucket_ids* as a source."""
        wanted = set(bucket_ids)
        return [p for p in self.all(team_id) if wanted.intersection(p.source_bucket_ids)]

    @translated
    def role_slots(self, team_id: TeamId) -> list[RoleSlot]:
        """Return the team's role slots by name."""
        rows = self._conn.execute(
            "SELECT name, created_at, created_by FROM role_slots WHERE team_id = ? ORDER BY name",
            (team_id,),
        ).fetchall()
        return [
            RoleSlot(team_id=team_id, name=n, created_at=from_micros(at), created_by=by)
            for n, at, by in rows
        ]

    @translated
    def add_role_slot(self, slot: RoleSlot) -> None:
        """Insert a role slot (``AlreadyExists`` if the name is taken)."""
        cur = self._conn.execute(
            insert_ignoring(self._dialect, "role_slots", "team_id, name, created_at, created_by"),
            (slot.team_id, slot.name, to_micros(slot.created_at), slot.created_by),
        )
        if cur.rowcount != 1:
            raise AlreadyExists("role slot", slot.name)

    @translated
    def delete_role_slot(self, team_id: TeamId, name: str) -> None:
        """Delete a role slot (``NotFound`` if none)."""
        cur = self._conn.execute(
            "DELETE FROM role_slots WHERE team_id = ? AND name = ?", (team_id, name)
        )
        if cur.rowcount != 1:
            raise NotFound("role slot", name)


# -------------------------------------------------------------------- cursors
class SQLiteRoutingCursors(SQLRepository):
    """Round-robin cursors, written with a version check."""

    kind = "routing cursor"
    table = "routing_cursors"

    @translated
    def get(self, team_id: TeamId, pool_id: PoolId) -> RoutingCursor:
        """Return the stored cursor, or a version-0 cursor at position 0."""
        row = self._conn.execute(
            "SELECT position, version FROM routing_cursors WHERE team_id = ? AND pool_id = ?",
            (team_id, pool_id),
        ).fetchone()
        if row is None:
            return RoutingCursor(team_id=team_id, pool_id=pool_id)
        return _cursor(team_id=team_id, pool_id=pool_id, position=row[0], version=row[1])

    @translated
    def put(self, cursor: RoutingCursor) -> None:
        """Store *cursor* if the stored version is ``cursor.version - 1``."""
        if cursor.version == 1:
            cur = self._conn.execute(
                insert_ignoring(
                    self._dialect,
                    "routing_cursors",
                    "team_id, pool_id, position, version",
                    "?, ?, ?, 1",
                ),
                (cursor.team_id, cursor.pool_id, cursor.position),
            )
        else:
            cur = self._conn.execute(
                "UPDATE routing_cursors SET position = ?, version = ?"
                " WHERE team_id = ? AND pool_id = ? AND version = ?",
                (
                    cursor.position,
                    cursor.version,
                    cursor.team_id,
                    cursor.pool_id,
                    cursor.version - 1,
                ),
            )
        if cur.rowcount != 1:
            raise ConcurrencyError(self.kind, cursor.pool_id, cursor.version - 1)
