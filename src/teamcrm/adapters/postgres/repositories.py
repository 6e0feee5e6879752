"""PostgreSQL versions of the repositories whose shared statements are not enough.

The SQLite store runs one writer at a time; PostgreSQL runs writers side by
side under READ COMMITTED, so a few repositories decide their races in one
statement or with a lock instead of a read followed by a write:

* :class:`PGMemberships` adds memberships with ``INSERT ... ON CONFLICT DO
  NOTHING RETURNING``: two units adding one contact to one bucket at once
  both succeed, and only the one whose row went in reports it as added (so
  the contact enters routing once);
* :class:`~teamcrm.adapters.postgres.views.PGContacts` locks the contact a
  writing unit reads for update (``get_for_update``: ``SELECT ... FOR
  UPDATE``), so a read-modify-write of one contact never fails its version
  check or loses a concurrent change;
* :class:`PGOutbox` takes a per-team ``pg_advisory_xact_lock`` before it
  appends (right before commit), so ``seq`` numbers of one team are handed
  out in commit order and a reader paging with ``after_seq`` never skips a
  message that commits late;
* :class:`PGTeams` and :class:`PGContacts` lock rows for ``lock`` (the
  SQLite store does nothing: it runs one writing unit at a time): the team
  row ``FOR UPDATE`` for rules over the team's members (an active admin
  stays), contacts ``FOR KEY SHARE`` while rows pointing at them are added
  and ``FOR UPDATE`` while one is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from teamcrm.adapters.postgres.connection import PGConnection
from teamcrm.adapters.postgres.store import PGContext
from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.buckets import SQLiteMemberships
from teamcrm.adapters.sql.codec import to_micros
from teamcrm.adapters.sql.companies import SQLiteCompanies
from teamcrm.adapters.sql.contacts import INSERT_CONTACT, SQLiteContacts
from teamcrm.adapters.sql.outbox import SQLiteOutbox, event_json
from teamcrm.adapters.sql.teams import SQLiteTeams
from teamcrm.bucket import BucketMembership
from teamcrm.events import DomainEvent
from teamcrm.ids import CompanyId, ContactId, TeamId

__all__ = [
    "OUTBOX_LOCK",
    "PGCompanies",
    "PGContacts",
    "PGMemberships",
    "PGOutbox",
    "PGTeams",
    "context",
    "pg",
    "writing",
]

#: First key of the per-team advisory lock taken by outbox appends.
OUTBOX_LOCK = 0x7C3A_0002


def context(repository: SQLRepository) -> PGContext:
    """What *repository*'s PostgreSQL unit of work shares (see :class:`PGContext`)."""
    return cast(PGContext, repository._ctx)


def pg(repository: SQLRepository) -> PGConnection:
    """The PostgreSQL connection of *repository*'s unit of work."""
    return context(repository).pg


def writing(repository: SQLRepository) -> bool:
    """True when *repository* belongs to a writing unit of work."""
    return context(repository).write


class PGMemberships(SQLiteMemberships):
    """Memberships; adding is one ``INSERT ... ON CONFLICT DO NOTHING RETURNING``."""

    @translated
    def add_many(self, memberships: Sequence[BucketMembership]) -> list[BucketMembership]:
        """Add the memberships that do not exist yet; return those that were added."""
        first: dict[tuple[str, str], BucketMembership] = {}
        for m in memberships:
            first.setdefault((m.bucket_id, m.item_id), m)
        if not first:
            return []
        rows = list(first.values())
        cur = pg(self).run(
            "INSERT INTO memberships (bucket_id, item_id, team_id, added_at, added_by)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[])"
            " ON CONFLICT DO NOTHING RETURNING bucket_id, item_id",
            (
                [m.bucket_id for m in rows],
                [m.item_id for m in rows],
                [m.team_id for m in rows],
                [to_micros(m.added_at) for m in rows],
                [m.added_by for m in rows],
            ),
        )
        fresh = {(b, i) for b, i in cur.fetchall()}
        return [m for key, m in first.items() if key in fresh]


