"""Lead pools, leads, offers, cursors, inbound buckets and intake keys in memory"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from teamcrm.adapters.memory.tables import MemoryTables, _Log, _Table, _Versioned
from teamcrm.bucket import Bucket
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.ids import BucketId, ContactId, MemberId, TeamId
from teamcrm.lead import (
    OPEN_STATUSES,
    InboundBucket,
    IntakeRecord,
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
from teamcrm.pool import LeadPool, PoolId
from teamcrm.routing import MemberLoad


# ------------------------------------------------------------------ lead routing
class _LeadPools(_Versioned[LeadPool]):
    kind = "lead pool"

    def __init__(
        self,
        table: _Table[str, LeadPool],
        cursors: _Table[tuple[str, str], RoutingCursor],
        slots: _Table[tuple[str, str], RoleSlot],
    ) -> None:
        super().__init__(table)
        self._cursors = cursors
        self._slots = slots

    def role_slots(self, team_id: TeamId) -> list[RoleSlot]:
        rows = [r for r in self._slots.values() if r.team_id == team_id]
        return sorted(rows, key=lambda r: r.name)

    def add_role_slot(self, slot: RoleSlot) -> None:
        if (slot.team_id, slot.name) in self._slots:
            raise AlreadyExists("role slot", slot.name)
        self._slots.put((slot.team_id, slot.name), slot)

    def delete_role_slot(self, team_id: TeamId, name: str) -> None:
        if self._slots.pop((team_id, name)) is None:
            raise NotFound("role slot", name)

    def get(self, team_id: TeamId, pool_id: PoolId) -> LeadPool:
        return self._get(team_id, pool_id)

    def add(self, pool: LeadPool) -> None:
        self._add(pool)

    def update(self, pool: LeadPool) -> None:
        self._update(pool)

    def delete(self, team_id: TeamId, pool_id: PoolId, version: int) -> None:
        self._delete(team_id, pool_id, version)
        self._cursors.pop((team_id, pool_id))

    def all(self, team_id: TeamId) -> list[LeadPool]:
        return self._all(team_id)

    def for_buckets(self, team_id: TeamId, bucket_ids: Iterable[BucketId]) -> list[LeadPool]:
        wanted = set(bucket_ids)
        return [p for p in self._all(team_id) if wanted.intersection(p.source_bucket_ids)]


class _Leads(_Versioned[Lead]):
    """Leads with three journalled indexes: open lead by contact, by key, last entry."""

    kind = "lead"

    def __init__(
        self,
        table: _Table[str, Lead],
        open_by_contact: _Table[tuple[str, str, str], str],
        open_by_key: _Table[tuple[str, str, str], str],
        entries: _Table[tuple[str, str, str], int],
        loads: _Table[tuple[str, str, str], MemberLoad],
        receipts: _Table[tuple[str, str, str, str], datetime],
        received: _Log[tuple[str, str, str]],
        response_due: _Table[str, datetime],
    ) -> None:
        super().__init__(table)
        self._open = open_by_contact
        self._keys = open_by_key
        self._entries = entries
        self._loads = loads
        self._receipts = receipts
        self._received = received
        self._response_due = response_due

    def _reindex(self, lead: Lead, old: Lead) -> None:
        """Keep the indexes of an updated lead in step: loads, receipts, open lead, due times.

        (A new lead is indexed by :meth:`add_many`, a batch at a time.)
        """
        pool = _pool_key(lead)
        if old.assignee_ids == lead.assignee_ids:
            before = after = set()
        else:
            before, after = set(old.assignee_ids), set(lead.assignee_ids)
        for member_id in before - after:
            key = (lead.team_id, pool, member_id)
            load = self._loads.get(key) or MemberLoad()
            self._loads.put(key, attrs.evolve(load, open_leads=max(0, load.open_leads - 1)))
        for member_id in after - before:
            key = (lead.team_id, pool, member_id)
            at = lead.assigned_at
            load = self._loads.get(key) or MemberLoad()
            last = load.last_assigned_at
            if at is not None and (last is None or at > last):
                last = at
            self._loads.put(key, MemberLoad(open_leads=load.open_leads + 1, last_assigned_at=last))
            receipt = (*key, lead.id)
            if at is not None and receipt not in self._receipts:
                self._receipts.put(receipt, at)
                self._received.append(key, at)
        if lead.respond_by is not None:
            if old.respond_by != lead.respond_by:
                self._response_due.put(lead.id, lead.respond_by)
        elif old.respond_by is not None:
            self._response_due.pop(lead.id)
        if old.is_open and not lead.is_open:
            if self._open.get((lead.team_id, pool, lead.contact_id)) == lead.id:
                self._open.pop((lead.team_id, pool, lead.contact_id))
            for dedupe_key in old.keys:
                if self._keys.get((lead.team_id, pool, dedupe_key)) == lead.id:
                    self._keys.pop((lead.team_id, pool, dedupe_key))

    def get(self, team_id: TeamId, lead_id: LeadId) -> Lead:
        return self._get(team_id, lead_id)

    def add_many(self, leads: Sequence[Lead]) -> None:
        new: dict[str, Lead] = {lead.id: lead for lead in leads}
        if len(new) != len(leads) or not self._t.rows.keys().isdisjoint(new):
            seen: set[str] = set()
            for lead in leads:
                if lead.id in self._t or lead.id in seen:
                    raise AlreadyExists(self.kind, lead.id)
                seen.add(lead.id)
        gained: dict[tuple[str, str, str], list[datetime]] = {}
        self._t.insert_new(new)  # ids checked new above
        got: dict[tuple[str, str, str, str], datetime] = {}  # new receipts (new leads)
        # The index rows, written once for the batch (a routed add makes
        # 10,000 leads: look-ups and stores per lead, not calls).
        opened: dict[tuple[str, str, str], str] = {}
        keyed: dict[tuple[str, str, str], str] = {}
        entries: dict[tuple[str, str, str], int] = {}
        stored = self._entries.rows
        for lead in leads:  # index the new leads (updates: _reindex)
            team, at, assignees = lead.team_id, lead.assigned_at, lead.assignee_ids
            pool = ("role:" + lead.role) if lead.role is not None else lead.pool_id or ""
            for member_id in dict.fromkeys(assignees) if assignees else ():
                slot = (team, pool, member_id)
                if at is not None:
                    if slot in gained:
                        gained[slot].append(at)
                    else:
                        gained[slot] = [at]
                    got[(team, pool, member_id, lead.id)] = at
                else:  # owners without an assignment time (not made by routing)
                    load = self._loads.get(slot) or MemberLoad()
                    self._loads.put(slot, attrs.evolve(load, open_leads=load.open_leads + 1))
            if lead.respond_by is not None:
                self._response_due.put(lead.id, lead.respond_by)
            where = (team, pool, lead.contact_id)
            if lead.status in OPEN_STATUSES:  # lead.is_open, without its call
                opened[where] = lead.id
                for k in lead.keys:
                    keyed[(team, pool, k)] = lead.id
            # (look-ups, not ``get`` calls)
            known = entries[where] if where in entries else stored[where] if where in stored else 0  # noqa: SIM401
            if lead.entry > known:
                entries[where] = lead.entry
        self._open.put_many(opened)
        self._keys.put_many(keyed)
        self._entries.put_many(entries)
        self._receipts.insert_new(got)
        for key, times in gained.items():  # one load and log write per (pool, member) per batch
            self._received.extend(key, times)
            load = self._loads.get(key) or MemberLoad()
            last = (
                max(times) if load.last_assigned_at is None else max(*times, load.last_assigned_at)
            )
            self._loads.put(
                key, MemberLoad(open_leads=load.open_leads + len(times), last_assigned_at=last)
            )

    def update(self, lead: Lead) -> None:
        old = self._t.get(lead.id)
        self._update(lead)  # NotFound / ConcurrencyError unless *old* is the previous version
        assert old is not None
        self._reindex(lead, old)

    def all(
        self, team_id: TeamId, *, pool_id: PoolId | None = None, status: LeadStatus | None = None
    ) -> list[Lead]:
        return [
            lead
            for lead in self._all(team_id)
            if (pool_id is None or lead.pool_id == pool_id)
            and (status is None or lead.status is status)
        ]

    def page(
        self,
        team_id: TeamId,
        *,
        pool_id: PoolId | None = None,
        status: LeadStatus | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[Lead]:
        rows = self.all(team_id, pool_id=pool_id, status=status)
        if after is not None:
            rows = [lead for lead in rows if (lead.created_at, lead.id) > after]
        return rows[:limit]

    def for_contact(self, team_id: TeamId, contact_id: ContactId) -> list[Lead]:
        return [lead for lead in self._all(team_id) if lead.contact_id == contact_id]

    def open_for_contacts(
        self, team_id: TeamId, pool_id: PoolId | None, contact_ids: Iterable[ContactId]
    ) -> list[Lead]:
        out = []
        for cid in dict.fromkeys(contact_ids):
            lead_id = self._open.get((team_id, pool_id or "", cid))
            if lead_id is not None:
                out.append(self._get(team_id, lead_id))
        return out

    def move_contact(
        self, team_id: TeamId, from_ids: Sequence[ContactId], to_id: ContactId
    ) -> None:
        gone = set(from_ids)
        moving = [ld for ld in self._all(team_id) if ld.contact_id in gone]
        for lead in moving:
            if lead.is_open:
                taken = self._open.get((team_id, _pool_key(lead), to_id))
                if taken is not None and taken != lead.id:
                    raise AlreadyExists("open lead", f"{_pool_key(lead) or 'no pool'}/{to_id}")
            where = (team_id, _pool_key(lead), lead.contact_id)
            moved = attrs.evolve(lead, contact_id=to_id, version=lead.version + 1)
            self._t.put(lead.id, moved)
            target = (team_id, _pool_key(lead), to_id)
            if lead.is_open:
                if self._open.get(where) == lead.id:
                    self._open.pop(where)
                self._open.put(target, lead.id)
            if lead.entry > (self._entries.get(target) or 0):
                self._entries.put(target, lead.entry)
        for lead in moving:  # the merged-away contacts have no entries left
            self._entries.pop((team_id, _pool_key(lead), lead.contact_id))

    def open_with_keys(self, team_id: TeamId, pool_id: PoolId, keys: Iterable[str]) -> list[Lead]:
        found: dict[str, None] = {}
        for key in keys:
            lead_id = self._keys.get((team_id, pool_id, key))
            if lead_id is not None:
                found[lead_id] = None
        return [self._get(team_id, LeadId(lead_id)) for lead_id in found]

    def entries(
        self, team_id: TeamId, pool_id: PoolId | None, contact_ids: Iterable[ContactId]
    ) -> dict[str, int]:
        out: dict[str, int] = {}
        for cid in contact_ids:
            entry = self._entries.get((team_id, pool_id or "", cid))
            if entry is not None:
                out[cid] = entry
        return out

    def entry_states(
        self, team_id: TeamId, pool_id: PoolId, contact_ids: Iterable[ContactId]
    ) -> dict[str, LeadEntries]:
        out: dict[str, LeadEntries] = {}
        entries, opened = self._entries.rows, self._open.rows  # look-ups, no call per contact
        for cid in contact_ids:
            key = (team_id, pool_id, cid)
            if key in entries:
                out[cid] = LeadEntries(last_entry=entries[key], has_open=key in opened)
        return out

    def loads(
        self, team_id: TeamId, pool_id: PoolId, member_ids: Iterable[MemberId]
    ) -> dict[str, MemberLoad]:
        out: dict[str, MemberLoad] = {}
        for member_id in member_ids:
            load = self._loads.get((team_id, pool_id, member_id))
            if load is not None:
                out[member_id] = load
        return out

    def received(
        self, team_id: TeamId, pool_id: PoolId, member_id: MemberId, since: datetime
    ) -> list[datetime]:
        rows = self._received.get((team_id, pool_id, member_id)) or []
        return sorted(at for at in rows if at >= since)

    def owned(self, team_id: TeamId, member_id: MemberId, pool_ids: Iterable[PoolId]) -> list[Lead]:
        pools = set(pool_ids)
        found = [
            lead
            for lead in self._all(team_id)
            if lead.pool_id in pools
            and lead.role is None
            and lead.status is LeadStatus.ASSIGNED
            and member_id in lead.assignee_ids
        ]
        return sorted(found, key=lambda lead: lead.id)

    def response_due(self, at: datetime, limit: int) -> list[Lead]:
        due = sorted((t, i) for i, t in self._response_due.rows.items() if t <= at)
        out = []
        for _, lead_id in due[:limit]:
            lead = self._t.get(lead_id)
            if lead is not None:
                out.append(lead)
        return out


def _pool_key(lead: Lead) -> str:
    """Where a lead is indexed: its pool, ``role:<name>`` for a role lead, else ``""``."""
    if lead.role is not None:
        return "role:" + lead.role
    return lead.pool_id or ""


class _Offers(_Versioned[Offer]):
    kind = "offer"

    def __init__(self, table: _Table[str, Offer], by_lead: _Table[str, tuple[str, ...]]) -> None:
        super().__init__(table)
        self._by_lead = by_lead

    def get(self, team_id: TeamId, offer_id: OfferId) -> Offer:
        return self._get(team_id, offer_id)

    def add_many(self, offers: Sequence[Offer]) -> None:
        seen: set[str] = set()
        for offer in offers:
            if offer.id in self._t or offer.id in seen:
                raise AlreadyExists(self.kind, offer.id)
            seen.add(offer.id)
        for offer in offers:
            self._t.put(offer.id, offer)
            self._by_lead.put(offer.lead_id, (*(self._by_lead.get(offer.lead_id) or ()), offer.id))

    def update(self, offer: Offer) -> None:
        self._update(offer)

    def for_lead(self, team_id: TeamId, lead_id: LeadId) -> list[Offer]:
        rows = [self._t.get(i) for i in self._by_lead.get(lead_id) or ()]
        found = [o for o in rows if o is not None and o.team_id == team_id]
        return sorted(found, key=lambda o: (o.created_at, o.id))

    def for_member(
        self, team_id: TeamId, member_id: MemberId, status: OfferStatus | None = None
    ) -> list[Offer]:
        return [
            o
            for o in self._all(team_id)
            if o.member_id == member_id and (status is None or o.status is status)
        ]

    def due(self, at: datetime, limit: int) -> list[Offer]:
        rows = [o for o in self._t.values() if o.is_open and o.expires_at <= at]
        rows.sort(key=lambda o: (o.expires_at, o.id))
        return rows[:limit]


class _RoutingCursors:
    def __init__(self, table: _Table[tuple[str, str], RoutingCursor]) -> None:
        self._t = table

    def get(self, team_id: TeamId, pool_id: PoolId) -> RoutingCursor:
        row = self._t.get((team_id, pool_id))
        if row is None:
            return RoutingCursor(team_id=team_id, pool_id=pool_id)
        return row

    def put(self, cursor: RoutingCursor) -> None:
        stored = self.get(cursor.team_id, cursor.pool_id)
        if stored.version != cursor.version - 1:
            raise ConcurrencyError("routing cursor", cursor.pool_id, cursor.version - 1)
        self._t.put((cursor.team_id, cursor.pool_id), cursor)


class _InboundBuckets:
    def __init__(
        self, table: _Table[tuple[str, str], InboundBucket], buckets: _Table[str, Bucket]
    ) -> None:
        self._t = table
        self._buckets = buckets

    def get(self, team_id: TeamId, member_id: MemberId) -> InboundBucket | None:
        return self._t.get((team_id, member_id))

    def get_with_bucket(
        self, team_id: TeamId, member_id: MemberId
    ) -> tuple[InboundBucket | None, Bucket | None]:
        row = self._t.get((team_id, member_id))
        if row is None:
            return None, None
        bucket = self._buckets.get(row.bucket_id)
        return row, bucket if bucket is not None and bucket.team_id == team_id else None

    def put(self, row: InboundBucket) -> None:
        self._t.put((row.team_id, row.member_id), row)

    def claim(self, row: InboundBucket) -> InboundBucket:
        stored = self._t.get((row.team_id, row.member_id))
        if stored is not None:
            return stored
        self._t.put((row.team_id, row.member_id), row)
        return row


class _Intake:
    def __init__(self, table: _Table[tuple[str, str], IntakeRecord]) -> None:
        self._t = table

    def get(self, team_id: TeamId, key: str) -> IntakeRecord | None:
        return self._t.get((team_id, key))

    def add(self, record: IntakeRecord) -> None:
        if (record.team_id, record.key) in self._t:
            raise AlreadyExists("intake key", record.key)
        self._t.put((record.team_id, record.key), record)

    def all(self, team_id: TeamId) -> list[IntakeRecord]:
        return sorted((r for r in self._t.values() if r.team_id == team_id), key=lambda r: r.key)

    def move_contact(
        self, team_id: TeamId, from_ids: Sequence[ContactId], to_id: ContactId
    ) -> None:
        gone = set(from_ids)
        for r in [r for r in self._t.values() if r.team_id == team_id and r.contact_id in gone]:
            self._t.put((r.team_id, r.key), attrs.evolve(r, contact_id=to_id))


def memory_lead_pools(t: MemoryTables) -> _LeadPools:
    """``uow.lead_pools`` of a memory unit."""
    return _LeadPools(t.table("lead_pools"), t.table("routing_cursors"), t.table("role_slots"))


def memory_leads(t: MemoryTables) -> _Leads:
    """``uow.leads`` of a memory unit."""
    return _Leads(
        t.table("leads"),
        t.table("leads_open"),
        t.table("leads_keys"),
        t.table("lead_entries"),
        t.table("lead_loads"),
        t.table("lead_receipts"),
        t.log("lead_received"),
        t.table("lead_response_due"),
    )


def memory_offers(t: MemoryTables) -> _Offers:
    """``uow.offers`` of a memory unit."""
    return _Offers(t.table("offers"), t.table("offers_by_lead"))


def memory_routing_cursors(t: MemoryTables) -> _RoutingCursors:
    """``uow.routing_cursors`` of a memory unit."""
    return _RoutingCursors(t.table("routing_cursors"))


def memory_inbound_buckets(t: MemoryTables) -> _InboundBuckets:
    """``uow.inbound_buckets`` of a memory unit."""
    return _InboundBuckets(t.table("inbound_buckets"), t.table("buckets"))


def memory_intake(t: MemoryTables) -> _Intake:
    """``uow.intake`` of a memory unit."""
    return _Intake(t.table("intake"))
