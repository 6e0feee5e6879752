"""Search, the management views and saved filters in memory"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from teamcrm.adapters.memory.tables import MemoryTables, _Versioned
from teamcrm.contact import Company, Contact
from teamcrm.ids import CompanyId, ContactId, MemberId, TeamId
from teamcrm.interaction import InteractionKind
from teamcrm.lead import (
    Lead,
)
from teamcrm.pool import PoolId
from teamcrm.search import (
    CompanyQuery,
    ContactQuery,
    SavedFilter,
    SavedFilterId,
    SearchScope,
    company_matches,
    matches,
)
from teamcrm.team import Member
from teamcrm.views import GridFacts, day_start, grid_page_from_facts


# ------------------------------------------------------- search and management views
class _Views:
    """Search, grid and insight queries by scanning the tables (the reference behaviour)."""

    def __init__(self, tables: MemoryTables) -> None:
        self._s = tables

    def _contacts(self, team_id: str) -> list[Contact]:
        rows = [c for c in self._s.table("contacts").values() if c.team_id == team_id]
        return sorted(rows, key=lambda c: (c.created_at, c.id))

    def _open_leads(self, team_id: str) -> list[Lead]:
        leads = [
            ld for ld in self._s.table("leads").values() if ld.team_id == team_id and ld.is_open
        ]
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
        for m in self._s.table("memberships").values():
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
            touch = self._s.table("touches_team").get((team_id, c.id))
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
        for m in self._s.table("memberships").values():
            if m.team_id == team_id:
                held.setdefault(m.item_id, set()).add(m.bucket_id)
        rows = sorted(
            (c for c in self._s.table("companies").values() if c.team_id == team_id),
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
            touch = self._s.table("touches_team").get((team_id, cid))
            if touch is not None:
                out[cid] = touch.at
        return out

    def interaction_counts(
        self, team_id: TeamId, member_id: MemberId, start: datetime, end: datetime
    ) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in self._s.table("interactions").values():
            if i.team_id == team_id and i.author_id == member_id and start <= i.occurred_at < end:
                counts[i.kind.value] = counts.get(i.kind.value, 0) + 1
        return counts

    def _first_touch(
        self, team_id: str, contact_id: str, member_id: str, since: datetime, until: datetime | None
    ) -> datetime | None:
        times = [
            i.occurred_at
            for i in self._s.table("interactions").values()
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
            for ld in self._s.table("leads").values()
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
            contact = self._s.table("contacts").get(lead.contact_id)
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
                            for i in self._s.table("interactions").values()
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
            for t in self._s.table("tasks").values()
            if t.team_id == team_id and t.contact_id == contact_id and t.is_open and t.due_at > now
        ]
        times.extend(
            day_start(r.due_on)
            for r in self._s.table("followup_dues").values()
            if r.team_id == team_id and r.contact_id == contact_id and day_start(r.due_on) > now
        )
        return min(times, default=None)

    def members_named(self, name: str) -> list[Member]:
        wanted = name.casefold()
        rows = [m for m in self._s.table("members").values() if m.name.casefold() == wanted]
        return sorted(rows, key=lambda m: (m.created_at, m.id))

    def members_with_email(self, email: str) -> list[Member]:
        wanted = email.strip().casefold()
        rows = [
            m
            for m in self._s.table("members").values()
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


def memory_views(t: MemoryTables) -> _Views:
    """``uow.views`` of a memory unit."""
    return _Views(t)


def memory_saved_filters(t: MemoryTables) -> _SavedFilters:
    """``uow.saved_filters`` of a memory unit."""
    return _SavedFilters(t.table("saved_filters"))
