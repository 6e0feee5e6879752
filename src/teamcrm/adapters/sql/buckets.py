"""Buckets and their memberships (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import (
    dumps,
    from_micros,
    ids_json,
    loads,
    to_micros,
)
from teamcrm.adapters.sql.dialect import Dialect
from teamcrm.adapters.sql.row_memo import row_memo
from teamcrm.bucket import (
    AccessGrant,
    AccessLevel,
    Bucket,
    BucketKind,
    BucketMembership,
    TeamAccess,
)
from teamcrm.errors import NotFound
from teamcrm.ids import BucketId, TeamId
from teamcrm.validation import trusted

__all__ = [
    "SQLiteBuckets",
    "SQLiteMemberships",
    "bucket_columns",
    "bucket_from_row",
    "bucket_select",
]

_EMPTY = "[]"


# ------------------------------------------------------------------- buckets
@cache
def bucket_columns(d: Dialect) -> str:
    """The columns of a bucket's row with its grants (on ``buckets b``), in dialect *d*."""
    grants = d.json_array_agg(
        d.json_array("g.member_id", "g.level", "g.can_view_conversations"), "g.member_id"
    )
    return f"""b.id, b.team_id, b.name, b.kind, b.owner_id, b.created_by, b.created_at, b.version,
       (SELECT {grants}
          FROM bucket_grants g WHERE g.bucket_id = b.id),
       b.team_level, b.team_conversations, b.holds_all"""


@cache
def bucket_select(d: Dialect) -> str:
    """``SELECT`` :func:`bucket_columns` ``FROM buckets b``."""
    return f"\nSELECT {bucket_columns(d)}\nFROM buckets b"


@row_memo
def bucket_from_row(row: Sequence[Any]) -> Bucket:
    bid, tid, name, kind, owner, by, created, version, grants, team_level, team_conv, all_ = row
    return trusted(
        Bucket,
        id=bid,
        team_id=tid,
        name=name,
        kind=BucketKind(kind),
        owner_id=owner,
        created_by=by,
        created_at=from_micros(created),
        version=version,
        team_access=None
        if team_level is None
        else trusted(
            TeamAccess, level=AccessLevel(team_level), can_view_conversations=bool(team_conv)
        ),
        holds_all=bool(all_),
        grants=()
        if grants == _EMPTY
        else tuple(
            trusted(
                AccessGrant,
                member_id=m,
                level=AccessLevel(lv),
                can_view_conversations=bool(v),
            )
            for m, lv, v in loads(grants)
        ),
    )


def _team_access_columns(b: Bucket) -> dict[str, Any]:
    """The ``team_level``, ``team_conversations`` and ``holds_all`` columns of *b*."""
    access = b.team_access
    return {
        "team_level": None if access is None else access.level.value,
        "team_conversations": int(access is not None and access.can_view_conversations),
        "holds_all": int(b.holds_all),
    }


class SQLiteBuckets(SQLRepository):
    """Buckets, with their access grants in ``bucket_grants``."""

    kind = "bucket"
    table = "buckets"

    @translated
    def get(self, team_id: TeamId, bucket_id: BucketId) -> Bucket:
        """Return the bucket or raise ``NotFound``."""
        row = self._conn.execute(
            f"{bucket_select(self._dialect)} WHERE b.id = ? AND b.team_id = ?", (bucket_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, bucket_id)
        return bucket_from_row(row)

    def _grants(self, bucket: Bucket) -> None:
        self._conn.execute("DELETE FROM bucket_grants WHERE bucket_id = ?", (bucket.id,))
        if bucket.grants:
            self._conn.executemany(
                "INSERT INTO bucket_grants (bucket_id, member_id, team_id, level,"
                " can_view_conversations) VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        bucket.id,
                        g.member_id,
                        bucket.team_id,
                        g.level.value,
                        int(g.can_view_conversations),
                    )
                    for g in bucket.grants
                ],
            )

    @translated
    def add(self, bucket: Bucket) -> None:
        """Insert a new bucket."""
        b = bucket
        self._insert(
            b.id,
            "INSERT INTO buckets (id, team_id, name, kind, owner_id, created_by, created_at,"
            " version, team_level, team_conversations, holds_all)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                b.id,
                b.team_id,
                b.name,
                b.kind.value,
                b.owner_id,
                b.created_by,
                to_micros(b.created_at),
                b.version,
                *_team_access_columns(b).values(),
            ),
        )
        self._grants(b)

    @translated
    def update(self, bucket: Bucket) -> None:
        """Replace the stored bucket whose version is ``bucket.version - 1``."""
        b = bucket
        self._update_versioned(
            b.id,
            b.team_id,
            b.version,
            {
                "name": b.name,
                "kind": b.kind.value,
                "owner_id": b.owner_id,
                "created_by": b.created_by,
                "created_at": to_micros(b.created_at),
                **_team_access_columns(b),
            },
        )
        self._grants(b)

    @translated
    def delete(self, team_id: TeamId, bucket_id: BucketId, version: int) -> None:
        """Delete the bucket (and its memberships) if its stored version is *version*."""
        self._delete_versioned(team_id, bucket_id, version)
        self._conn.execute("DELETE FROM memberships WHERE bucket_id = ?", (bucket_id,))

    @translated
    def all(self, team_id: TeamId) -> list[Bucket]:
        """Return every bucket of the team, oldest first."""
        rows = self._conn.execute(
            f"{bucket_select(self._dialect)} WHERE b.team_id = ? ORDER BY b.created_at, b.rowid",
            (team_id,),
        )
        return [bucket_from_row(r) for r in rows]


