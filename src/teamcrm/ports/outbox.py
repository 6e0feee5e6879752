"""Ports of the outbox and the positions of its consumers"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from teamcrm.events import DomainEvent, OutboxMessage
from teamcrm.ids import (
    TeamId,
)


class OutboxRepository(Protocol):
    """The outbox of committed domain events."""

    def append(self, events: Sequence[DomainEvent]) -> None:
        """Append events; they get increasing ``seq`` numbers in the given order."""
        ...

    def read(self, team_id: TeamId, after_seq: int = 0, limit: int = 1000) -> list[OutboxMessage]:
        """Return the team's messages with ``seq > after_seq``, in ``seq`` order."""
        ...

    def prune(self, team_id: TeamId | None, *, before: datetime, limit: int = 10_000) -> int:
        """Delete at most *limit* messages of the team (every team when ``None``); return how many.

        Deletes, lowest ``seq`` first, only messages that are **both** older
        than *before* (``occurred_at < before``) and at or before the lowest
        position of every consumer registered for the message's team in the
        ``consumer_positions`` repository (``seq <= min(position)``); a team
        no consumer ever claimed is pruned by age alone.  The floor is read in
        the same statement as the delete, so a message a registered consumer
        has not handled is never removed.
        """
        ...


class ConsumerPositionRepository(Protocol):
    """Where each outbox consumer stands, per team (see :meth:`teamcrm.CRM.consume`).

    A consumer *claims* its position before reading a batch (one worker at a
    time per consumer and team; a claim lapses at *until*), and *advances*
    it after handling the batch.
    """

    def claim(
        self, consumer: str, team_id: TeamId, *, token: str, now: datetime, until: datetime
    ) -> int | None:
        """Claim the position until *until* (free or lapsed claims only); return it, or ``None``."""
        ...

    def advance(self, consumer: str, team_id: TeamId, *, token: str, seq: int) -> bool:
        """Set the position to *seq* and release the claim if *token* still holds it."""
        ...

    def release(self, consumer: str, team_id: TeamId, *, token: str) -> None:
        """Release the claim *token* without moving the position."""
        ...

    def position(self, consumer: str, team_id: TeamId) -> int:
        """The ``seq`` of the last message handled (0 before the first)."""
        ...
