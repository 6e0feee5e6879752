"""Intake keys: one contact and lead per repeated submission (both SQL stores)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import dumps, from_micros, to_micros
from teamcrm.ids import BucketId, ContactId, MemberId, TeamId
from teamcrm.lead import IntakeRecord
from teamcrm.validation import trusted

__all__ = ["SQLiteIntake"]


_SELECT = (
    "SELECT team_id, key, contact_id, bucket_id, received_at, created, received_by FROM intake_keys"
)


def _record(row: Sequence[Any]) -> IntakeRecord:
    team, key, contact, bucket, at, created, by = row
    return trusted(
        IntakeRecord,
        team_id=TeamId(team),
        key=key,
        contact_id=ContactId(contact),
        bucket_id=BucketId(bucket),
        received_at=from_micros(at),
        created=bool(created),
        received_by=None if by is None else MemberId(by),
    )


class SQLiteIntake(SQLRepository):
    """Lead submissions taken in, by idempotency key."""

    kind = "intake key"
    table = "intake_keys"

    @translated
    def get(self, team_id: TeamId, key: str) -> IntakeRecord | None:
        """Return the record of *key*, or ``None``."""
        row = self._conn.execute(
            f"{_SELECT} WHERE team_id = ? AND key = ?", (team_id, key)
        ).fetchone()
        return None if row is None else _record(row)

    @translated
    def add(self, record: IntakeRecord) -> None:
        """Insert a record (``AlreadyExists`` for a taken key: the primary key decides)."""
        r = record
        self._insert(
            r.key,
            "INSERT INTO intake_keys (team_id, key, contact_id, bucket_id, received_at,"
            " created, received_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                r.team_id,
                r.key,
                r.contact_id,
                r.bucket_id,
                to_micros(r.received_at),
                int(r.created),
                r.received_by,
            ),
        )

    @translated
    def all(self, team_id: TeamId) -> list[IntakeRecord]:
        """Return every record of the team, by key."""
        rows = self._conn.execute(f"{_SELECT} WHERE team_id = ? ORDER BY key", (team_id,))
        return [_record(r) for r in rows]

    @translated
    def move_contact(
        self, team_id: TeamId, from_ids: Sequence[ContactId], to_id: ContactId
    ) -> None:
        """Point the records of *from_ids* at *to_id* (merging contacts)."""
        self._conn.execute(
            "UPDATE intake_keys SET contact_id = ? WHERE team_id = ?"
            f" AND {self._dialect.ids_in('contact_id')}",
            (to_id, team_id, dumps(list(dict.fromkeys(from_ids)))),
        )
