"""Leads: entry into pools, ownership, loads and response windows (both SQL stores).

The database guards the routing races: a partial unique index keeps one
open lead per contact and pool, and ``member_loads`` counts each member's
open leads (see :mod:`teamcrm.adapters.sqlite.routing` for the tables).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import dumps, from_micros, loads, optional_micros, to_micros
from teamcrm.adapters.sql.dialect import Dialect, insert_ignoring
from teamcrm.adapters.sql.explanations import explanation_from_data, explanation_json
from teamcrm.errors import AlreadyExists, NotFound
from teamcrm.ids import PREFIXES, ContactId, MemberId, TeamId
from teamcrm.lead import (
    Lead,
    LeadEntries,
    LeadId,
    LeadStatus,
)
from teamcrm.pool import PoolId
from teamcrm.routing import MemberLoad
from teamcrm.validation import trusted

__all__ = ["LEAD_INSERT", "LEAD_SELECT", "SQLiteLeads", "lead_from_row", "lead_row"]


# ---------------------------------------------------------------------- leads
#: A lead's columns, as :func:`lead_from_row` reads them.
LEAD_SELECT = (
    "SELECT id, team_id, contact_id, pool_key, status, assignee_ids, assigned_at, entry,"
    " keys, declined_by, explanation, created_at, version, role, respond_by FROM leads"
)


def _pool_key(lead: Lead) -> str:
    """The ``pool_key`` column: the pool, ``role:<name>`` for a role lead, else ``""``."""
    if lead.role is not None:
        return "role:" + lead.role
    return lead.pool_id or ""


def lead_from_row(row: Sequence[Any]) -> Lead:
    """The lead a :data:`LEAD_SELECT` row holds."""
    lid, tid, cid, pool, status, assignees, assigned, entry, keys, declined = row[:10]
    explanation, created, version, role, respond_by = row[10:]
    return trusted(
        Lead,
        id=lid,
        team_id=tid,
        contact_id=cid,
        pool_id=pool if pool.startswith(PREFIXES["pool"]) else None,
        role=role,
        respond_by=None if respond_by is None else from_micros(respond_by),
        status=LeadStatus(status),
        assignee_ids=tuple(loads(assignees)),
        assigned_at=None if assigned is None else from_micros(assigned),
        entry=entry,
        keys=tuple(loads(keys)),
        declined_by=tuple(loads(declined)),
        explanation=(None if explanation is None else explanation_from_data(loads(explanation))),
        created_at=from_micros(created),
        version=version,
    )


def _lead_values(lead: Lead) -> tuple[Any, ...]:
    return (
        str(lead.status),  # (a StrEnum's value, without the enum's two calls)
        int(lead.is_open),
        dumps(lead.assignee_ids),
        optional_micros(lead.assigned_at),
        dumps(lead.declined_by) if lead.declined_by else "[]",
        None if lead.explanation is None else explanation_json(lead.explanation),
        optional_micros(lead.respond_by),
        lead.version,
    )


def _owners(lead: Lead) -> frozenset[str]:
    return frozenset(lead.assignee_ids)


def _load_rows(
    lead: Lead, before: frozenset[str], after: frozenset[str]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows to write when a lead's owners go from *before* to *after*.

    Returns (members losing it, members gaining it, receipts).
    """
    pool = _pool_key(lead)
    at = optional_micros(lead.assigned_at)
    lost = [(lead.team_id, pool, m) for m in before - after]
    gained = [(lead.team_id, pool, m, at, at) for m in after - before]
    receipts = [(lead.team_id, pool, m, lead.id, at) for m in after - before if at is not None]
    return lost, gained, receipts


#: The columns of a new lead row, in the order ``_insert_leads`` builds them.
_LEAD_INSERT_COLUMNS = (
    "id",
    "team_id",
    "contact_id",
    "pool_key",
    "entry",
    "keys",
    "created_at",
    "role",
    "status",
    "is_open",
    "assignee_ids",
    "assigned_at",
    "declined_by",
    "explanation",
    "respond_by",
    "version",
)


