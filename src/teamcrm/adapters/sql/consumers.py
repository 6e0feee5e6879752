"""Outbox consumers' positions and claims (shared by both SQL stores)."""

from __future__ import annotations

from datetime import datetime

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import to_micros
from teamcrm.ids import TeamId

__all__ = ["SQLiteConsumerPositions"]


class SQLiteConsumerPositions(SQLRepository):
    """Positions of outbox consumers (see ``ConsumerPositionRepository``)."""

    kind = "consumer position"
    table = "consumer_positions"

    @translated
    def claim(
        self, consumer: str, team_id: TeamId, *, token: str, now: datetime, until: datetime
    ) -> int | None:
        """Claim the position until *until*; return it, or ``None`` if another holds it."""
        claimed = self._conn.execute(
            "INSERT INTO consumer_positions (consumer, team_id, position, claim_token,"
            " claimed_until) VALUES (?, ?, 0, ?, ?)"
            " ON CONFLICT (consumer, team_id) DO UPDATE"
            " SET claim_token = excluded.claim_token, claimed_until = excluded.claimed_until"
            " WHERE consumer_positions.claim_token IS NULL"
            "    OR consumer_positions.claimed_until <= ?",
            (consumer, team_id, token, to_micros(until), to_micros(now)),
        ).rowcount
        if claimed != 1:
            return None
        return self.position(consumer, team_id)

    @translated
    def advance(self, consumer: str, team_id: TeamId, *, token: str, seq: int) -> bool:
        """Move the position to *seq* and release the claim, if the claim is still *token*'s."""
        return (
            self._conn.execute(
                "UPDATE consumer_positions SET position = ?, claim_token = NULL,"
                " claimed_until = NULL"
                " WHERE consumer = ? AND team_id = ? AND claim_token = ? AND position <= ?",
                (seq, consumer, team_id, token, seq),
            ).rowcount
            == 1
        )

    @translated
    def release(self, consumer: str, team_id: TeamId, *, token: str) -> None:
        """Give up the claim *token* without moving the position."""
        self._conn.execute(
            "UPDATE consumer_positions SET claim_token = NULL, claimed_until = NULL"
            " WHERE consumer = ? AND team_id = ? AND claim_token = ?",
            (consumer, team_id, token),
        )

    @translated
    def position(self, consumer: str, team_id: TeamId) -> int:
        """The ``seq`` of the last message the consumer handled in the team (0: none)."""
        row = self._conn.execute(
            "SELECT position FROM consumer_positions WHERE consumer = ? AND team_id = ?",
            (consumer, team_id),
        ).fetchone()
        return 0 if row is None else int(row[0])
