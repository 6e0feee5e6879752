"""The in-memory store: for tests, notebooks and as the reference adapter.

Units of work are serialised by one lock per store (nesting them is refused), so the store is
safe to share between threads.  Every change is journalled and undone on
rollback, so a unit that fails leaves nothing behind.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Hashable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import attrs

from teamcrm.adapters.memory_programs import MemoryEnrolments, MemoryPrograms
from teamcrm.adapters.memory_records import MemoryRecords
from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.case import Case
from teamcrm.contact import Company, Contact
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound, StoreError
from teamcrm.events import DomainEvent, OutboxMessage
from teamcrm.followup import FollowUpDue, FollowUpPolicy, PolicyId, Snooze, Touch
from teamcrm.ids import BucketId, CompanyId, ContactId, InteractionId, MemberId, TeamId
from teamcrm.interaction import Interaction, InteractionKind
from teamcrm.lead import (
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
from teamcrm.notification import Notification
from teamcrm.opportunity import Opportunity, RecordNote
from teamcrm.pool import LeadPool, PoolId
from teamcrm.program import Enrolment, Program
from teamcrm.routing import MemberLoad
from teamcrm.search import (
    CompanyQuery,
    ContactQuery,
    SavedFilter,
    SavedFilterId,
    SearchScope,
    company_matches,
    matches,
)
from teamcrm.task import Task, TaskId, TaskStatus
from teamcrm.team import Member, Team
from teamcrm.unit_of_work import BaseUnitOfWork
from teamcrm.validation import trusted_builder
from teamcrm.views import GridFacts, day_start, grid_page_from_facts

__all__ = ["MemoryStore", "MemoryUnitOfWork"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING: Any = object()
_NEW_KEYS: Any = object()


class _Journal:
    """Undo log shared by the tables of one unit of work.

    Each entry is ``(table, key, old value)`` (restored on rollback),
    ``(table, keys, _NEW_KEYS)`` (a batch of new keys, removed on rollback) or
    a callable (called on rollback); tuples keep the hot paths cheap.
    """

    def __init__(self) -> None:
        self.undo: list[Any] = []

    def rollback(self) -> None:
        while self.undo:
            entry = self.undo.pop()
            if type(entry) is tuple:
                table, key, old = entry
                if old is _NEW_KEYS:
                    for k in key:
                        table.rows.pop(k, None)
                else:
                    table._restore(key, old)
            else:
                entry()


class _Table(Generic[K, V]):
    """A dict whose changes are journalled for rollback."""

    def __init__(self) -> None:
        self.rows: dict[K, V] = {}
        self.journal: _Journal | None = None

    def get(self, key: K) -> V | None:
        return self.rows.get(key)

    def put(self, key: K, value: V) -> None:
        rows = self.rows
        old = rows.get(key, _MISSING)
        rows[key] = value
        if self.journal is not None:
            self.journal.undo.append((self, key, old))

    def insert_new(self, items: Iterable[tuple[K, V]]) -> None:
        """Insert rows whose keys the caller checked are absent (one journal entry)."""
        rows = self.rows
        keys = []
        for key, value in items:
            rows[key] = value
            keys.append(key)
        if self.journal is not None and keys:
            self.journal.undo.append((self, keys, _NEW_KEYS))

    def pop(self, key: K) -> V | None:
        old = self.rows.pop(key, _MISSING)
        if old is _MISSING:
            return None
        if self.journal is not None:
            self.journal.undo.append((self, key, old))
        return old  # type: ignore[no-any-return]

    def _restore(self, key: K, old: Any) -> None:
        if old is _MISSING:
            self.rows.pop(key, None)
        else:
            self.rows[key] = old

    def values(self) -> Iterator[V]:
        return iter(list(self.rows.values()))

    def __contains__(self, key: object) -> bool:
        return key in self.rows


class _Log(_Table[K, list[Any]]):
    """Append-only lists per key; an append is undone on rollback."""

    def extend(self, key: K, items: Sequence[Any]) -> None:
        """Append many items to one key's list (one journal entry)."""
        rows = self.rows.get(key)
        if rows is None:
            self.put(key, list(items))
            return
        size = len(rows)
        rows.extend(items)
        if self.journal is not None:
            self.journal.undo.append(lambda: rows.__delitem__(slice(size, None)))

    def append(self, key: K, item: Any) -> None:
        rows = self.rows.get(key)
        if rows is None:
            self.put(key, [item])
            return
        rows.append(item)
        if self.journal is not None:
            self.journal.undo.append(rows.pop)


class _Versioned(Generic[V]):
    """Shared add/get/update/delete for versioned, team-scoped entities."""

    kind = "record"

    def __init__(self, table: _Table[str, V]) -> None:
        self._t = table

    def _get(self, team_id: str, key: str) -> V:
        row = self._t.get(key)
        if row is None or row.team_id != team_id:  # type: ignore[attr-defined]
            raise NotFound(self.kind, key)
        return row

    def _add(self, entity: V) -> None:
        key = entity.id  # type: ignore[attr-defined]
        if key in self._t:
            raise AlreadyExists(self.kind, key)
        self._t.put(key, entity)

    def _update(self, entity: V) -> None:
        key = entity.id  # type: ignore[attr-defined]
        stored = self._t.get(key)
        if stored is None or stored.team_id != entity.team_id:  # type: ignore[attr-defined]
            raise NotFound(self.kind, key)
        expected = entity.version - 1  # type: ignore[attr-defined]
        if stored.version != expected:  # type: ignore[attr-defined]
            raise ConcurrencyError(self.kind, key, expected)
        self._t.put(key, entity)

    def _delete(self, team_id: str, key: str, version: int) -> V:
        stored = self._get(team_id, key)
        if stored.version != version:  # type: ignore[attr-defined]
            raise ConcurrencyError(self.kind, key, version)
        self._t.pop(key)
        return stored

    def _all(self, team_id: str) -> list[V]:
        """The team's rows, oldest first: by ``created_at``, ties by id (the port contract)."""
        rows = [row for row in self._t.values() if row.team_id == team_id]  # type: ignore[attr-defined]
        return sorted(rows, key=lambda r: (r.created_at, r.id))  # type: ignore[attr-defined]


