"""Interactions and their targets (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Sequence
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
from teamcrm.errors import NotFound
from teamcrm.ids import PREFIXES, CompanyId, ContactId, InteractionId, MemberId, TeamId
from teamcrm.interaction import Interaction, InteractionKind, Outcome
from teamcrm.validation import trusted

__all__ = ["SQLiteInteractions"]


# -------------------------------------------------------------- interactions
@cache
def _interaction_select(d: Dialect) -> str:
    targets = d.json_array_agg(d.json_array("t.position", "t.target_id"), "t.position")
    return f"""
SELECT i.id, i.team_id, i.kind, i.author_id, i.occurred_at, i.logged_at, i.outcome, i.via,
       i.reference, i.body,
       (SELECT {targets}
          FROM interaction_targets t WHERE t.interaction_id = i.id)
FROM interactions i"""


@cache
def _last_by_author(d: Dialect) -> str:
    """Each (contact, author)'s newest ``occurred_at`` up to a time: one index range per contact.

    The ranges are of ``interaction_targets_by_target`` (``team_id, target_id,
    occurred_at``); each row's author is read by the primary key of
    ``interactions`` in a scalar subquery, so that PostgreSQL does not hash
    the whole ``interactions`` table for a join.  ``ids_in`` lets PostgreSQL
    probe the index with the array.
    """
    return f"""
SELECT x.target_id,
       (SELECT i.author_id FROM interactions i WHERE i.id = x.interaction_id) AS author_id,
       max(x.occurred_at)
