"""Each member's inbound bucket, where routed leads land (shared by both SQL stores)."""

from __future__ import annotations

from functools import cache

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.buckets import bucket_columns, bucket_from_row
from teamcrm.adapters.sql.dialect import Dialect
from teamcrm.bucket import Bucket
from teamcrm.errors import ConcurrencyError
from teamcrm.ids import MemberId, TeamId
from teamcrm.lead import (
    InboundBucket,
)
from teamcrm.validation import trusted_builder

__all__ = ["SQLiteInboundBuckets"]

#: A stored inbound row's entity (it matched the ids asked for: no checks again).
_inbound = trusted_builder(InboundBucket)


# ------------------------------------------------------------ inbound buckets
#: The member's inbound row with its bucket's columns (``bucket_columns``, then the row's).
@cache
def _inbound_with_bucket(d: Dialect) -> str:
    return (
        f"SELECT {bucket_columns(d)}, i.bucket_id\nFROM inbound_buckets i"
        " LEFT JOIN buckets b ON b.id = i.bucket_id AND b.team_id = i.team_id"
        " WHERE i.team_id = ? AND i.member_id = ?"
    )


class SQLiteInboundBuckets(SQLRepository):
    """Each member's bucket for routed leads."""

    kind = "inbound bucket"
    table = "inbound_buckets"

    @translated
    def get(self, team_id: TeamId, member_id: MemberId) -> InboundBucket | None:
        """Return the member's inbound bucket, or ``None``."""
        row = self._conn.execute(
            "SELECT bucket_id FROM inbound_buckets WHERE team_id = ? AND member_id = ?",
            (team_id, member_id),
        ).fetchone()
        if row is None:
            return None
        return _inbound(team_id=team_id, member_id=member_id, bucket_id=row[0])

    @translated
    def get_with_bucket(
        self, team_id: TeamId, member_id: MemberId
    ) -> tuple[InboundBucket | None, Bucket | None]:
        """Return the member's inbound row and its bucket (one joined read)."""
        row = self._conn.execute(
            _inbound_with_bucket(self._dialect), (team_id, member_id)
        ).fetchone()
        if row is None:
            return None, None
        inbound = _inbound(team_id=team_id, member_id=member_id, bucket_id=row[-1])
        return inbound, None if row[0] is None else bucket_from_row(row[:-1])

    @translated
    def put(self, row: InboundBucket) -> None:
        """Set (or replace) the member's inbound bucket."""
        self._conn.execute(
            "INSERT INTO inbound_buckets (team_id, member_id, bucket_id) VALUES (?, ?, ?)"
            " ON CONFLICT (team_id, member_id) DO UPDATE SET bucket_id = excluded.bucket_id",
            (row.team_id, row.member_id, row.bucket_id),
        )

    @translated
    def claim(self, row: InboundBucket) -> InboundBucket:
        """Set the member's inbound bucket to *row* unless one is set; return the stored one.

        One ``INSERT ... ON CONFLICT DO NOTHING``: on PostgreSQL a second unit
        claiming at once waits for the first and then reads its row.
        """
        cur = self._conn.execute(
            "INSERT INTO inbound_buckets (team_id, member_id, bucket_id) VALUES (?, ?, ?)"
            " ON CONFLICT (team_id, member_id) DO NOTHING",
            (row.team_id, row.member_id, row.bucket_id),
        )
        if cur.rowcount == 1:
            return row
        stored = self.get(TeamId(row.team_id), MemberId(row.member_id))
        if stored is None:  # pragma: no cover - the winner's row cannot vanish meanwhile
            raise ConcurrencyError(self.kind, row.member_id, 0)
        return stored
