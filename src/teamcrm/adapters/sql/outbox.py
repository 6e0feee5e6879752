"""The transactional outbox (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import (
    dumps,
    loads,
    to_micros,
)
from teamcrm.converter import converter
from teamcrm.events import DomainEvent, OutboxMessage
from teamcrm.ids import TeamId

__all__ = ["SQLiteOutbox", "event_json"]


# -------------------------------------------------------------------- outbox
def event_json(event: DomainEvent, occurred_at: str | None = None) -> str:
    """Serialise a domain event as :data:`teamcrm.converter.converter` unstructures it.

    The same text, built directly (fields in declaration order, the name (a
    ``StrEnum`` member: JSON writes its value), ``occurred_at`` in ISO form:
    *occurred_at* when the caller has it already, the data as given: JSON
    scalars and lists of strings), which
    costs a routed add's three events a third of the converter's calls.
    """
    if type(event) is not DomainEvent:  # pragma: no cover - DomainEvent is not subclassed
        return dumps(converter.unstructure(event, DomainEvent))
    return dumps(
        {
            "name": event.name,
            "team_id": event.team_id,
            "subject_id": event.subject_id,
            "occurred_at": event.occurred_at.isoformat() if occurred_at is None else occurred_at,
            "actor_id": event.actor_id,
            "data": event.data,
        }
    )


class SQLiteOutbox(SQLRepository):
    """The outbox table (``seq INTEGER PRIMARY KEY AUTOINCREMENT``)."""

    kind = "outbox message"
    table = "outbox"

    @translated
    def append(self, events: Sequence[DomainEvent]) -> None:
        """Append events; they get increasing ``seq`` numbers in the given order."""
        times: dict[Any, tuple[int, str]] = {}  # the events of a unit share their time
        rows = []
        for e in events:
            at = times.get(e.occurred_at)
            if at is None:
                at = times[e.occurred_at] = (to_micros(e.occurred_at), e.occurred_at.isoformat())
            # (str() of a StrEnum member is its value, one call fewer than .value)
            rows.append((e.team_id, str(e.name), e.subject_id, at[0], event_json(e, at[1])))
        self._conn.executemany(
            "INSERT INTO outbox (team_id, name, subject_id, occurred_at, event)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )

    @translated
    def read(self, team_id: TeamId, after_seq: int = 0, limit: int = 1000) -> list[OutboxMessage]:
        """Return the team's messages with ``seq > after_seq``, in ``seq`` order."""
        rows = self._conn.execute(
            "SELECT seq, event FROM outbox WHERE team_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (team_id, after_seq, limit),
        )
        return [
            OutboxMessage(seq=seq, event=converter.structure(loads(text), DomainEvent))
            for seq, text in rows
        ]

    @translated
    def prune(self, team_id: TeamId | None, *, before: datetime, limit: int = 10_000) -> int:
        """Delete up to *limit* old messages every registered consumer has handled.

        See ``OutboxRepository.prune``: ``occurred_at < before`` and ``seq``
        at or before the lowest ``consumer_positions.position`` of the team
        (no floor for a team without consumers), lowest ``seq`` first.
        """
        # Two shapes, so that one team's prune walks the (team_id, seq) index.
        team = "" if team_id is None else "o.team_id = ? AND "
        params: tuple[Any, ...] = () if team_id is None else (team_id,)
        return int(
            self._conn.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT o.seq FROM outbox o"
                f" WHERE {team}o.occurred_at < ?"
                " AND o.seq <= COALESCE((SELECT MIN(c.position) FROM consumer_positions c"
                " WHERE c.team_id = o.team_id), o.seq)"
                " ORDER BY o.seq LIMIT ?)",
                (*params, to_micros(before), limit),
            ).rowcount
        )