#: A team's outbox lock and its rows, in the order given: the sort reads the
#: lock's row before the first row is inserted (and given its ``seq``).
_APPEND_LOCKED = (
    "INSERT INTO outbox (team_id, name, subject_id, occurred_at, event)"
    " SELECT %s, e.name, e.subject_id, e.occurred_at, e.event"
    " FROM (SELECT pg_advisory_xact_lock(%s, hashtext(%s))) AS lock,"
    " unnest(%s::text[], %s::text[], %s::bigint[], %s::text[])"
    " WITH ORDINALITY AS e(name, subject_id, occurred_at, event, n)"
    " ORDER BY e.n"
)


class PGOutbox(SQLiteOutbox):
    """The outbox; appends of one team are serialised until commit (``seq`` = commit order)."""

    @translated
    def append(self, events: Sequence[DomainEvent]) -> None:
        """Append events; they get increasing ``seq`` numbers in the given order.

        Events of one team (the usual unit) are one statement: the team's
        lock, then every row (``_APPEND_LOCKED``).
        """
        if not events:
            return
        team_id = events[0].team_id
        if all(e.team_id == team_id for e in events):
            micros: dict[Any, int] = {}
            for e in events:
                if e.occurred_at not in micros:
                    micros[e.occurred_at] = to_micros(e.occurred_at)
            pg(self).run(
                _APPEND_LOCKED,
                (
                    team_id,
                    OUTBOX_LOCK,
                    str(team_id),
                    [e.name.value for e in events],
                    [e.subject_id for e in events],
                    [micros[e.occurred_at] for e in events],
                    [event_json(e) for e in events],
                ),
            )
            return
        for team_id in sorted({e.team_id for e in events}):
            pg(self).run(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (OUTBOX_LOCK, str(team_id))
            )
        super().append(events)


class PGTeams(SQLiteTeams):
    """Teams; ``lock`` holds the team's row until commit."""

    @translated
    def lock(self, team_id: TeamId) -> None:
        """Lock the team's row (``FOR UPDATE``) until the unit ends; nothing in a read-only unit."""
        if writing(self):
            pg(self).run("SELECT 1 FROM teams WHERE id = %s FOR UPDATE", (team_id,)).fetchall()


class PGCompanies(SQLiteCompanies):
    """Companies; ``lock`` holds them against deletion (or, exclusive, against everyone)."""

    @translated
    def lock(
        self, team_id: TeamId, company_ids: Iterable[CompanyId], *, exclusive: bool = False
    ) -> None:
        """Lock the companies until the unit ends: ``FOR KEY SHARE``, or ``FOR UPDATE``.

        One statement, in id order, as :meth:`PGContacts.lock`.
        """
        ids = sorted(set(company_ids))
        if not ids or not writing(self):
            return
        mode = "UPDATE" if exclusive else "KEY SHARE"
        pg(self).run(
            f"SELECT id FROM companies WHERE team_id = %s AND id = ANY(%s) ORDER BY id FOR {mode}",
            (team_id, ids),
        ).fetchall()


class PGContacts(SQLiteContacts):
    """Contacts; ``lock`` holds them against deletion (or, exclusive, against everyone)."""

    def _insert_contacts(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        """One pipelined ``executemany`` (PostgreSQL has no per-statement FTS5 flush)."""
        conn.executemany(INSERT_CONTACT, rows)

    @translated
    def lock(
        self, team_id: TeamId, contact_ids: Iterable[ContactId], *, exclusive: bool = False
    ) -> None:
        """Lock the contacts until the unit ends: ``FOR KEY SHARE``, or ``FOR UPDATE``.

        One statement for all of them, in id order (two units locking
        overlapping sets cannot wait for each other in a cycle).  ``FOR KEY
        SHARE`` blocks only deletion: units adding the same contact to
        buckets, and updates of the contact, go on side by side.
        """
        ids = sorted(set(contact_ids))
        if not ids or not writing(self):
            return
        mode = "UPDATE" if exclusive else "KEY SHARE"
        pg(self).run(
            f"SELECT id FROM contacts WHERE team_id = %s AND id = ANY(%s) ORDER BY id FOR {mode}",
            (team_id, ids),
        ).fetchall()
