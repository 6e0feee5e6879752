"""Teams, members, contacts, companies, buckets, memberships and interactions in memory"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

import attrs

from teamcrm.adapters.memory.tables import MemoryTables, _Table, _Versioned
from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.contact import Company, Contact
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.ids import BucketId, CompanyId, ContactId, InteractionId, MemberId, TeamId
from teamcrm.interaction import Interaction
from teamcrm.lead import (
    InboundBucket,
)
from teamcrm.team import Member, Team


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

    def update(self, contact: Contact, *, previous: Contact | None = None) -> None:
        self._update(contact)  # the whole entity is replaced: nothing to spare

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

    def last_by_author(
        self, team_id: TeamId, contact_ids: Sequence[ContactId], *, until: datetime
    ) -> dict[tuple[ContactId, MemberId], datetime]:
        wanted = set(contact_ids)
        last: dict[tuple[ContactId, MemberId], datetime] = {}
        for i in self._t.values():
            if i.team_id != team_id or i.occurred_at > until:
                continue
            for c in wanted.intersection(i.contact_ids):
                key = (c, i.author_id)
                if key not in last or last[key] < i.occurred_at:
                    last[key] = i.occurred_at
        return last

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


def memory_teams(t: MemoryTables) -> _Teams:
    """``uow.teams`` of a memory unit."""
    return _Teams(t.table("teams"))


def memory_members(t: MemoryTables) -> _Members:
    """``uow.members`` of a memory unit."""
    return _Members(t.table("members"))


def memory_contacts(t: MemoryTables) -> _Contacts:
    """``uow.contacts`` of a memory unit."""
    return _Contacts(t.table("contacts"))


def memory_companies(t: MemoryTables) -> _Companies:
    """``uow.companies`` of a memory unit."""
    return _Companies(t.table("companies"))


def memory_buckets(t: MemoryTables) -> _Buckets:
    """``uow.buckets`` of a memory unit."""
    return _Buckets(
        t.table("buckets"), _Memberships(t.table("memberships")), t.table("inbound_buckets")
    )


def memory_memberships(t: MemoryTables) -> _Memberships:
    """``uow.memberships`` of a memory unit."""
    return _Memberships(t.table("memberships"))


def memory_interactions(t: MemoryTables) -> _Interactions:
    """``uow.interactions`` of a memory unit."""
    return _Interactions(t.table("interactions"))
