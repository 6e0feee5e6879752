"""PostgreSQL routing repositories: the claims decided by row locks.

The SQLite store serialises whole writing units; on PostgreSQL units run
side by side, so the routing claims lock exactly the rows they decide on,
always in the order *lead, then offer* (no two units can wait for each
other in a cycle):

* **pool entry and round-robin cursor** - in a writing unit the first look
  at a pool's open leads (``leads.open_for_contacts``) or at its cursor
  makes sure the cursor row exists (``INSERT ... ON CONFLICT DO NOTHING``)
  and locks it (``SELECT ... FOR UPDATE``): units entering contacts into one
  pool take turns from that read until they commit, so the duplicate checks
  (one open lead per contact, by email/phone keys) see every earlier entry,
  no turn is handed out twice and no unit fails on a stale cursor; ``put``
  still checks the version;
* **offer acceptance** - ``offers.get`` in a writing unit locks the offer's
  lead and then the offer (``FOR UPDATE``), and ``leads.get`` locks its
  lead: of members accepting one lead at once, the first to lock it wins
  and the others then read it taken (``OfferClosed("taken")``);
* **capacity** - ``leads.received`` (what a cap check reads) in a writing
  unit locks the pool's entry too, so concurrent acceptances and assignments
  of one pool check caps one after the other;
* **expiry** - ``offers.due`` in a writing unit takes the due offers with
  their leads ``FOR UPDATE ... SKIP LOCKED``: expiry jobs in several
  processes settle disjoint offers, and skip the leads that an acceptance is
  deciding right now;
* **response windows** - ``leads.response_due`` in a writing unit takes the
  due leads ``FOR UPDATE SKIP LOCKED`` the same way: parallel enforcers
  settle disjoint leads.

Read-only units never lock.  Versions are still checked on every update.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from teamcrm.adapters.postgres.dialect import placeholders
from teamcrm.adapters.postgres.repositories import context, pg, writing
from teamcrm.adapters.postgres.store import PGContext
from teamcrm.adapters.sql.base import translated
from teamcrm.adapters.sql.codec import to_micros
from teamcrm.adapters.sql.leads import (
    LEAD_INSERT,
    LEAD_SELECT,
    SQLiteLeads,
    lead_from_row,
    lead_row,
)
from teamcrm.adapters.sql.offers import OFFER_SELECT, SQLiteOffers, offer_from_row
from teamcrm.adapters.sql.pools import SQLiteRoutingCursors
from teamcrm.errors import ConcurrencyError, NotFound
from teamcrm.ids import ContactId, MemberId, TeamId
from teamcrm.lead import Lead, LeadEntries, LeadId, Offer, OfferId, RoutingCursor
from teamcrm.pool import PoolId

__all__ = ["PGLeads", "PGOffers", "PGRoutingCursors", "lock_pool"]


_LOCK_CURSOR = (
    "SELECT position, version FROM routing_cursors WHERE team_id = %s AND pool_id = %s FOR UPDATE"
)


def lock_pool(ctx: PGContext, team_id: str, pool_id: str) -> tuple[int, int] | None:
    """Lock the pool's cursor row until commit (creating it at version 0); return it.

    Once per unit: the row stays locked until the transaction ends, so a
    later call returns what the unit last read or wrote (``ctx.pool_cursors``)
    without asking the server again.  Called while a read ahead is recorded
    (``PGConnection.recording``), it only notes the locking read and returns
    ``None``.
    """
    key = (team_id, pool_id)
    held = ctx.pool_cursors.get(key)
    if held is not None:
        return held
    conn = ctx.pg
    if conn.recording:  # a read ahead: the lock travels with the next batch; nothing held yet
        conn.note(_LOCK_CURSOR, key)
        return None
    row = conn.run(_LOCK_CURSOR, key).fetchone()
    if row is None:
        conn.run(
            "INSERT INTO routing_cursors (team_id, pool_id, position, version)"
            " VALUES (%s, %s, 0, 0) ON CONFLICT DO NOTHING",
            key,
        )
        row = conn.run(_LOCK_CURSOR, key).fetchone()
    if row is None:  # pragma: no cover - the pool was deleted meanwhile
        return None
    held = ctx.pool_cursors[key] = (int(row[0]), int(row[1]))
    return held


class PGRoutingCursors(SQLiteRoutingCursors):
    """Round-robin cursors, locked from ``get`` to commit in writing units."""

    @translated
    def get(self, team_id: TeamId, pool_id: PoolId) -> RoutingCursor:
        """Return the stored cursor (locked in a writing unit), or a version-0 cursor."""
        if not writing(self):
            return super().get(team_id, pool_id)
        row = lock_pool(context(self), team_id, pool_id)
        if row is None:  # pragma: no cover - the pool was deleted meanwhile
            return RoutingCursor(team_id=team_id, pool_id=pool_id)
        return RoutingCursor(team_id=team_id, pool_id=pool_id, position=row[0], version=row[1])

    @translated
    def put(self, cursor: RoutingCursor) -> None:
        """Store *cursor* if the stored version is ``cursor.version - 1`` (none counts as 0).

        Inside the unit's ``send_later()`` block, a cursor whose row this unit
        holds locked at ``cursor.version - 1`` is written with the unit's next
        round trip: nobody else can change or delete the row meanwhile, so
        the update cannot miss it.
        """
        ctx = context(self)
        conn = ctx.pg
        held = ctx.pool_cursors.get((cursor.team_id, cursor.pool_id))
        if conn.sending_later and held is not None and held[1] == cursor.version - 1:
            conn.later(
                "UPDATE routing_cursors SET position = ?, version = ?"
                " WHERE team_id = ? AND pool_id = ?",
                (cursor.position, cursor.version, cursor.team_id, cursor.pool_id),
                kind=self.kind,
                key=cursor.pool_id,
            )
            ctx.pool_cursors[(cursor.team_id, cursor.pool_id)] = (
                cursor.position,
                cursor.version,
            )
            return
        cur = conn.run(
            "UPDATE routing_cursors SET position = %s, version = %s"
            " WHERE team_id = %s AND pool_id = %s AND version = %s",
            (cursor.position, cursor.version, cursor.team_id, cursor.pool_id, cursor.version - 1),
        )
        if cur.rowcount != 1 and cursor.version == 1:
            cur = conn.run(
                "INSERT INTO routing_cursors (team_id, pool_id, position, version)"
                " VALUES (%s, %s, %s, 1) ON CONFLICT DO NOTHING",
                (cursor.team_id, cursor.pool_id, cursor.position),
            )
        if cur.rowcount != 1:
            raise ConcurrencyError(self.kind, cursor.pool_id, cursor.version - 1)
        # The write locks the row (if nothing had) until commit: remember it.
        context(self).pool_cursors[(cursor.team_id, cursor.pool_id)] = (
            cursor.position,
            cursor.version,
        )


#: One lead's row and its key rows (the keys as a ``text[]``, after the row's values).
_LEAD_WITH_KEYS = (
    f"WITH lead AS ({placeholders(LEAD_INSERT)} RETURNING id, team_id, pool_key)"
    " INSERT INTO lead_keys (team_id, pool_key, key, lead_id)"
    " SELECT lead.team_id, lead.pool_key, k.key, lead.id"
    " FROM lead, unnest(%s::text[]) AS k(key) ON CONFLICT DO NOTHING"
)


class PGLeads(SQLiteLeads):
    """Leads; in a writing unit ``get`` locks the lead, ``open_for_contacts`` the pool entry.

    ``response_due`` locks the due leads it returns and skips those another
    unit holds.
    """

    @translated
    def open_for_contacts(
        self, team_id: TeamId, pool_id: PoolId | None, contact_ids: Iterable[ContactId]
    ) -> list[Lead]:
        """Return the open leads of the pool of these contacts (locking the pool's entry)."""
        ids = list(contact_ids)
        if writing(self) and pool_id is not None and ids:
            lock_pool(context(self), team_id, pool_id)
        return super().open_for_contacts(team_id, pool_id, ids)

    @translated
    def entry_states(
        self, team_id: TeamId, pool_id: PoolId, contact_ids: Iterable[ContactId]
    ) -> dict[str, LeadEntries]:
        """Return the contacts' entries and open leads in the pool (locking the pool's entry)."""
        ids = list(contact_ids)
        if writing(self) and ids:
            lock_pool(context(self), team_id, pool_id)
        return super().entry_states(team_id, pool_id, ids)

    @translated
    def received(
        self, team_id: TeamId, pool_id: PoolId, member_id: MemberId, since: datetime
    ) -> list[datetime]:
        """Return the member's receipts in the pool since *since* (locking the pool's entry).

        Capacity checks read these before handing a lead to a member; in a
        writing unit the pool's entry stays locked until commit, so two units
        (routing, accepting an offer, assigning) can never both see room for
        the last lead a cap allows.
        """
        if writing(self):
            lock_pool(context(self), team_id, pool_id)
        return super().received(team_id, pool_id, member_id, since)

    def _insert_leads(self, leads: Sequence[Lead]) -> None:
        """Insert leads; inside ``send_later()`` one lead's row and keys travel later.

        They are one statement (``_LEAD_WITH_KEYS``: the row, then its keys
        ``ON CONFLICT DO NOTHING``), which fails, if at all, by a server
        error (a taken id, a second open lead of the contact in the pool),
        raised as ``AlreadyExists`` naming the lead.
        """
        conn = pg(self)
        if len(leads) != 1 or not conn.sending_later:
            super()._insert_leads(leads)
            return
        lead = leads[0]
        if not self.loads_by_trigger:  # pragma: no cover - the PostgreSQL schema has them
            with conn.queueing(self.kind, lead.id):
                super()._insert_leads(leads)
            return
        keys = list(dict.fromkeys(lead.keys)) if lead.is_open else []
        conn.run_later(_LEAD_WITH_KEYS, (*lead_row(lead), keys), kind=self.kind, key=lead.id)

    def _insert_lead_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert lead rows: one as SQLite does, a batch with one pipelined ``executemany``.

        A single row goes through ``INSERT ... ON CONFLICT DO NOTHING`` (see
        the base class), so it needs no savepoint; a batch needs no JSON
        unpacking here.  Inside the unit's ``send_later()`` block a single row
        is a plain ``INSERT`` sent with the unit's next round trip: a taken id
        or a second open lead then fails that round trip with
        ``AlreadyExists`` naming the lead, and the unit can only roll back.
        """
        if len(rows) == 1:
            conn = pg(self)
            if conn.sending_later:
                conn.later(LEAD_INSERT, rows[0], kind=self.kind, key=rows[0][0])
                return
            super()._insert_lead_rows(rows)
            return
        self._conn.executemany(LEAD_INSERT, rows)

    @translated
    def response_due(self, at: datetime, limit: int) -> list[Lead]:
        """Return up to *limit* leads past their response window; a writing unit locks them.

        Leads another unit holds (an enforcer in another process, an agent
        touching the lead) are skipped, not waited for: parallel enforcers
        share the due leads instead of queueing on the same rows.
        """
        if not writing(self):
            return super().response_due(at, limit)
        rows = self._conn.execute(
            f"{LEAD_SELECT} WHERE respond_by IS NOT NULL AND respond_by <= ?"
            " ORDER BY respond_by, id LIMIT ? FOR UPDATE SKIP LOCKED",
            (to_micros(at), limit),
        ).fetchall()
        return [lead_from_row(r) for r in rows]

    @translated
    def get(self, team_id: TeamId, lead_id: LeadId) -> Lead:
        """Return the lead (locked until commit in a writing unit) or raise ``NotFound``."""
        if not writing(self):
            return super().get(team_id, lead_id)
        row = self._conn.execute(
            f"{LEAD_SELECT} WHERE id = ? AND team_id = ? FOR UPDATE", (lead_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, lead_id)
        return lead_from_row(row)


class PGOffers(SQLiteOffers):
    """Offers; writing units lock the lead, then the offer; expiry skips locked leads."""

    @translated
    def get(self, team_id: TeamId, offer_id: OfferId) -> Offer:
        """Return the offer (its lead and it locked in a writing unit) or raise ``NotFound``."""
        if not writing(self):
            return super().get(team_id, offer_id)
        self._conn.execute(
            "SELECT 1 FROM leads WHERE id = (SELECT lead_id FROM offers"
            " WHERE id = ? AND team_id = ?) FOR UPDATE",
            (offer_id, team_id),
        ).fetchall()
        row = self._conn.execute(
            f"{OFFER_SELECT} WHERE id = ? AND team_id = ? FOR UPDATE", (offer_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, offer_id)
        return offer_from_row(row)

    @translated
    def due(self, at: datetime, limit: int) -> list[Offer]:
        """Return up to *limit* open offers due by *at*; a writing unit locks them and their leads.

        Offers whose lead (or which) another unit holds are skipped, not waited for.
        """
        if not writing(self):
            return super().due(at, limit)
        cols = OFFER_SELECT.removeprefix("SELECT ").removesuffix(" FROM offers")
        qualified = ", ".join(f"o.{c.strip()}" for c in cols.split(","))
        rows = self._conn.execute(
            f"SELECT {qualified} FROM offers o JOIN leads l ON l.id = o.lead_id"
            " WHERE o.status = 'open' AND o.expires_at <= ?"
            " ORDER BY o.expires_at, o.id LIMIT ? FOR UPDATE OF l, o SKIP LOCKED",
            (to_micros(at), limit),
        ).fetchall()
        return [offer_from_row(r) for r in rows]
