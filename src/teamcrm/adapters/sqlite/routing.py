"""SQLite tables and repositories for lead routing: pools, leads, offers, cursors, inbound buckets.

Plugged in with this package's extension points (a named migration and
registered repositories).  The database itself guards the routing races:

* a partial unique index allows one *open* lead per (team, pool, contact),
  so a contact can never become two open leads of one pool;
* the round-robin cursor is written with ``UPDATE ... WHERE version = ?``
  (or a first ``INSERT``), inside the unit's ``BEGIN IMMEDIATE`` transaction;
* offers and leads are updated with version checks, so two acceptances of
  one lead cannot both commit.

Migration ``0110_routing_more`` (weights, capacity, response windows,
dedupe switch, roles) adds pool and lead columns and three tables kept by
:class:`SQLiteLeads` in the same statement batch as the lead itself:
``lead_loads`` (open leads and last receipt per pool and member, read by
``least_loaded`` with one primary-key range per pool: ``SQLiteLeads.loads``),
``lead_receipts`` (which member received which lead when, for capacity: an
indexed range per member: ``SQLiteLeads.received``) and ``role_slots``
(``SQLiteLeadPools.role_slots``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from teamcrm.adapters.sql.codec import dumps, from_micros, loads, optional_micros, to_micros
from teamcrm.adapters.sql.dialect import Dialect, insert_ignoring
from teamcrm.adapters.sql.explanations import explanation_from_data
from teamcrm.adapters.sqlite.migrations import register_migration
from teamcrm.adapters.sqlite.repositories import (
    SQLiteRepository,
    _bucket,
    bucket_columns,
    translated,
)
from teamcrm.adapters.sqlite.store import register_repository
from teamcrm.bucket import Bucket
from teamcrm.converter import converter
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.followup import Cadence, CadenceUnit
from teamcrm.ids import PREFIXES, BucketId, ContactId, MemberId, TeamId
from teamcrm.lead import (
    InboundBucket,
    Lead,
    LeadEntries,
    LeadId,
    LeadStatus,
    Offer,
    OfferId,
    OfferStatus,
    RoleSlot,
    RoutingCursor,
)
from teamcrm.pool import Capacity, LeadPool, PoolId, parse_method
from teamcrm.routing import MemberLoad
from teamcrm.validation import FrozenDict, trusted

__all__ = [
    "LEAD_INSERT",
    "LEAD_SELECT",
    "OFFER_SELECT",
    "SQLiteInboundBuckets",
    "SQLiteLeadPools",
    "SQLiteLeads",
    "SQLiteOffers",
    "SQLiteRoutingCursors",
    "lead_from_row",
    "offer_from_row",
]

register_migration(
    "0100_routing",
    """CREATE TABLE lead_pools (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        source_bucket_ids TEXT NOT NULL,
        member_ids TEXT NOT NULL,
        method TEXT NOT NULL,
        active INTEGER NOT NULL,
        offer_window_us INTEGER NOT NULL,
        follow_up_count INTEGER,
        follow_up_unit TEXT,
        fallback_member_id TEXT,
        created_by TEXT,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX lead_pools_by_team ON lead_pools (team_id, created_at, id)",
    """CREATE TABLE leads (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        pool_key TEXT NOT NULL,
        status TEXT NOT NULL,
        is_open INTEGER NOT NULL,
        assignee_ids TEXT NOT NULL,
        assigned_at INTEGER,
        entry INTEGER NOT NULL,
        keys TEXT NOT NULL,
        declined_by TEXT NOT NULL,
        explanation TEXT,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    )""",
    """CREATE UNIQUE INDEX leads_one_open
        ON leads (team_id, pool_key, contact_id) WHERE is_open = 1""",
    "CREATE INDEX leads_by_team ON leads (team_id, created_at, id)",
    "CREATE INDEX leads_by_contact ON leads (team_id, contact_id, pool_key, entry)",
    """CREATE TABLE lead_keys (
        team_id TEXT NOT NULL,
        pool_key TEXT NOT NULL,
        key TEXT NOT NULL,
        lead_id TEXT NOT NULL,
        PRIMARY KEY (team_id, pool_key, key, lead_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX lead_keys_by_lead ON lead_keys (lead_id)",
    """CREATE TABLE offers (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        lead_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        settled_at INTEGER,
        offered_by TEXT,
        note TEXT,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX offers_by_lead ON offers (team_id, lead_id, created_at, id)",
    "CREATE INDEX offers_by_member ON offers (team_id, member_id, created_at, id)",
    "CREATE INDEX offers_open_by_expiry ON offers (expires_at, id) WHERE status = 'open'",
    """CREATE TABLE routing_cursors (
        team_id TEXT NOT NULL,
        pool_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (team_id, pool_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE inbound_buckets (
        team_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        bucket_id TEXT NOT NULL,
        PRIMARY KEY (team_id, member_id)
    ) WITHOUT ROWID""",
)

register_migration(
    "0110_routing_more",
    "ALTER TABLE lead_pools ADD COLUMN weights TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE lead_pools ADD COLUMN capacity TEXT",
    "ALTER TABLE lead_pools ADD COLUMN member_capacity TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE lead_pools ADD COLUMN response_window_us INTEGER",
    "ALTER TABLE lead_pools ADD COLUMN dedupe INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE leads ADD COLUMN role TEXT",
    "ALTER TABLE leads ADD COLUMN respond_by INTEGER",
    "CREATE INDEX leads_response_due ON leads (respond_by, id) WHERE respond_by IS NOT NULL",
    """CREATE TABLE lead_loads (
        team_id TEXT NOT NULL,
        pool_key TEXT NOT NULL,
        member_id TEXT NOT NULL,
        open_leads INTEGER NOT NULL,
        last_assigned_at INTEGER,
        PRIMARY KEY (team_id, pool_key, member_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE lead_receipts (
        team_id TEXT NOT NULL,
        pool_key TEXT NOT NULL,
        member_id TEXT NOT NULL,
        lead_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (team_id, pool_key, member_id, lead_id)
    ) WITHOUT ROWID""",
    """CREATE INDEX lead_receipts_by_time
        ON lead_receipts (team_id, pool_key, member_id, received_at)""",
    """CREATE TABLE role_slots (
        team_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT,
        PRIMARY KEY (team_id, name)
    ) WITHOUT ROWID""",
)


def _backfill_loads(conn: sqlite3.Connection) -> None:
    """Loads and receipts of the leads assigned before ``0110_routing_more``."""
    conn.execute(
        "INSERT OR IGNORE INTO lead_receipts (team_id, pool_key, member_id, lead_id, received_at)"
        " SELECT l.team_id, l.pool_key, j.value, l.id, l.assigned_at"
        " FROM leads l, json_each(l.assignee_ids) j"
        " WHERE l.status = 'assigned' AND l.assigned_at IS NOT NULL"
    )
    conn.execute(
        "INSERT OR IGNORE INTO lead_loads (team_id, pool_key, member_id, open_leads,"
        " last_assigned_at) SELECT team_id, pool_key, member_id, COUNT(*), MAX(received_at)"
        " FROM lead_receipts GROUP BY team_id, pool_key, member_id"
    )


#: SQLite only (a Python step); a PostgreSQL store registers its own version.
register_migration("0111_routing_loads_backfill", apply=_backfill_loads)

#: A new lead's owners gain it in ``lead_loads`` and ``lead_receipts`` inside
#: the lead's own ``INSERT`` (a trigger), instead of two more statements per
#: routed lead.  Changes of owners (``SQLiteLeads.update``) are still written
#: by the repository.  PostgreSQL registers its own version (a PL/pgSQL
#: trigger doing the same, ``adapters/postgres/schema.py``).
register_migration(
    "0112_lead_load_triggers",
    """CREATE TRIGGER lead_loads_on_insert AFTER INSERT ON leads
        WHEN json_array_length(NEW.assignee_ids) > 0
        BEGIN
            INSERT INTO lead_loads (team_id, pool_key, member_id, open_leads, last_assigned_at)
                SELECT NEW.team_id, NEW.pool_key, j.value, 1, NEW.assigned_at
                FROM json_each(NEW.assignee_ids) j WHERE true
                ON CONFLICT (team_id, pool_key, member_id) DO UPDATE SET
                    open_leads = lead_loads.open_leads + 1,
                    last_assigned_at = CASE WHEN lead_loads.last_assigned_at IS NULL
                        OR lead_loads.last_assigned_at < excluded.last_assigned_at
                        THEN excluded.last_assigned_at ELSE lead_loads.last_assigned_at END;
            INSERT OR IGNORE INTO lead_receipts
                (team_id, pool_key, member_id, lead_id, received_at)
                SELECT NEW.team_id, NEW.pool_key, j.value, NEW.id, NEW.assigned_at
                FROM json_each(NEW.assignee_ids) j WHERE NEW.assigned_at IS NOT NULL;
        END""",
)

_US = timedelta(microseconds=1)


# ---------------------------------------------------------------------- pools
_POOL_SELECT = (
    "SELECT id, team_id, name, created_at, source_bucket_ids, member_ids, method, active,"
    " offer_window_us, follow_up_count, follow_up_unit, fallback_member_id, created_by,"
    " version, weights, capacity, member_capacity, response_window_us, dedupe FROM lead_pools"
)


def _caps(data: Any) -> Capacity | None:
    if data is None:
        return None
    return trusted(Capacity, per_day=data["per_day"], per_30_days=data["per_30_days"])


def _cap_data(cap: Capacity | None) -> dict[str, int | None] | None:
    return None if cap is None else {"per_day": cap.per_day, "per_30_days": cap.per_30_days}


def _pool(row: Sequence[Any]) -> LeadPool:
    (pid, tid, name, created, sources, members, method, active, window, count, unit) = row[:11]
    fallback, by, version, weights, capacity, member_capacity, respond_us, dedupe = row[11:]
    # rows this module wrote from checked pools: rebuilt without checking again
    return trusted(
        LeadPool,
        id=pid,
        team_id=tid,
        name=name,
        created_at=from_micros(created),
        source_bucket_ids=tuple(loads(sources)),
        member_ids=tuple(loads(members)),
        method=parse_method("lead_pools.method", method),
        active=bool(active),
        offer_window=timedelta(microseconds=window),
        follow_up=None if count is None else Cadence(count=count, unit=CadenceUnit(unit)),
        fallback_member_id=fallback,
        created_by=by,
        weights=FrozenDict(loads(weights)),
        capacity=None if capacity is None else _caps(loads(capacity)),
        member_capacity=FrozenDict({k: _caps(v) for k, v in loads(member_capacity).items()}),
        response_window=None if respond_us is None else timedelta(microseconds=respond_us),
        dedupe=bool(dedupe),
        version=version,
    )


def _pool_values(p: LeadPool) -> dict[str, Any]:
    """The pool's columns but id, team and version, in ``SQLiteLeadPools.add``'s order."""
    return {
        "name": p.name,
        "created_at": to_micros(p.created_at),
        "source_bucket_ids": dumps(p.source_bucket_ids),
        "member_ids": dumps(p.member_ids),
        "method": p.method_name,
        "active": int(p.active),
        "offer_window_us": p.offer_window // _US,
        "follow_up_count": None if p.follow_up is None else p.follow_up.count,
        "follow_up_unit": None if p.follow_up is None else p.follow_up.unit.value,
        "fallback_member_id": p.fallback_member_id,
        "created_by": p.created_by,
        "weights": dumps(dict(p.weights)),
        "capacity": None if p.capacity is None else dumps(_cap_data(p.capacity)),
        "member_capacity": dumps({k: _cap_data(v) for k, v in p.member_capacity.items()}),
        "response_window_us": None if p.response_window is None else p.response_window // _US,
        "dedupe": int(p.dedupe),
    }


class SQLiteLeadPools(SQLiteRepository):
    """Lead pools; sources and members as JSON arrays (pools are few per team)."""

    kind = "lead pool"
    table = "lead_pools"

    @translated
    def get(self, team_id: TeamId, pool_id: PoolId) -> LeadPool:
        """Return the pool or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_POOL_SELECT} WHERE id = ? AND team_id = ?", (pool_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, pool_id)
        return _pool(row)

    @translated
    def add(self, pool: LeadPool) -> None:
        """Insert a new pool."""
        self._insert(
            pool.id,
            "INSERT INTO lead_pools (id, team_id, name, created_at, source_bucket_ids,"
            " member_ids, method, active, offer_window_us, follow_up_count, follow_up_unit,"
            " fallback_member_id, created_by, weights, capacity, member_capacity,"
            " response_window_us, dedupe, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (pool.id, pool.team_id, *_pool_values(pool).values(), pool.version),
        )

    @translated
    def update(self, pool: LeadPool) -> None:
        """Replace the stored pool whose version is ``pool.version - 1``."""
        self._update_versioned(pool.id, pool.team_id, pool.version, _pool_values(pool))

    @translated
    def delete(self, team_id: TeamId, pool_id: PoolId, version: int) -> None:
        """Delete the pool and its cursor if its stored version is *version*."""
        self._delete_versioned(team_id, pool_id, version)
        self._conn.execute(
            "DELETE FROM routing_cursors WHERE team_id = ? AND pool_id = ?", (team_id, pool_id)
        )

    @translated
    def all(self, team_id: TeamId) -> list[LeadPool]:
        """Return every pool of the team, ordered by ``created_at`` then id."""
        rows = self._conn.execute(
            f"{_POOL_SELECT} WHERE team_id = ? ORDER BY created_at, id", (team_id,)
        ).fetchall()
        return [_pool(r) for r in rows]

    def for_buckets(self, team_id: TeamId, bucket_ids: Iterable[BucketId]) -> list[LeadPool]:
        """Return the pools with any of *bucket_ids* as a source."""
        wanted = set(bucket_ids)
        return [p for p in self.all(team_id) if wanted.intersection(p.source_bucket_ids)]

    @translated
    def role_slots(self, team_id: TeamId) -> list[RoleSlot]:
        """Return the team's role slots by name."""
        rows = self._conn.execute(
            "SELECT name, created_at, created_by FROM role_slots WHERE team_id = ? ORDER BY name",
            (team_id,),
        ).fetchall()
        return [
            RoleSlot(team_id=team_id, name=n, created_at=from_micros(at), created_by=by)
            for n, at, by in rows
        ]

    @translated
    def add_role_slot(self, slot: RoleSlot) -> None:
        """Insert a role slot (``AlreadyExists`` if the name is taken)."""
        cur = self._conn.execute(
            insert_ignoring(self._dialect, "role_slots", "team_id, name, created_at, created_by"),
            (slot.team_id, slot.name, to_micros(slot.created_at), slot.created_by),
        )
        if cur.rowcount != 1:
            raise AlreadyExists("role slot", slot.name)

    @translated
    def delete_role_slot(self, team_id: TeamId, name: str) -> None:
        """Delete a role slot (``NotFound`` if none)."""
        cur = self._conn.execute(
            "DELETE FROM role_slots WHERE team_id = ? AND name = ?", (team_id, name)
        )
        if cur.rowcount != 1:
            raise NotFound("role slot", name)


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
        lead.status.value,
        int(lead.is_open),
        dumps(lead.assignee_ids),
        optional_micros(lead.assigned_at),
        dumps(lead.declined_by),
        None if lead.explanation is None else dumps(converter.unstructure(lead.explanation)),
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


class SQLiteLeads(SQLiteRepository):
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
        rows = [
            (
                ld.id,
                ld.team_id,
                ld.contact_id,
                _pool_key(ld),
                ld.entry,
                dumps(ld.keys),
                to_micros(ld.created_at),
                ld.role,
                *_lead_values(ld),
            )
            for ld in leads
        ]
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


# --------------------------------------------------------------------- offers
#: An offer's columns, as :func:`offer_from_row` reads them.
OFFER_SELECT = (
    "SELECT id, team_id, lead_id, member_id, created_at, expires_at, status, settled_at,"
    " offered_by, note, version FROM offers"
)


def offer_from_row(row: Sequence[Any]) -> Offer:
    """The offer an :data:`OFFER_SELECT` row holds."""
    oid, tid, lid, mid, created, expires, status, settled, by, note, version = row
    return trusted(
        Offer,
        id=oid,
        team_id=tid,
        lead_id=lid,
        member_id=mid,
        created_at=from_micros(created),
        expires_at=from_micros(expires),
        status=OfferStatus(status),
        settled_at=None if settled is None else from_micros(settled),
        offered_by=by,
        note=note,
        version=version,
    )


class SQLiteOffers(SQLiteRepository):
    """Offers; open ones are indexed by expiry for the expiry job."""

    kind = "offer"
    table = "offers"

    @translated
    def get(self, team_id: TeamId, offer_id: OfferId) -> Offer:
        """Return the offer or raise ``NotFound``."""
        row = self._conn.execute(
            f"{OFFER_SELECT} WHERE id = ? AND team_id = ?", (offer_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, offer_id)
        return offer_from_row(row)

    @translated
    def add_many(self, offers: Sequence[Offer]) -> None:
        """Insert new offers."""
        if not offers:
            return
        self._conn.execute("SAVEPOINT teamcrm_add_offers")
        try:
            self._insert_offers(offers)
        except BaseException:
            self._conn.execute("ROLLBACK TO teamcrm_add_offers")
            self._conn.execute("RELEASE teamcrm_add_offers")
            raise
        self._conn.execute("RELEASE teamcrm_add_offers")

    def _insert_offers(self, offers: Sequence[Offer]) -> None:
        try:
            self._conn.executemany(
                "INSERT INTO offers (id, team_id, lead_id, member_id, created_at, expires_at,"
                " status, settled_at, offered_by, note, version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        o.id,
                        o.team_id,
                        o.lead_id,
                        o.member_id,
                        to_micros(o.created_at),
                        to_micros(o.expires_at),
                        o.status.value,
                        optional_micros(o.settled_at),
                        o.offered_by,
                        o.note,
                        o.version,
                    )
                    for o in offers
                ],
            )
        except self._dialect.errors as exc:
            raise self._dialect.translate(exc, kind=self.kind, key=offers[0].id) from exc

    @translated
    def update(self, offer: Offer) -> None:
        """Replace the stored offer whose version is ``offer.version - 1``."""
        self._update_versioned(
            offer.id,
            offer.team_id,
            offer.version,
            {
                "status": offer.status.value,
                "settled_at": optional_micros(offer.settled_at),
                "expires_at": to_micros(offer.expires_at),
                "note": offer.note,
            },
        )

    @translated
    def for_lead(self, team_id: TeamId, lead_id: LeadId) -> list[Offer]:
        """Return the lead's offers by ``created_at`` then id."""
        rows = self._conn.execute(
            f"{OFFER_SELECT} WHERE team_id = ? AND lead_id = ? ORDER BY created_at, id",
            (team_id, lead_id),
        ).fetchall()
        return [offer_from_row(r) for r in rows]

    @translated
    def for_member(
        self, team_id: TeamId, member_id: MemberId, status: OfferStatus | None = None
    ) -> list[Offer]:
        """Return the member's offers (of one status if given) by ``created_at`` then id."""
        sql = f"{OFFER_SELECT} WHERE team_id = ? AND member_id = ?"
        params: list[Any] = [team_id, member_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(OfferStatus(status).value)
        rows = self._conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [offer_from_row(r) for r in rows]

    @translated
    def due(self, at: datetime, limit: int) -> list[Offer]:
        """Return up to *limit* open offers of any team with ``expires_at <= at``."""
        rows = self._conn.execute(
            f"{OFFER_SELECT} WHERE status = 'open' AND expires_at <= ?"
            " ORDER BY expires_at, id LIMIT ?",
            (to_micros(at), limit),
        ).fetchall()
        return [offer_from_row(r) for r in rows]


# -------------------------------------------------------------------- cursors
class SQLiteRoutingCursors(SQLiteRepository):
    """Round-robin cursors, written with a version check."""

    kind = "routing cursor"
    table = "routing_cursors"

    @translated
    def get(self, team_id: TeamId, pool_id: PoolId) -> RoutingCursor:
        """Return the stored cursor, or a version-0 cursor at position 0."""
        row = self._conn.execute(
            "SELECT position, version FROM routing_cursors WHERE team_id = ? AND pool_id = ?",
            (team_id, pool_id),
        ).fetchone()
        if row is None:
            return RoutingCursor(team_id=team_id, pool_id=pool_id)
        return RoutingCursor(team_id=team_id, pool_id=pool_id, position=row[0], version=row[1])

    @translated
    def put(self, cursor: RoutingCursor) -> None:
        """Store *cursor* if the stored version is ``cursor.version - 1``."""
        if cursor.version == 1:
            cur = self._conn.execute(
                insert_ignoring(
                    self._dialect,
                    "routing_cursors",
                    "team_id, pool_id, position, version",
                    "?, ?, ?, 1",
                ),
                (cursor.team_id, cursor.pool_id, cursor.position),
            )
        else:
            cur = self._conn.execute(
                "UPDATE routing_cursors SET position = ?, version = ?"
                " WHERE team_id = ? AND pool_id = ? AND version = ?",
                (
                    cursor.position,
                    cursor.version,
                    cursor.team_id,
                    cursor.pool_id,
                    cursor.version - 1,
                ),
            )
        if cur.rowcount != 1:
            raise ConcurrencyError(self.kind, cursor.pool_id, cursor.version - 1)


# ------------------------------------------------------------ inbound buckets
#: The member's inbound row with its bucket's columns (``bucket_columns``, then the row's).
@cache
def _inbound_with_bucket(d: Dialect) -> str:
    return (
        f"SELECT {bucket_columns(d)}, i.bucket_id\nFROM inbound_buckets i"
        " LEFT JOIN buckets b ON b.id = i.bucket_id AND b.team_id = i.team_id"
        " WHERE i.team_id = ? AND i.member_id = ?"
    )


class SQLiteInboundBuckets(SQLiteRepository):
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
        return InboundBucket(team_id=team_id, member_id=member_id, bucket_id=row[0])

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
        inbound = InboundBucket(team_id=team_id, member_id=member_id, bucket_id=row[-1])
        return inbound, None if row[0] is None else _bucket(row[:-1])

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


register_repository("lead_pools", SQLiteLeadPools)
register_repository("leads", SQLiteLeads)
register_repository("offers", SQLiteOffers)
register_repository("routing_cursors", SQLiteRoutingCursors)
register_repository("inbound_buckets", SQLiteInboundBuckets)