# --------------------------------------------------------------- memberships
_MEMBERSHIP_SELECT = "SELECT team_id, bucket_id, item_id, added_at, added_by FROM memberships"


def _membership(row: Sequence[Any]) -> BucketMembership:
    tid, bid, item, added, by = row
    return trusted(
        BucketMembership,
        team_id=tid,
        bucket_id=bid,
        item_id=item,
        added_at=from_micros(added),
        added_by=by,
    )


@cache
def _memberships_by_item(d: Dialect) -> str:
    return (
        f"{_MEMBERSHIP_SELECT}{d.index_hint('memberships_by_item')} WHERE team_id = ?"
        f" AND {d.ids_in('item_id')} ORDER BY bucket_id, item_id"
    )


class SQLiteMemberships(SQLRepository):
    """Which contacts and companies are in which buckets."""

    kind = "membership"
    table = "memberships"

    @translated
    def add_many(self, memberships: Sequence[BucketMembership]) -> list[BucketMembership]:
        """Add the memberships that do not exist yet; return those that were added."""
        if len(memberships) == 1:  # one statement: the row count says whether it was new
            m = memberships[0]
            cur = self._conn.execute(
                "INSERT INTO memberships (bucket_id, item_id, team_id, added_at, added_by)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (m.bucket_id, m.item_id, m.team_id, to_micros(m.added_at), m.added_by),
            )
            return [m] if cur.rowcount == 1 else []
        by_bucket: dict[str, dict[str, BucketMembership]] = {}
        for m in memberships:
            by_bucket.setdefault(m.bucket_id, {}).setdefault(m.item_id, m)
        fresh: set[tuple[str, str]] = set()
        rows: list[tuple[Any, ...]] = []
        micros: dict[Any, int] = {}
        for bucket_id, items in by_bucket.items():
            existing = {
                r[0]
                for r in self._conn.execute(
                    "SELECT item_id FROM memberships WHERE bucket_id = ?"
                    f" AND {self._dialect.ids_in('item_id')}",
                    (bucket_id, dumps(list(items))),
                )
            }
            for item_id, m in items.items():
                if item_id in existing:
                    continue
                at = micros.get(m.added_at)
                if at is None:
                    at = micros[m.added_at] = to_micros(m.added_at)
                rows.append((bucket_id, item_id, m.team_id, at, m.added_by))
                fresh.add((bucket_id, item_id))
        if rows:
            self._conn.executemany(
                "INSERT INTO memberships (bucket_id, item_id, team_id, added_at, added_by)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        added: list[BucketMembership] = []
        for m in memberships:
            key = (m.bucket_id, m.item_id)
            if key in fresh:
                fresh.discard(key)
                added.append(m)
        return added

    @translated
    def remove_many(
        self, team_id: TeamId, bucket_id: BucketId, item_ids: Iterable[str]
    ) -> list[str]:
        """Remove items from a bucket; return the ids that were in it."""
        wanted, ids = ids_json(item_ids)
        if not wanted:
            return []
        present = {
            r[0]
            for r in self._conn.execute(
                "DELETE FROM memberships WHERE team_id = ? AND bucket_id = ?"
                f" AND {self._dialect.ids_in('item_id')} RETURNING item_id",
                (team_id, bucket_id, ids),
            )
        }
        return [i for i in wanted if i in present]

    @translated
    def items(self, team_id: TeamId, bucket_id: BucketId) -> list[BucketMembership]:
        """Return a bucket's memberships ordered by ``added_at`` then item id."""
        rows = self._conn.execute(
            f"{_MEMBERSHIP_SELECT} WHERE team_id = ? AND bucket_id = ? ORDER BY added_at, item_id",
            (team_id, bucket_id),
        )
        return [_membership(r) for r in rows]

    @translated
    def items_page(
        self,
        team_id: TeamId,
        bucket_id: BucketId,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[BucketMembership]:
        """Up to *limit* memberships after *after* (``added_at``, item id), in that order."""
        sql = f"{_MEMBERSHIP_SELECT} WHERE team_id = ? AND bucket_id = ?"
        params: list[Any] = [team_id, bucket_id]
        if after is not None:
            sql += " AND (added_at > ? OR (added_at = ? AND item_id > ?))"
            at = to_micros(after[0])
            params += [at, at, after[1]]
        rows = self._conn.execute(sql + " ORDER BY added_at, item_id LIMIT ?", (*params, limit))
        return [_membership(r) for r in rows]

    @translated
    def buckets_of(self, team_id: TeamId, item_ids: Iterable[str]) -> list[BucketMembership]:
        """Return every membership of the given items, ordered by bucket id then item id."""
        wanted, ids = ids_json(item_ids)
        if not wanted:
            return []
        rows = self._conn.execute(
            # By item, never by bucket: without statistics the planner may pick
            # memberships_by_bucket and read every membership of the team.
            _memberships_by_item(self._dialect),
            (team_id, ids),
        )
        return [_membership(r) for r in rows]

    @translated
    def remove_item(self, team_id: TeamId, item_id: str) -> None:
        """Remove an item from every bucket (when it is deleted)."""
        self._conn.execute(
            "DELETE FROM memberships WHERE team_id = ? AND item_id = ?", (team_id, item_id)
        )