def lead_row(ld: Lead) -> tuple[Any, ...]:
    """The lead's row for :data:`LEAD_INSERT` (its ``pool_key`` fourth)."""
    return (
        ld.id,
        ld.team_id,
        ld.contact_id,
        _pool_key(ld),
        ld.entry,
        dumps(ld.keys) if ld.keys else "[]",
        to_micros(ld.created_at),
        ld.role,
        *_lead_values(ld),
    )


#: Inserts one lead row (columns in ``_LEAD_INSERT_COLUMNS`` order).
LEAD_INSERT = (
    f"INSERT INTO leads ({', '.join(_LEAD_INSERT_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in _LEAD_INSERT_COLUMNS)})"
)


_LEAD_INSERT_ONE = f"{LEAD_INSERT} ON CONFLICT DO NOTHING"


#: SQLite only (a JSON array unpacked by ``json_each``): ``PGLeads`` inserts a
#: batch with one pipelined ``executemany`` instead.
_LEAD_INSERT_BATCH = (
    f"INSERT INTO leads ({', '.join(_LEAD_INSERT_COLUMNS)}) SELECT "
    + ", ".join(f"j.value ->> {n}" for n in range(len(_LEAD_INSERT_COLUMNS)))
    + " FROM json_each(?) j"
)


@cache
def _open_leads_of_contacts(d: Dialect) -> str:
    return (
        f"{LEAD_SELECT} WHERE team_id = ? AND pool_key = ? AND is_open = 1"
        f" AND {d.ids_in('contact_id')}"
    )


@cache
def _open_leads_with_keys(d: Dialect) -> str:
    return (
        f"{LEAD_SELECT} WHERE id IN (SELECT lead_id FROM lead_keys WHERE team_id = ?"
        f" AND pool_key = ? AND {d.ids_in('key')})"
        " AND is_open = 1 ORDER BY created_at, id"
    )


@cache
def _entries(d: Dialect) -> str:
    return (
        "SELECT contact_id, MAX(entry) FROM leads WHERE team_id = ? AND pool_key = ?"
        f" AND {d.ids_in('contact_id')} GROUP BY contact_id"
    )


@cache
def _entry_states(d: Dialect) -> str:
    return (
        "SELECT contact_id, MAX(entry), MAX(is_open) FROM leads"
        " WHERE team_id = ? AND pool_key = ?"
        f" AND {d.ids_in('contact_id')} GROUP BY contact_id"
    )


