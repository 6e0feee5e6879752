"""The outbox and its consumers' positions in memory"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from teamcrm.adapters.memory.tables import MemoryTables, _Table
from teamcrm.events import DomainEvent, OutboxMessage
from teamcrm.ids import TeamId
from teamcrm.validation import trusted_builder

if TYPE_CHECKING:
    from teamcrm.adapters.memory import MemoryStore

#: Outbox rows wrap events the unit of work collected (already built and checked).
_outbox_message = trusted_builder(OutboxMessage)


class _Outbox:
    def __init__(self, table: _Table[int, OutboxMessage], tables: MemoryTables) -> None:
        self._t = table
        self._tables = tables
        self._store: MemoryStore = tables.store

    def append(self, events: Sequence[DomainEvent]) -> None:
        first = self._store._seq + 1
        self._store._seq += len(events)
        self._t.insert_new(
            {seq: _outbox_message(seq=seq, event=event) for seq, event in enumerate(events, first)}
        )

    def read(self, team_id: TeamId, after_seq: int = 0, limit: int = 1000) -> list[OutboxMessage]:
        rows = sorted(
            (m for m in self._t.values() if m.seq > after_seq and m.event.team_id == team_id),
            key=lambda m: m.seq,
        )
        return rows[:limit]

    def prune(self, team_id: TeamId | None, *, before: datetime, limit: int = 10_000) -> int:
        floors: dict[str, int] = {}
        for (_consumer, team), row in self._tables.table("consumer_positions").rows.items():
            floors[team] = min(row.seq, floors.get(team, row.seq))
        gone = [
            m.seq
            for m in self._t.values()
            if (team_id is None or m.event.team_id == team_id)
            and m.event.occurred_at < before
            and m.seq <= floors.get(m.event.team_id, m.seq)
        ]
        gone.sort()
        for seq in gone[:limit]:
            self._t.pop(seq)
        return min(len(gone), limit)


@attrs.frozen(kw_only=True)
class _Position:
    """An outbox consumer's position in one team and its live claim, if any."""

    seq: int = 0
    token: str | None = None
    until: datetime | None = None


class _ConsumerPositions:
    def __init__(self, table: _Table[tuple[str, str], _Position]) -> None:
        self._t = table

    def claim(
        self, consumer: str, team_id: TeamId, *, token: str, now: datetime, until: datetime
    ) -> int | None:
        row = self._t.get((consumer, team_id)) or _Position()
        if row.token is not None and row.until is not None and row.until > now:
            return None
        self._t.put((consumer, team_id), attrs.evolve(row, token=token, until=until))
        return row.seq

    def advance(self, consumer: str, team_id: TeamId, *, token: str, seq: int) -> bool:
        row = self._t.get((consumer, team_id))
        if row is None or row.token != token or row.seq > seq:
            return False
        self._t.put((consumer, team_id), _Position(seq=seq))
        return True

    def release(self, consumer: str, team_id: TeamId, *, token: str) -> None:
        row = self._t.get((consumer, team_id))
        if row is not None and row.token == token:
            self._t.put((consumer, team_id), _Position(seq=row.seq))

    def position(self, consumer: str, team_id: TeamId) -> int:
        row = self._t.get((consumer, team_id))
        return 0 if row is None else row.seq


def memory_outbox(t: MemoryTables) -> _Outbox:
    """``uow.outbox`` of a memory unit."""
    return _Outbox(t.table("outbox"), t)


def memory_consumer_positions(t: MemoryTables) -> _ConsumerPositions:
    """``uow.consumer_positions`` of a memory unit."""
    return _ConsumerPositions(t.table("consumer_positions"))