class _Teams(_Versioned[Team]):
    kind = "team"

    def get(self, team_id: TeamId) -> Team:
        row = self._t.get(team_id)
        if row is None:
            raise NotFound(self.kind, team_id)
        return row

    def add(self, team: Team) -> None:
        self._add(team)

    def update(self, team: Team) -> None:
        stored = self.get(team.id)
        if stored.version != team.version - 1:
            raise ConcurrencyError(self.kind, team.id, team.version - 1)
        self._t.put(team.id, team)

    def lock(self, team_id: TeamId) -> None:
        pass  # writing units already run one at a time


class _Members(_Versioned[Member]):
    kind = "member"

    def get(self, team_id: TeamId, member_id: MemberId) -> Member:
        return self._get(team_id, member_id)

    def find(self, member_id: MemberId) -> Member:
        row = self._t.get(member_id)
        if row is None:
            raise NotFound(self.kind, member_id)
        return row

    def add(self, member: Member) -> None:
        self._add(member)

    def update(self, member: Member) -> None:
        self._update(member)

    def all(self, team_id: TeamId) -> list[Member]:
        return self._all(team_id)


class _Contacts(_Versioned[Contact]):
    kind = "contact"

    def get(self, team_id: TeamId, contact_id: ContactId) -> Contact:
        return self._get(team_id, contact_id)

    def get_for_update(self, team_id: TeamId, contact_id: ContactId) -> Contact:
        # Units of this store run one at a time: nothing to lock.
        return self._get(team_id, contact_id)

    def get_many(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> list[Contact]:
        out = []
        for cid in dict.fromkeys(contact_ids):
            row = self._t.get(cid)
            if row is not None and row.team_id == team_id:
                out.append(row)
        return out

    def add(self, contact: Contact) -> None:
        self._add(contact)

    def add_many(self, contacts: Sequence[Contact]) -> None:
        seen: set[str] = set()
        for contact in contacts:
            if contact.id in self._t or contact.id in seen:
                raise AlreadyExists(self.kind, contact.id)
            seen.add(contact.id)
        for contact in contacts:
            self._t.put(contact.id, contact)

    def update(self, contact: Contact) -> None:
        self._update(contact)

    def delete(self, team_id: TeamId, contact_id: ContactId, version: int) -> None:
        self._delete(team_id, contact_id, version)

    def lock(
        self, team_id: TeamId, contact_ids: Iterable[ContactId], *, exclusive: bool = False
    ) -> None:
        pass  # writing units already run one at a time

    def all(self, team_id: TeamId) -> list[Contact]:
        return self._all(team_id)

    def by_company(self, team_id: TeamId, company_id: CompanyId) -> list[Contact]:
        return [c for c in self._all(team_id) if company_id in c.company_ids]

    def existing_keys(
        self, team_id: TeamId, *, emails: Collection[str], phones: Collection[str]
    ) -> set[str]:
        wanted_e, wanted_p = set(emails), set(phones)
        found: set[str] = set()
        for c in self._all(team_id):
            found.update(k for k in (e.address.lower() for e in c.emails) if k in wanted_e)
            found.update(p.number for p in c.phones if p.number in wanted_p)
        return found


class _Companies(_Versioned[Company]):
    kind = "company"

    def get(self, team_id: TeamId, company_id: CompanyId) -> Company:
        return self._get(team_id, company_id)

    def add(self, company: Company) -> None:
        self._add(company)

    def update(self, company: Company) -> None:
        self._update(company)

    def delete(self, team_id: TeamId, company_id: CompanyId, version: int) -> None:
        self._delete(team_id, company_id, version)

    def lock(
        self, team_id: TeamId, company_ids: Iterable[CompanyId], *, exclusive: bool = False
    ) -> None:
        pass  # writing units already run one at a time

    def all(self, team_id: TeamId) -> list[Company]:
        return self._all(team_id)


class _Buckets(_Versioned[Bucket]):
    kind = "bucket"

    def __init__(
        self,
        table: _Table[str, Bucket],
        memberships: _Memberships,
        inbound: _Table[tuple[str, str], InboundBucket],
    ) -> None:
        super().__init__(table)
        self._memberships = memberships
        self._inbound = inbound

    def get(self, team_id: TeamId, bucket_id: BucketId) -> Bucket:
        return self._get(team_id, bucket_id)

    def add(self, bucket: Bucket) -> None:
        self._add(bucket)

    def update(self, bucket: Bucket) -> None:
        self._update(bucket)

    def delete(self, team_id: TeamId, bucket_id: BucketId, version: int) -> None:
        self._delete(team_id, bucket_id, version)
        self._memberships.remove_bucket(bucket_id)
        for key, row in list(self._inbound.rows.items()):
            if row.bucket_id == bucket_id and row.team_id == team_id:
                self._inbound.pop(key)

    def all(self, team_id: TeamId) -> list[Bucket]:
        return self._all(team_id)


class _Memberships:
    def __init__(self, table: _Table[tuple[str, str], BucketMembership]) -> None:
        self._t = table

    def add_many(self, memberships: Sequence[BucketMembership]) -> list[BucketMembership]:
        rows = self._t.rows
        fresh: dict[tuple[str, str], BucketMembership] = {}
        for m in memberships:
            key = (m.bucket_id, m.item_id)
            if key not in rows and key not in fresh:
                fresh[key] = m
        self._t.insert_new(fresh.items())
        return list(fresh.values())

    def remove_many(
        self, team_id: TeamId, bucket_id: BucketId, item_ids: Iterable[str]
    ) -> list[str]:
        removed = []
        for item_id in dict.fromkeys(item_ids):
            row = self._t.get((bucket_id, item_id))
            if row is not None and row.team_id == team_id:
                self._t.pop((bucket_id, item_id))
                removed.append(item_id)
        return removed

    def items(self, team_id: TeamId, bucket_id: BucketId) -> list[BucketMembership]:
        rows = [m for m in self._t.values() if m.bucket_id == bucket_id and m.team_id == team_id]
        return sorted(rows, key=lambda m: (m.added_at, m.item_id))

    def items_page(
        self,
        team_id: TeamId,
        bucket_id: BucketId,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[BucketMembership]:
        rows = self.items(team_id, bucket_id)
        if after is not None:
            rows = [m for m in rows if (m.added_at, m.item_id) > after]
        return rows[:limit]

    def buckets_of(self, team_id: TeamId, item_ids: Iterable[str]) -> list[BucketMembership]:
        wanted = set(item_ids)
        rows = [m for m in self._t.values() if m.item_id in wanted and m.team_id == team_id]
        return sorted(rows, key=lambda m: (m.bucket_id, m.item_id))

    def remove_item(self, team_id: TeamId, item_id: str) -> None:
        for m in self._t.values():
            if m.item_id == item_id and m.team_id == team_id:
                self._t.pop((m.bucket_id, m.item_id))

    def remove_bucket(self, bucket_id: str) -> None:
        for m in self._t.values():
            if m.bucket_id == bucket_id:
                self._t.pop((m.bucket_id, m.item_id))


def _newest_first(rows: Iterable[Interaction]) -> list[Interaction]:
    return sorted(rows, key=lambda i: (i.occurred_at, i.id), reverse=True)


class _Interactions:
    kind = "interaction"

    def __init__(self, table: _Table[str, Interaction]) -> None:
        self._t = table

    def add(self, interaction: Interaction) -> None:
        if interaction.id in self._t:
            raise AlreadyExists(self.kind, interaction.id)
        self._t.put(interaction.id, interaction)

    def get(self, team_id: TeamId, interaction_id: InteractionId) -> Interaction:
        row = self._t.get(interaction_id)
        if row is None or row.team_id != team_id:
            raise NotFound(self.kind, interaction_id)
        return row

    def for_contact(self, team_id: TeamId, contact_id: ContactId) -> list[Interaction]:
        return _newest_first(
            i for i in self._t.values() if i.team_id == team_id and contact_id in i.contact_ids
        )

    def for_contact_page(
        self,
        team_id: TeamId,
        contact_id: ContactId,
        *,
        before: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[Interaction]:
        rows = self.for_contact(team_id, contact_id)
        if before is not None:
            rows = [i for i in rows if (i.occurred_at, i.id) < before]
        return rows[:limit]

    def for_company(self, team_id: TeamId, company_id: CompanyId) -> list[Interaction]:
        return _newest_first(
            i for i in self._t.values() if i.team_id == team_id and company_id in i.company_ids
        )

    def file_under(
        self, team_id: TeamId, interaction_id: InteractionId, company_ids: Sequence[CompanyId]
    ) -> None:
        row = self.get(team_id, interaction_id)
        extra = tuple(c for c in dict.fromkeys(company_ids) if c not in row.company_ids)
        if extra:
            self._t.put(row.id, attrs.evolve(row, company_ids=(*row.company_ids, *extra)))

    def all(self, team_id: TeamId) -> list[Interaction]:
        return sorted((i for i in self._t.values() if i.team_id == team_id), key=lambda i: i.id)

    def move_contact(
        self, team_id: TeamId, from_ids: Sequence[ContactId], to_id: ContactId
    ) -> None:
        gone = set(from_ids)
        for i in list(self._t.values()):
            if i.team_id == team_id and gone.intersection(i.contact_ids):
                ids = tuple(dict.fromkeys(to_id if c in gone else c for c in i.contact_ids))
                self._t.put(i.id, attrs.evolve(i, contact_ids=ids))


#: Outbox rows wrap events the unit of work collected (already built and checked).
_outbox_message = trusted_builder(OutboxMessage)


class _Outbox:
    def __init__(self, table: _Table[int, OutboxMessage], store: MemoryStore) -> None:
        self._t = table
        self._store = store

    def append(self, events: Sequence[DomainEvent]) -> None:
        first = self._store._seq + 1
        self._store._seq += len(events)
        self._t.insert_new(
            (seq, _outbox_message(seq=seq, event=event))
            for seq, event in enumerate(events, start=first)
        )

    def read(self, team_id: TeamId, after_seq: int = 0, limit: int = 1000) -> list[OutboxMessage]:
        rows = sorted(
            (m for m in self._t.values() if m.seq > after_seq and m.event.team_id == team_id),
            key=lambda m: m.seq,
        )
        return rows[:limit]

    def prune(self, team_id: TeamId | None, *, before: datetime, limit: int = 10_000) -> int:
        floors: dict[str, int] = {}
        for (_consumer, team), row in self._store._consumer_positions.rows.items():
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


@attrs.frozen(kw_only=True)
class _DigestState:
    """A member's email digest state: the last digest and the live claim, if any."""

    last_digest_at: datetime | None = None
    token: str | None = None
    claimed_at: datetime | None = None
    claimed_ids: tuple[str, ...] = ()


class _Notifications:
    kind = "notification"

    def __init__(
        self,
        table: _Table[str, Notification],
        digests: _Table[tuple[str, str], _DigestState],
        skipped: _Table[str, datetime],
    ) -> None:
        self._t = table
        self._digests = digests
        self._skipped = skipped

    def add_many(self, notifications: Sequence[Notification]) -> None:
        seen: set[str] = set()
        for n in notifications:
            if n.id in self._t or n.id in seen:
                raise AlreadyExists(self.kind, n.id)
            seen.add(n.id)
        self._t.insert_new((n.id, n) for n in notifications)

    def for_member(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        unread_only: bool = False,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Notification]:
        rows = [
            n
            for n in self._t.values()
            if n.team_id == team_id
            and n.member_id == member_id
            and not (unread_only and n.read_at is not None)
            and (before is None or (n.created_at, n.id) < before)
        ]
        rows.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        return rows[:limit]

    def mark_read(
        self, team_id: TeamId, member_id: MemberId, ids: Iterable[str] | None, at: datetime
    ) -> int:
        wanted = None if ids is None else set(ids)
        changed = 0
        for n in self._t.values():
            if (
                n.team_id == team_id
                and n.member_id == member_id
                and n.read_at is None
                and (wanted is None or n.id in wanted)
            ):
                self._t.put(n.id, attrs.evolve(n, read_at=at))
                changed += 1
        return changed

    # -- email digest queue ------------------------------------------------
    def _pending(self, team_id: str, member_id: str, now: datetime) -> list[Notification]:
        rows = [
            n
            for n in self._t.values()
            if n.team_id == team_id
            and n.member_id == member_id
            and n.emailed_at is None
            and n.created_at <= now
            and n.id not in self._skipped
        ]
        return sorted(rows, key=lambda n: (n.created_at, n.id))

    @staticmethod
    def _may_claim(
        state: _DigestState | None, last_digest_by: datetime, lease_cutoff: datetime
    ) -> bool:
        if state is None:
            return True
        if state.last_digest_at is not None and state.last_digest_at > last_digest_by:
            return False
        return not (
            state.token is not None
            and state.claimed_at is not None
            and state.claimed_at >= lease_cutoff
        )

    def digest_candidates(
        self,
        *,
        now: datetime,
        last_digest_by: datetime,
        lease_cutoff: datetime,
        team_id: TeamId | None = None,
        limit: int = 10_000,
    ) -> list[tuple[TeamId, MemberId]]:
        members = {
            (n.team_id, n.member_id)
            for n in self._t.values()
            if n.emailed_at is None
            and n.created_at <= now
            and (team_id is None or n.team_id == team_id)
            and n.id not in self._skipped
        }
        due = [
            key
            for key in sorted(members)
            if self._may_claim(self._digests.get(key), last_digest_by, lease_cutoff)
        ]
        return due[:limit]

    def claim_digest(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        token: str,
        now: datetime,
        last_digest_by: datetime,
        lease_cutoff: datetime,
        limit: int,
    ) -> list[Notification]:
        key = (team_id, member_id)
        state = self._digests.get(key)
        if not self._may_claim(state, last_digest_by, lease_cutoff):
            return []
        batch = self._pending(team_id, member_id, now)[:limit]
        if not batch:
            return []
        self._digests.put(
            key,
            attrs.evolve(
                state or _DigestState(),
                token=token,
                claimed_at=now,
                claimed_ids=tuple(n.id for n in batch),
            ),
        )
        return batch

    def complete_digest(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        token: str,
        ids: Iterable[str],
        at: datetime,
    ) -> int:
        marked = 0
        for nid in dict.fromkeys(ids):
            n = self._t.get(nid)
            if (
                n is not None
                and n.team_id == team_id
                and n.member_id == member_id
                and n.emailed_at is None
            ):
                self._t.put(nid, attrs.evolve(n, emailed_at=at))
                marked += 1
        key = (team_id, member_id)
        state = self._digests.get(key) or _DigestState()
        last = state.last_digest_at
        state = attrs.evolve(state, last_digest_at=at if last is None or at > last else last)
        if state.token == token:
            state = attrs.evolve(state, token=None, claimed_at=None, claimed_ids=())
        self._digests.put(key, state)
        return marked

    def release_digest(self, team_id: TeamId, member_id: MemberId, *, token: str) -> None:
        key = (team_id, member_id)
        state = self._digests.get(key)
        if state is not None and state.token == token:
            self._digests.put(key, attrs.evolve(state, token=None, claimed_at=None, claimed_ids=()))

    def skip_email(self, team_id: TeamId, member_id: MemberId, *, now: datetime) -> int:
        pending = self._pending(team_id, member_id, now)
        for n in pending:
            self._skipped.put(n.id, now)
        return len(pending)

    def last_digest_at(self, team_id: TeamId, member_id: MemberId) -> datetime | None:
        state = self._digests.get((team_id, member_id))
        return None if state is None else state.last_digest_at


class _FollowUpPolicies(_Versioned[FollowUpPolicy]):
    kind = "follow-up policy"

    def __init__(self, table: _Table[str, FollowUpPolicy], dues: _FollowUpDues) -> None:
        super().__init__(table)
        self._dues = dues

    def get(self, team_id: TeamId, policy_id: PolicyId) -> FollowUpPolicy:
        return self._get(team_id, policy_id)

    def add(self, policy: FollowUpPolicy) -> None:
        self._add(policy)

    def update(self, policy: FollowUpPolicy) -> None:
        self._update(policy)

    def delete(self, team_id: TeamId, policy_id: PolicyId, version: int) -> None:
        self._delete(team_id, policy_id, version)
        self._dues.delete_policy(team_id, policy_id)

    def all(self, team_id: TeamId) -> list[FollowUpPolicy]:
        return sorted(self._all(team_id), key=lambda p: (p.created_at, p.id))

    def for_buckets(self, team_id: TeamId, bucket_ids: Iterable[BucketId]) -> list[FollowUpPolicy]:
        wanted = set(bucket_ids)
        return [p for p in self.all(team_id) if p.bucket_id in wanted]

    def for_member(self, team_id: TeamId, member_id: MemberId) -> list[FollowUpPolicy]:
        return [p for p in self.all(team_id) if p.member_id == member_id]


class _Touches:
    def __init__(
        self,
        team: _Table[tuple[str, str], Touch],
        member: _Table[tuple[str, str, str], Touch],
        pending: _Table[tuple[str, str, str, datetime, bool], Touch],
    ) -> None:
        self._team = team
        self._member = member
        self._pending = pending

    def record(self, touches: Sequence[Touch]) -> None:
        for t in touches:
            key = (t.team_id, t.contact_id, t.member_id)
            old = self._member.get(key)
            if old is None or t.at > old.at:
                self._member.put(key, t)
            if t.team_wide:
                old = self._team.get((t.team_id, t.contact_id))
                if old is None or t.at > old.at:
                    self._team.put((t.team_id, t.contact_id), t)

    def team_latest(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> dict[str, Touch]:
        out: dict[str, Touch] = {}
        for cid in contact_ids:
            row = self._team.get((team_id, cid))
            if row is not None:
                out[cid] = row
        return out

    def member_latest(
        self, team_id: TeamId, contact_ids: Iterable[ContactId]
    ) -> dict[tuple[str, str], Touch]:
        wanted = set(contact_ids)
        return {
            (t.contact_id, t.member_id): t
            for t in self._member.values()
            if t.team_id == team_id and t.contact_id in wanted
        }

    def add_pending(self, touches: Sequence[Touch]) -> None:
        for t in touches:
            self._pending.put((t.team_id, t.contact_id, t.member_id, t.at, t.team_wide), t)

    def pending(self, team_id: TeamId, up_to: datetime) -> list[Touch]:
        rows = [t for t in self._pending.values() if t.team_id == team_id and t.at <= up_to]
        return sorted(rows, key=lambda t: (t.at, t.contact_id, t.member_id))

    def drop_pending(self, team_id: TeamId, up_to: datetime) -> None:
        for t in self.pending(team_id, up_to):
            self._pending.pop((t.team_id, t.contact_id, t.member_id, t.at, t.team_wide))

    def forget(self, team_id: TeamId, contact_ids: Sequence[ContactId]) -> None:
        gone = set(contact_ids)
        for t in [t for t in self._team.values() if t.team_id == team_id and t.contact_id in gone]:
            self._team.pop((t.team_id, t.contact_id))
        for t in [
            t for t in self._member.values() if t.team_id == team_id and t.contact_id in gone
        ]:
            self._member.pop((t.team_id, t.contact_id, t.member_id))
        for t in [
            t for t in self._pending.values() if t.team_id == team_id and t.contact_id in gone
        ]:
            self._pending.pop((t.team_id, t.contact_id, t.member_id, t.at, t.team_wide))


class _FollowUpDues:
    def __init__(
        self,
        table: _Table[tuple[str, str], FollowUpDue],
        snoozes: _Table[tuple[str, str, str], Snooze],
    ) -> None:
        self._t = table
        self._snoozes = snoozes

    def put_many(self, rows: Sequence[FollowUpDue]) -> None:
        for row in rows:
            self._t.put((row.policy_id, row.contact_id), row)

    def delete(
        self, team_id: TeamId, policy_ids: Iterable[str], contact_ids: Iterable[str]
    ) -> None:
        contacts = list(contact_ids)
        for pid in policy_ids:
            for cid in contacts:
                row = self._t.get((pid, cid))
                if row is not None and row.team_id == team_id:
                    self._t.pop((pid, cid))

    def delete_policy(self, team_id: TeamId, policy_id: PolicyId) -> None:
        for row in self._t.values():
            if row.policy_id == policy_id and row.team_id == team_id:
                self._t.pop((row.policy_id, row.contact_id))

    def for_contacts(
        self, team_id: TeamId, member_id: MemberId, contact_ids: Iterable[str]
    ) -> list[FollowUpDue]:
        wanted = set(contact_ids)
        rows = [
            r
            for r in self._t.values()
            if r.team_id == team_id and r.member_id == member_id and r.contact_id in wanted
        ]
        return sorted(rows, key=lambda r: (r.due_on, r.contact_id, r.policy_id))

    def page(
        self,
        team_id: TeamId,
        member_id: MemberId,
        due_by: date,
        at: datetime,
        after: tuple[date, str, str] | None,
        limit: int,
    ) -> list[FollowUpDue]:
        rows = []
        for r in self._t.values():
            if r.team_id != team_id or r.member_id != member_id or r.due_on > due_by:
                continue
            if after is not None and (r.due_on, r.contact_id, r.policy_id) <= after:
                continue
            snooze = self._snoozes.get((team_id, member_id, r.contact_id))
            if snooze is not None and snooze.until > at:
                continue
            rows.append(r)
        rows.sort(key=lambda r: (r.due_on, r.contact_id, r.policy_id))
        return rows[:limit]


class _Snoozes:
    def __init__(self, table: _Table[tuple[str, str, str], Snooze]) -> None:
        self._t = table

    def put(self, snooze: Snooze) -> None:
        self._t.put((snooze.team_id, snooze.member_id, snooze.contact_id), snooze)

    def get(self, team_id: TeamId, member_id: MemberId, contact_id: ContactId) -> Snooze | None:
        return self._t.get((team_id, member_id, contact_id))

    def remove(self, team_id: TeamId, member_id: MemberId, contact_id: ContactId) -> None:
        self._t.pop((team_id, member_id, contact_id))

    def all(self, team_id: TeamId) -> list[Snooze]:
        rows = [s for s in self._t.values() if s.team_id == team_id]
        return sorted(rows, key=lambda s: (s.member_id, s.contact_id))


class _Tasks(_Versioned[Task]):
    kind = "task"

    def get(self, team_id: TeamId, task_id: TaskId) -> Task:
        return self._get(team_id, task_id)

    def add(self, task: Task) -> None:
        self._add(task)

    def update(self, task: Task) -> None:
        self._update(task)

    def for_member(
        self, team_id: TeamId, member_id: MemberId, status: TaskStatus | None = None
    ) -> list[Task]:
        rows = [
            t
            for t in self._all(team_id)
            if t.member_id == member_id and (status is None or t.status is status)
        ]
        return sorted(rows, key=lambda t: (t.due_at, t.id))

    def open_due(
        self,
        team_id: TeamId,
        member_id: MemberId,
        at: datetime,
        limit: int,
        *,
        since: datetime | None = None,
    ) -> list[Task]:
        rows = [
            t
            for t in self.for_member(team_id, member_id, TaskStatus.OPEN)
            if t.due_at <= at and (since is None or t.due_at >= since)
        ]
        return rows[:limit]


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
        seen: set[str] = set()
        for lead in leads:
            if lead.id in self._t or lead.id in seen:
                raise AlreadyExists(self.kind, lead.id)
            seen.add(lead.id)
        gained: dict[tuple[str, str, str], list[datetime]] = {}
        self._t.insert_new((lead.id, lead) for lead in leads)  # ids checked new above
        got: list[tuple[tuple[str, str, str, str], datetime]] = []  # new receipts (new leads)
        opened, keyed, entries = self._open, self._keys, self._entries
        for lead in leads:  # index the new leads (updates: _reindex)
            team, pool, at = lead.team_id, _pool_key(lead), lead.assigned_at
            for member_id in dict.fromkeys(lead.assignee_ids):
                slot = (team, pool, member_id)
                if at is not None:
                    gained.setdefault(slot, []).append(at)
                    got.append(((team, pool, member_id, lead.id), at))
                else:  # owners without an assignment time (not made by routing)
                    load = self._loads.get(slot) or MemberLoad()
                    self._loads.put(slot, attrs.evolve(load, open_leads=load.open_leads + 1))
            if lead.respond_by is not None:
                self._response_due.put(lead.id, lead.respond_by)
            where = (team, pool, lead.contact_id)
            if lead.is_open:
                opened.put(where, lead.id)
                for k in lead.keys:
                    keyed.put((team, pool, k), lead.id)
            if lead.entry > (entries.get(where) or 0):
                entries.put(where, lead.entry)
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
        for cid in contact_ids:
            entry = self._entries.get((team_id, pool_id, cid))
            if entry is not None:
                has_open = (team_id, pool_id, cid) in self._open
                out[cid] = LeadEntries(last_entry=entry, has_open=has_open)
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


# ------------------------------------------------------- search and management views
class _Views:
    """Search, grid and insight queries by scanning the tables (the reference behaviour)."""

    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    def _contacts(self, team_id: str) -> list[Contact]:
        rows = [c for c in self._s._contacts.values() if c.team_id == team_id]
        return sorted(rows, key=lambda c: (c.created_at, c.id))

    def _open_leads(self, team_id: str) -> list[Lead]:
        leads = [ld for ld in self._s._leads.values() if ld.team_id == team_id and ld.is_open]
        return sorted(leads, key=lambda ld: (ld.created_at, ld.id))

    def search(
        self,
        team_id: TeamId,
        query: ContactQuery,
        *,
        scope: SearchScope | None,
        after: tuple[datetime, ContactId] | None,
        limit: int,
    ) -> list[Contact]:
        buckets: dict[str, set[str]] = {}
        for m in self._s._memberships.values():
            if m.team_id == team_id:
                buckets.setdefault(m.item_id, set()).add(m.bucket_id)
        owners: dict[str, set[str]] = {}
        for lead in self._open_leads(team_id):
            owners.setdefault(lead.contact_id, set()).update(lead.assignee_ids)
        out: list[Contact] = []
        for c in self._contacts(team_id):
            if after is not None and (c.created_at, c.id) <= after:
                continue
            held = buckets.get(c.id, set())
            if (
                scope is not None
                and c.created_by != scope.member_id
                and not (held & scope.bucket_ids)
            ):
                continue
            touch = self._s._touches_team.get((team_id, c.id))
            if matches(
                c,
                query,
                bucket_ids=held,
                last_contacted_at=None if touch is None else touch.at,
                assignee_ids=owners.get(c.id, ()),
            ):
                out.append(c)
                if len(out) >= limit:
                    break
        return out

    def search_companies(
        self,
        team_id: TeamId,
        query: CompanyQuery,
        *,
        scope: SearchScope | None,
        after: tuple[datetime, CompanyId] | None,
        limit: int,
    ) -> list[Company]:
        held: dict[str, set[str]] = {}
        for m in self._s._memberships.values():
            if m.team_id == team_id:
                held.setdefault(m.item_id, set()).add(m.bucket_id)
        rows = sorted(
            (c for c in self._s._companies.values() if c.team_id == team_id),
            key=lambda c: (c.created_at, c.id),
        )
        out: list[Company] = []
        for c in rows:
            if after is not None and (c.created_at, c.id) <= after:
                continue
            if (
                scope is not None
                and c.created_by != scope.member_id
                and not (held.get(c.id, set()) & scope.bucket_ids)
            ):
                continue
            if company_matches(c, query):
                out.append(c)
                if len(out) >= limit:
                    break
        return out

    def last_contacted(
        self, team_id: TeamId, contact_ids: Iterable[ContactId]
    ) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        for cid in contact_ids:
            touch = self._s._touches_team.get((team_id, cid))
            if touch is not None:
                out[cid] = touch.at
        return out

    def interaction_counts(
        self, team_id: TeamId, member_id: MemberId, start: datetime, end: datetime
    ) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in self._s._interactions.values():
            if i.team_id == team_id and i.author_id == member_id and start <= i.occurred_at < end:
                counts[i.kind.value] = counts.get(i.kind.value, 0) + 1
        return counts

    def _first_touch(
        self, team_id: str, contact_id: str, member_id: str, since: datetime, until: datetime | None
    ) -> datetime | None:
        times = [
            i.occurred_at
            for i in self._s._interactions.values()
            if i.team_id == team_id
            and i.author_id == member_id
            and contact_id in i.contact_ids
            and i.occurred_at >= since
            and (until is None or i.occurred_at <= until)
        ]
        return min(times, default=None)

    def lead_touches(
        self, team_id: TeamId, member_id: MemberId, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime | None]]:
        leads = [
            ld
            for ld in self._s._leads.values()
            if ld.team_id == team_id
            and member_id in ld.assignee_ids
            and ld.assigned_at is not None
            and start <= ld.assigned_at < end
        ]
        leads.sort(key=lambda ld: (ld.assigned_at, ld.id))
        out: list[tuple[datetime, datetime | None]] = []
        for ld in leads:
            if ld.assigned_at is not None:
                first = self._first_touch(team_id, ld.contact_id, member_id, ld.assigned_at, None)
                out.append((ld.assigned_at, first))
        return out

    def grid_facts(
        self,
        team_id: TeamId,
        *,
        status: str | None,
        assignee_id: MemberId | None,
        pool_id: PoolId | None,
        now: datetime,
    ) -> list[GridFacts]:
        out: list[GridFacts] = []
        for lead in self._open_leads(team_id):
            if pool_id is not None and lead.pool_id != pool_id:
                continue
            contact = self._s._contacts.get(lead.contact_id)
            if contact is None or contact.team_id != team_id:
                continue
            if status is not None and contact.status != status:
                continue
            owners: tuple[str | None, ...] = lead.assignee_ids or (None,)
            for owner in owners:
                if assignee_id is not None and owner != assignee_id:
                    continue
                first = None
                if owner is not None and lead.assigned_at is not None:
                    first = self._first_touch(team_id, contact.id, owner, lead.assigned_at, now)
                out.append(
                    GridFacts(
                        contact_id=contact.id,
                        first_name=contact.first_name,
                        last_name=contact.last_name,
                        status=contact.status,
                        phones_validated=any(p.validated for p in contact.phones)
                        if contact.phones
                        else None,
                        emails_validated=any(e.validated for e in contact.emails)
                        if contact.emails
                        else None,
                        has_note=any(
                            i.team_id == team_id
                            and i.kind is InteractionKind.NOTE
                            and contact.id in i.contact_ids
                            for i in self._s._interactions.values()
                        ),
                        next_follow_up_at=self._next_follow_up(team_id, contact.id, now),
                        lead_id=lead.id,
                        pool_id=lead.pool_id,
                        assignee_id=owner,
                        assigned_at=lead.assigned_at if owner is not None else None,
                        lead_created_at=lead.created_at,
                        first_action_at=first,
                    )
                )
        return out

    #: Every matching lead's facts, ranked in Python by the reference ranking.
    grid_page = grid_page_from_facts

    def _next_follow_up(self, team_id: str, contact_id: str, now: datetime) -> datetime | None:
        times = [
            t.due_at
            for t in self._s._tasks.values()
            if t.team_id == team_id and t.contact_id == contact_id and t.is_open and t.due_at > now
        ]
        times.extend(
            day_start(r.due_on)
            for r in self._s._followup_dues.values()
            if r.team_id == team_id and r.contact_id == contact_id and day_start(r.due_on) > now
        )
        return min(times, default=None)

    def members_named(self, name: str) -> list[Member]:
        wanted = name.casefold()
        rows = [m for m in self._s._members.values() if m.name.casefold() == wanted]
        return sorted(rows, key=lambda m: (m.created_at, m.id))

    def members_with_email(self, email: str) -> list[Member]:
        wanted = email.strip().casefold()
        rows = [
            m
            for m in self._s._members.values()
            if m.email is not None and m.email.casefold() == wanted
        ]
        return sorted(rows, key=lambda m: (m.created_at, m.id))


class _SavedFilters(_Versioned[SavedFilter]):
    kind = "saved filter"

    def get(self, team_id: TeamId, filter_id: SavedFilterId) -> SavedFilter:
        return self._get(team_id, filter_id)

    def add(self, saved: SavedFilter) -> None:
        self._add(saved)

    def update(self, saved: SavedFilter) -> None:
        self._update(saved)

    def delete(self, team_id: TeamId, filter_id: SavedFilterId, version: int) -> None:
        self._delete(team_id, filter_id, version)

    def for_member(self, team_id: TeamId, member_id: MemberId) -> list[SavedFilter]:
        rows = [f for f in self._all(team_id) if f.shared or f.owner_id == member_id]
        return sorted(rows, key=lambda f: (f.name.casefold(), f.id))


class MemoryUnitOfWork(BaseUnitOfWork):
    """A unit of work on a :class:`MemoryStore`; holds the store's lock while open."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__()
        self._store = store
        self._journal = _Journal()
        s = store
        memberships = _Memberships(s._memberships)
        self.teams = _Teams(s._teams)
        self.members = _Members(s._members)
        self.contacts = _Contacts(s._contacts)
        self.companies = _Companies(s._companies)
        self.buckets = _Buckets(s._buckets, memberships, s._inbound_buckets)
        self.memberships = memberships
        self.interactions = _Interactions(s._interactions)
        self.outbox = _Outbox(s._outbox, s)
        self.consumer_positions = _ConsumerPositions(s._consumer_positions)
        self.notifications = _Notifications(
            s._notifications, s._notification_digests, s._notifications_skipped
        )
        dues = _FollowUpDues(s._followup_dues, s._snoozes)
        self.followup_policies = _FollowUpPolicies(s._followup_policies, dues)
        self.touches = _Touches(s._touches_team, s._touches_member, s._touches_pending)
        self.followup_dues = dues
        self.snoozes = _Snoozes(s._snoozes)
        self.tasks = _Tasks(s._tasks)
        self.lead_pools = _LeadPools(s._lead_pools, s._routing_cursors, s._role_slots)
        self.leads = _Leads(
            s._leads,
            s._leads_open,
            s._leads_keys,
            s._lead_entries,
            s._lead_loads,
            s._lead_receipts,
            s._lead_received,
            s._lead_response_due,
        )
        self.offers = _Offers(s._offers, s._offers_by_lead)
        self.routing_cursors = _RoutingCursors(s._routing_cursors)
        self.inbound_buckets = _InboundBuckets(s._inbound_buckets, s._buckets)
        self.views = _Views(s)
        self.saved_filters = _SavedFilters(s._saved_filters)
        self.intake = _Intake(s._intake)
        self.programs = MemoryPrograms(s._programs, s._enrolments)
        self.enrolments = MemoryEnrolments(s._enrolments)
        self.records = MemoryRecords(
            s._opportunities, s._cases, s._record_notes, s._contacts, s._companies
        )

    def _begin(self) -> None:
        if self._store._owner == threading.get_ident():
            # The lock is not re-entrant: a nested unit would share (and corrupt)
            # the outer unit's journal, and a plain Lock would deadlock.
            raise StoreError(
                "a unit of work is already open on this store in this thread; "
                "units of work cannot be nested"
            )
        self._store._lock.acquire()
        self._store._owner = threading.get_ident()
        self._seq_at_start = self._store._seq
        for table in self._store._tables():
            table.journal = self._journal

    def _finish(self) -> None:
        for table in self._store._tables():
            table.journal = None
        self._store._owner = None
        self._store._lock.release()

    def _commit(self) -> None:
        self._journal.undo.clear()
        self._finish()

    def _rollback(self) -> None:
        try:
            self._journal.rollback()
            self._store._seq = self._seq_at_start
        finally:
            self._finish()


class MemoryStore:
    """Everything in Python dicts; lost when the process ends.

    Open it with ``teamcrm.open("memory://")``.
    """

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._owner: int | None = None  # thread holding _lock, to refuse nesting
        self._seq = 0
        self._teams: _Table[str, Team] = _Table()
        self._members: _Table[str, Member] = _Table()
        self._contacts: _Table[str, Contact] = _Table()
        self._companies: _Table[str, Company] = _Table()
        self._buckets: _Table[str, Bucket] = _Table()
        self._memberships: _Table[tuple[str, str], BucketMembership] = _Table()
        self._interactions: _Table[str, Interaction] = _Table()
        self._outbox: _Table[int, OutboxMessage] = _Table()
        self._consumer_positions: _Table[tuple[str, str], _Position] = _Table()
        self._notifications: _Table[str, Notification] = _Table()
        self._notification_digests: _Table[tuple[str, str], _DigestState] = _Table()
        self._notifications_skipped: _Table[str, datetime] = _Table()
        self._followup_policies: _Table[str, FollowUpPolicy] = _Table()
        self._touches_team: _Table[tuple[str, str], Touch] = _Table()
        self._touches_member: _Table[tuple[str, str, str], Touch] = _Table()
        self._touches_pending: _Table[tuple[str, str, str, datetime, bool], Touch] = _Table()
        self._followup_dues: _Table[tuple[str, str], FollowUpDue] = _Table()
        self._snoozes: _Table[tuple[str, str, str], Snooze] = _Table()
        self._tasks: _Table[str, Task] = _Table()
        self._lead_pools: _Table[str, LeadPool] = _Table()
        self._leads: _Table[str, Lead] = _Table()
        self._leads_open: _Table[tuple[str, str, str], str] = _Table()
        self._leads_keys: _Table[tuple[str, str, str], str] = _Table()
        self._lead_entries: _Table[tuple[str, str, str], int] = _Table()
        self._lead_loads: _Table[tuple[str, str, str], MemberLoad] = _Table()
        self._lead_receipts: _Table[tuple[str, str, str, str], datetime] = _Table()
        self._lead_received: _Log[tuple[str, str, str]] = _Log()
        self._lead_response_due: _Table[str, datetime] = _Table()
        self._role_slots: _Table[tuple[str, str], RoleSlot] = _Table()
        self._offers: _Table[str, Offer] = _Table()
        self._offers_by_lead: _Table[str, tuple[str, ...]] = _Table()
        self._routing_cursors: _Table[tuple[str, str], RoutingCursor] = _Table()
        self._inbound_buckets: _Table[tuple[str, str], InboundBucket] = _Table()
        self._saved_filters: _Table[str, SavedFilter] = _Table()
        self._intake: _Table[tuple[str, str], IntakeRecord] = _Table()
        self._programs: _Table[str, Program] = _Table()
        self._enrolments: _Table[str, Enrolment] = _Table()
        self._opportunities: _Table[str, Opportunity] = _Table()
        self._cases: _Table[str, Case] = _Table()
        self._record_notes: _Table[tuple[str, str], RecordNote] = _Table()

    def _tables(self) -> list[_Table[Any, Any]]:
        return [
            self._teams,
            self._members,
            self._contacts,
            self._companies,
            self._buckets,
            self._memberships,
            self._interactions,
            self._outbox,
            self._consumer_positions,
            self._notifications,
            self._notification_digests,
            self._notifications_skipped,
            self._followup_policies,
            self._touches_team,
            self._touches_member,
            self._touches_pending,
            self._followup_dues,
            self._snoozes,
            self._tasks,
            self._lead_pools,
            self._leads,
            self._leads_open,
            self._leads_keys,
            self._lead_entries,
            self._lead_loads,
            self._lead_receipts,
            self._lead_received,
            self._lead_response_due,
            self._role_slots,
            self._offers,
            self._offers_by_lead,
            self._routing_cursors,
            self._inbound_buckets,
            self._saved_filters,
            self._intake,
            self._programs,
            self._enrolments,
            self._opportunities,
            self._cases,
            self._record_notes,
        ]

    def unit_of_work(self, *, write: bool = True) -> MemoryUnitOfWork:
        """Return a new unit of work (``write`` is accepted for protocol parity)."""
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        """Nothing to release; provided for protocol parity."""

    def __repr__(self) -> str:
        return f"MemoryStore({self.url!r})"