class SQLiteLeads(SQLRepository):
    """Leads; a partial unique index keeps one open lead per (team, pool, contact)."""

    kind = "lead"
    table = "leads"
    #: True: the database's trigger keeps a new lead's loads and receipts
    #: (migration ``0112_lead_load_triggers``); a subclass for a database
    #: without it sets False and the repository writes them.
    loads_by_trigger = True

    @translated
    def get(self, team_id: TeamId, lead_id: LeadId) -> Lead:
        """Return the lead or raise ``NotFound``."""
        row = self._conn.execute(
            f"{LEAD_SELECT} WHERE id = ? AND team_id = ?", (lead_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, lead_id)
        return lead_from_row(row)

    @translated
    def add_many(self, leads: Sequence[Lead]) -> None:
        """Insert new leads (all or none: the unit's transaction)."""
        if not leads:
            return
        if len(leads) == 1:
            # Only the lead row can be refused, and it is refused without an
            # error (see _insert_lead_rows): no savepoint needed.
            self._insert_leads(leads)
            return
        # A savepoint makes the batch all-or-nothing even when the caller
        # catches AlreadyExists and commits the rest of its unit.
        self._conn.execute("SAVEPOINT teamcrm_add_leads")
        try:
            self._insert_leads(leads)
        except BaseException:
            self._conn.execute("ROLLBACK TO teamcrm_add_leads")
            self._conn.execute("RELEASE teamcrm_add_leads")
            raise
        self._conn.execute("RELEASE teamcrm_add_leads")

    def _insert_leads(self, leads: Sequence[Lead]) -> None:
        rows = [lead_row(ld) for ld in leads]
        try:
            self._insert_lead_rows(rows)
        except self._dialect.errors as exc:
            raise self._dialect.translate(exc, kind=self.kind, key=leads[0].id) from exc
        keys = [
            (ld.team_id, _pool_key(ld), key, ld.id) for ld in leads if ld.is_open for key in ld.keys
        ]
        if keys:
            self._conn.executemany(
                insert_ignoring(self._dialect, "lead_keys", "team_id, pool_key, key, lead_id"),
                keys,
            )
        if self.loads_by_trigger:
            return  # migration 0112_lead_load_triggers writes the owners' loads and receipts
        none: frozenset[str] = frozenset()
        gained: list[tuple[Any, ...]] = []
        receipts: list[tuple[Any, ...]] = []
        for ld in leads:
            if ld.assignee_ids:
                _, g, r = _load_rows(ld, none, _owners(ld))
                gained.extend(g)
                receipts.extend(r)
        self._write_loads([], gained, receipts)

    def _insert_lead_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert lead rows (in ``_LEAD_INSERT_COLUMNS`` order).

        One row is one ``INSERT ... ON CONFLICT DO NOTHING``: a taken id, or a
        second open lead of the contact in the pool, raises ``AlreadyExists``
        with the transaction still usable on every dialect (PostgreSQL aborts
        a transaction on a failed statement), so a single lead needs no
        savepoint.  A batch is one ``INSERT ... SELECT`` over a JSON array,
        inside ``add_many``'s savepoint; there a statement per row would cost
        more for every row already written (each row's ``lead_grid`` trigger
        journals its pages for the savepoint; figures in docs/benchmarks.md).
        """
        if len(rows) == 1:
            if self._conn.execute(_LEAD_INSERT_ONE, rows[0]).rowcount != 1:
                raise AlreadyExists(self.kind, rows[0][0])
            return
        self._conn.execute(_LEAD_INSERT_BATCH, (dumps(rows),))

    def _write_loads(
        self,
        lost: list[tuple[Any, ...]],
        gained: list[tuple[Any, ...]],
        receipts: list[tuple[Any, ...]],
    ) -> None:
        if lost:
            self._conn.executemany(
                "UPDATE lead_loads"
                " SET open_leads = CASE WHEN open_leads > 0 THEN open_leads - 1 ELSE 0 END"
                " WHERE team_id = ? AND pool_key = ? AND member_id = ?",
                lost,
            )
        if gained:
            self._conn.executemany(
                "INSERT INTO lead_loads (team_id, pool_key, member_id, open_leads,"
                " last_assigned_at) VALUES (?, ?, ?, 1, ?)"
                " ON CONFLICT (team_id, pool_key, member_id) DO UPDATE SET"
                " open_leads = lead_loads.open_leads + 1,"
                " last_assigned_at = CASE WHEN lead_loads.last_assigned_at IS NULL"
                " OR lead_loads.last_assigned_at < excluded.last_assigned_at"
                " THEN excluded.last_assigned_at ELSE lead_loads.last_assigned_at END",
                [(t, p, m, at) for t, p, m, at, _ in gained],
            )
        if receipts:
            self._conn.executemany(
                insert_ignoring(
                    self._dialect,
                    "lead_receipts",
                    "team_id, pool_key, member_id, lead_id, received_at",
                ),
                receipts,
            )

    @translated
    def update(self, lead: Lead) -> None:
        """Replace the stored lead whose version is ``lead.version - 1``."""
        old = self._conn.execute(
            "SELECT status, assignee_ids FROM leads WHERE id = ? AND team_id = ? AND version = ?",
            (lead.id, lead.team_id, lead.version - 1),
        ).fetchone()
        if old is None:
            self._version_failed(lead.id, lead.team_id, lead.version - 1)
        cur = self._conn.execute(
            "UPDATE leads SET status = ?, is_open = ?, assignee_ids = ?, assigned_at = ?,"
            " declined_by = ?, explanation = ?, respond_by = ?, version = ?"
            " WHERE id = ? AND team_id = ? AND version = ?",
            (*_lead_values(lead), lead.id, lead.team_id, lead.version - 1),
        )
        if cur.rowcount != 1:  # pragma: no cover - read under the same transaction
            self._version_failed(lead.id, lead.team_id, lead.version - 1)
        if not lead.is_open:
            self._conn.execute("DELETE FROM lead_keys WHERE lead_id = ?", (lead.id,))
        before = frozenset(loads(old[1])) if old[0] == LeadStatus.ASSIGNED.value else frozenset()
        after = _owners(lead)
        if before != after:
            self._write_loads(*_load_rows(lead, before, after))

    @translated
    def loads(
        self, team_id: TeamId, pool_id: PoolId, member_ids: Iterable[MemberId]
    ) -> dict[str, MemberLoad]:
        """Return each member's load in the pool (one primary-key range of the pool)."""
        wanted = set(member_ids)
        rows = self._conn.execute(
            "SELECT member_id, open_leads, last_assigned_at FROM lead_loads"
            " WHERE team_id = ? AND pool_key = ?",
            (team_id, pool_id),
        ).fetchall()
        return {
            str(m): MemberLoad(
                open_leads=int(n), last_assigned_at=None if at is None else from_micros(at)
            )
            for m, n, at in rows
            if m in wanted
        }

    @translated
    def received(
        self, team_id: TeamId, pool_id: PoolId, member_id: MemberId, since: datetime
    ) -> list[datetime]:
        """Return when the member received each lead of the pool since *since* (indexed)."""
        rows = self._conn.execute(
            "SELECT received_at FROM lead_receipts WHERE team_id = ? AND pool_key = ?"
            " AND member_id = ? AND received_at >= ? ORDER BY received_at",
            (team_id, pool_id, member_id, to_micros(since)),
        ).fetchall()
        return [from_micros(r[0]) for r in rows]

    @translated
    def owned(self, team_id: TeamId, member_id: MemberId, pool_ids: Iterable[PoolId]) -> list[Lead]:
        """Return the member's assigned leads of the pools, by id.

        The member's receipts (one primary-key range per pool) name every lead
        the member ever got there; the lead rows say who owns them now.
        """
        pools = list(dict.fromkeys(pool_ids))
        if not pools:
            return []
        cols = LEAD_SELECT.removeprefix("SELECT ").removesuffix(" FROM leads")
        qualified = ", ".join(f"l.{c.strip()}" for c in cols.split(","))
        rows = self._conn.execute(
            f"SELECT {qualified} FROM lead_receipts r JOIN leads l ON l.id = r.lead_id"
            " WHERE r.team_id = ? AND r.member_id = ?"
            f" AND {self._dialect.ids_in('r.pool_key')}"
            " AND l.status = 'assigned' ORDER BY l.id",
            (team_id, member_id, dumps(pools)),
        ).fetchall()
        return [ld for ld in (lead_from_row(r) for r in rows) if member_id in ld.assignee_ids]

    @translated
    def response_due(self, at: datetime, limit: int) -> list[Lead]:
        """Return up to *limit* leads of any team with ``respond_by <= at``, oldest first."""
        rows = self._conn.execute(
            f"{LEAD_SELECT} WHERE respond_by IS NOT NULL AND respond_by <= ?"
            " ORDER BY respond_by, id LIMIT ?",
            (to_micros(at), limit),
        ).fetchall()
        return [lead_from_row(r) for r in rows]

    @translated
    def all(
        self, team_id: TeamId, *, pool_id: PoolId | None = None, status: LeadStatus | None = None
    ) -> list[Lead]:
        """Return the team's leads (of one pool / status if given) by ``created_at`` then id."""
        sql = f"{LEAD_SELECT} WHERE team_id = ?"
        params: list[Any] = [team_id]
        if pool_id is not None:
            sql += " AND pool_key = ?"
            params.append(pool_id)
        if status is not None:
            sql += " AND status = ?"
            params.append(LeadStatus(status).value)
        rows = self._conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [lead_from_row(r) for r in rows]

    @translated
    def page(
        self,
        team_id: TeamId,
        *,
        pool_id: PoolId | None = None,
        status: LeadStatus | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[Lead]:
        """Up to *limit* of :meth:`all` after *after* (``created_at``, id): one index range."""
        sql = f"{LEAD_SELECT} WHERE team_id = ?"
        params: list[Any] = [team_id]
        if pool_id is not None:
            sql += " AND pool_key = ?"
            params.append(pool_id)
        if status is not None:
            sql += " AND status = ?"
            params.append(LeadStatus(status).value)
        if after is not None:
            sql += " AND (created_at > ? OR (created_at = ? AND id > ?))"
            at = to_micros(after[0])
            params += [at, at, after[1]]
        rows = self._conn.execute(sql + " ORDER BY created_at, id LIMIT ?", (*params, limit))
        return [lead_from_row(r) for r in rows.fetchall()]

    @translated
    def for_contact(self, team_id: TeamId, contact_id: ContactId) -> list[Lead]:
        """Return every lead of a contact, by ``created_at`` then id."""
        rows = self._conn.execute(
            f"{LEAD_SELECT} WHERE team_id = ? AND contact_id = ? ORDER BY created_at, id",
            (team_id, contact_id),
        ).fetchall()
        return [lead_from_row(r) for r in rows]

    @translated
    def open_for_contacts(
        self, team_id: TeamId, pool_id: PoolId | None, contact_ids: Iterable[ContactId]
    ) -> list[Lead]:
        """Return the open leads of the pool of these contacts."""
        ids = list(dict.fromkeys(contact_ids))
        if not ids:
            return []
        rows = self._conn.execute(
            _open_leads_of_contacts(self._dialect),
            (team_id, pool_id or "", dumps(ids)),
        ).fetchall()
        order = {cid: i for i, cid in enumerate(ids)}
        return sorted((lead_from_row(r) for r in rows), key=lambda ld: order[ld.contact_id])

    @translated
    def move_contact(
        self, team_id: TeamId, from_ids: Sequence[ContactId], to_id: ContactId
    ) -> None:
        """Give every lead of *from_ids* to *to_id*, each version +1 (see the port).

        The unique index of open leads refuses a second open lead of *to_id*
        in one pool; the grid's triggers move its rows.
        """
        self._conn.execute(
            "UPDATE leads SET contact_id = ?, version = version + 1 WHERE team_id = ?"
            f" AND {self._dialect.ids_in('contact_id')}",
            (to_id, team_id, dumps(list(dict.fromkeys(from_ids)))),
        )

    @translated
    def open_with_keys(self, team_id: TeamId, pool_id: PoolId, keys: Iterable[str]) -> list[Lead]:
        """Return the open leads of the pool having any of *keys*."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        rows = self._conn.execute(
            _open_leads_with_keys(self._dialect),
            (team_id, pool_id, dumps(wanted)),
        ).fetchall()
        return [lead_from_row(r) for r in rows]

    @translated
    def entries(
        self, team_id: TeamId, pool_id: PoolId | None, contact_ids: Iterable[ContactId]
    ) -> dict[str, int]:
        """Return the highest entry number of each contact's leads in the pool."""
        ids = list(dict.fromkeys(contact_ids))
        if not ids:
            return {}
        rows = self._conn.execute(
            _entries(self._dialect),
            (team_id, pool_id or "", dumps(ids)),
        ).fetchall()
        return {str(cid): int(entry) for cid, entry in rows}

    @translated
    def entry_states(
        self, team_id: TeamId, pool_id: PoolId, contact_ids: Iterable[ContactId]
    ) -> dict[str, LeadEntries]:
        """Return each contact's highest entry in the pool and whether a lead is open (one read)."""
        ids = list(dict.fromkeys(contact_ids))
        if not ids:
            return {}
        rows = self._conn.execute(
            _entry_states(self._dialect),
            (team_id, pool_id, dumps(ids)),
        ).fetchall()
        return {
            str(cid): LeadEntries(last_entry=int(entry), has_open=bool(is_open))
            for cid, entry, is_open in rows
        }