FROM interaction_targets x
WHERE x.team_id = ? AND {d.ids_in("x.target_id")} AND x.occurred_at <= ?
GROUP BY x.target_id, author_id"""


def _interaction(row: Sequence[Any]) -> Interaction:
    iid, tid, kind, author, occurred, logged, outcome, via, ref, body, targets = row
    ordered = [t for _, t in sorted(loads(targets))]
    return trusted(
        Interaction,
        id=iid,
        team_id=tid,
        kind=InteractionKind(kind),
        author_id=author,
        occurred_at=from_micros(occurred),
        logged_at=from_micros(logged),
        outcome=None if outcome is None else Outcome(outcome),
        via=via,
        reference=ref,
        body=body,
        contact_ids=tuple(t for t in ordered if t.startswith(PREFIXES["contact"])),
        company_ids=tuple(t for t in ordered if t.startswith(PREFIXES["company"])),
    )


class SQLiteInteractions(SQLRepository):
    """Interactions (append-only), found by contact or company via ``interaction_targets``."""

    kind = "interaction"
    table = "interactions"

    @translated
    def add(self, interaction: Interaction) -> None:
        """Insert a new interaction and its targets."""
        i = interaction
        occurred = to_micros(i.occurred_at)
        self._insert(
            i.id,
            "INSERT INTO interactions (id, team_id, kind, author_id, occurred_at, logged_at,"
            " outcome, via, reference, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                i.id,
                i.team_id,
                i.kind.value,
                i.author_id,
                occurred,
                to_micros(i.logged_at),
                None if i.outcome is None else i.outcome.value,
                i.via,
                i.reference,
                i.body,
            ),
        )
        self._conn.executemany(
            "INSERT INTO interaction_targets (interaction_id, target_id, team_id, position,"
            " occurred_at) VALUES (?, ?, ?, ?, ?)",
            [
                (i.id, target, i.team_id, n, occurred)
                for n, target in enumerate((*i.contact_ids, *i.company_ids))
            ],
        )

    @translated
    def get(self, team_id: TeamId, interaction_id: InteractionId) -> Interaction:
        """Return the interaction or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_interaction_select(self._dialect)} WHERE i.id = ? AND i.team_id = ?",
            (interaction_id, team_id),
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, interaction_id)
        return _interaction(row)

    def _for_target(self, team_id: str, target_id: str) -> list[Interaction]:
        rows = self._conn.execute(
            f"{_interaction_select(self._dialect)}"
            " JOIN interaction_targets x ON x.interaction_id = i.id"
            " WHERE x.team_id = ? AND x.target_id = ?"
            " ORDER BY x.occurred_at DESC, x.interaction_id DESC",
            (team_id, target_id),
        )
        return [_interaction(r) for r in rows]

    @translated
    def for_contact(self, team_id: TeamId, contact_id: ContactId) -> list[Interaction]:
        """Return the contact's interactions, newest ``occurred_at`` first (ties: id)."""
        return self._for_target(team_id, contact_id)

    @translated
    def for_contact_page(
        self,
        team_id: TeamId,
        contact_id: ContactId,
        *,
        before: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[Interaction]:
        """Up to *limit* of the contact's interactions older than *before*, newest first."""
        sql = (
            f"{_interaction_select(self._dialect)}"
            " JOIN interaction_targets x ON x.interaction_id = i.id"
            " WHERE x.team_id = ? AND x.target_id = ?"
        )
        params: list[Any] = [team_id, contact_id]
        if before is not None:
            sql += " AND (x.occurred_at < ? OR (x.occurred_at = ? AND x.interaction_id < ?))"
            at = to_micros(before[0])
            params += [at, at, before[1]]
        rows = self._conn.execute(
            sql + " ORDER BY x.occurred_at DESC, x.interaction_id DESC LIMIT ?", (*params, limit)
        )
        return [_interaction(r) for r in rows]

    @translated
    def last_by_author(
        self, team_id: TeamId, contact_ids: Sequence[ContactId], *, until: datetime
    ) -> dict[tuple[ContactId, MemberId], datetime]:
        """Each author's newest interaction time with each contact up to *until* (see the port)."""
        wanted, ids = ids_json(contact_ids)
        if not wanted:
            return {}
        rows = self._conn.execute(_last_by_author(self._dialect), (team_id, ids, to_micros(until)))
        return {(c, a): from_micros(at) for c, a, at in rows}

    @translated
    def for_company(self, team_id: TeamId, company_id: CompanyId) -> list[Interaction]:
        """Return the interactions filed under a company, newest first (ties: id)."""
        return self._for_target(team_id, company_id)

    @translated
    def file_under(
        self, team_id: TeamId, interaction_id: InteractionId, company_ids: Sequence[CompanyId]
    ) -> None:
        """File an interaction under more companies (new targets after its last one)."""
        i = self.get(team_id, interaction_id)
        extra = [c for c in dict.fromkeys(company_ids) if c not in i.company_ids]
        if not extra:
            return
        first = len(i.contact_ids) + len(i.company_ids)
        occurred = to_micros(i.occurred_at)
        self._conn.executemany(
            "INSERT INTO interaction_targets (interaction_id, target_id, team_id, position,"
            " occurred_at) VALUES (?, ?, ?, ?, ?)",
            [(i.id, target, team_id, first + n, occurred) for n, target in enumerate(extra)],
        )

    def all(self, team_id: TeamId) -> list[Interaction]:
        """Return every interaction of the team (also of deleted contacts), by id."""
        rows = self._conn.execute(
            f"{_interaction_select(self._dialect)} WHERE i.team_id = ? ORDER BY i.id", (team_id,)
        )
        return [_interaction(r) for r in rows]

    @translated
    def move_contact(
        self, team_id: TeamId, from_ids: Sequence[ContactId], to_id: ContactId
    ) -> None:
        """File the interactions of *from_ids* under *to_id* (see the port)."""
        gone = dumps(list(dict.fromkeys(from_ids)))
        d = self._dialect
        # Rows that would name *to_id* twice in one interaction go first: those of
        # interactions naming *to_id* already, then all but the first of several.
        self._conn.execute(
            "DELETE FROM interaction_targets WHERE team_id = ?"
            f" AND {d.ids_in('target_id')}"
            " AND interaction_id IN (SELECT interaction_id FROM interaction_targets"
            "   WHERE team_id = ? AND target_id = ?)",
            (team_id, gone, team_id, to_id),
        )
        self._conn.execute(
            "DELETE FROM interaction_targets WHERE team_id = ?"
            f" AND {d.ids_in('target_id')}"
            " AND EXISTS (SELECT 1 FROM interaction_targets o"
            "   WHERE o.interaction_id = interaction_targets.interaction_id"
            f"   AND {d.ids_in('o.target_id')}"
            "   AND o.position < interaction_targets.position)",
            (team_id, gone, gone),
        )
        self._conn.execute(
            "UPDATE interaction_targets SET target_id = ? WHERE team_id = ?"
            f" AND {d.ids_in('target_id')}",
            (to_id, team_id, gone),
        )
