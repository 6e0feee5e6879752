"""Use cases of the management views: search, saved filters, the agent grid, insights.

Every method returns plain data (:class:`~teamcrm.views.View` of frozen rows
or saved filters) and only ever shows what the acting member may see.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from teamcrm import permissions as perm
from teamcrm.errors import AlreadyExists, NotFound, ValidationError
from teamcrm.followup import FollowUpRow, RowKind
from teamcrm.ids import PREFIXES, MemberId
from teamcrm.phones import DEFAULT_REGION
from teamcrm.pool import PoolId
from teamcrm.ports import UnitOfWork
from teamcrm.search import (
    MAX_PAGE,
    CompanyQuery,
    ContactQuery,
    SavedFilter,
    SavedFilterId,
    SearchScope,
    decode_cursor,
    encode_cursor,
    new_saved_filter_id,
    query_from_mapping,
)
from teamcrm.service.base import SessionBase, bumped
from teamcrm.service.followups import MAX_LIST
from teamcrm.service.paging import Page, member_cursor, member_key
from teamcrm.team import Member
from teamcrm.validation import (
    MAX_NAME,
    check_duration,
    check_id,
    check_int,
    check_phone,
    check_text,
    check_time,
)
from teamcrm.views import (
    DEFAULT_RESPONSE_WINDOW,
    CompanyRow,
    DueRow,
    GridRow,
    InsightRow,
    SearchRow,
    View,
    grid_row,
    percentile,
)

__all__ = ["ViewUseCases"]


def _query(
    query: ContactQuery | Mapping[str, Any] | None, criteria: Mapping[str, Any]
) -> ContactQuery:
    if query is None:
        return query_from_mapping(criteria)
    if criteria:
        raise ValidationError(
            "criteria", sorted(criteria)[0], "give either a ContactQuery or keyword criteria"
        )
    if isinstance(query, ContactQuery):
        return query
    if isinstance(query, Mapping):
        return query_from_mapping(query)
    raise ValidationError("query", query, "must be a ContactQuery, a mapping or None")


def _window(value: Any) -> timedelta:
    return check_duration("response_window", value)


class ViewUseCases(SessionBase):
    """Search, saved filters, the agent grid and insights."""

    if TYPE_CHECKING:  # provided by FollowUpUseCases in MemberSession

        def follow_ups(
            self,
            member_id: MemberId | None = None,
            *,
            at: datetime | None = None,
            limit: int | None = 100,
        ) -> list[FollowUpRow]: ...

    # ================================================================ search
    def search(
        self,
        query: ContactQuery | Mapping[str, Any] | None = None,
        *,
        limit: int = 50,
        after: str | None = None,
        **criteria: Any,
    ) -> View[SearchRow]:
        """Search the contacts the member may see; one page, oldest first.

        Pass a :class:`~teamcrm.search.ContactQuery` or its fields as
        keywords (``search(name="zoe", status="active")``).  Criteria combine
        with AND.  The page's ``next_cursor`` (``None`` on the last page) is
        the *after* of the next call.
        """
        q = _query(query, criteria)
        check_int("limit", limit, minimum=1, maximum=MAX_PAGE)
        start = None if after is None else decode_cursor(after)
        raw = criteria.get("phone") if query is None else None
        if isinstance(query, Mapping):
            raw = query.get("phone")
        with self._unit(write=False) as (uow, actor):
            if q.phone is not None:
                region = self._phone_region(uow, actor)
                if region != DEFAULT_REGION or not q.phone.startswith("+"):
                    typed = raw if isinstance(raw, str) else q.phone
                    q = attrs.evolve(q, phone=check_phone("ContactQuery.phone", typed, region))
            return self._search(uow, actor, q, limit, start, title=f"Search: {q.describe()}")

    def _scope(self, uow: UnitOfWork, actor: Member) -> SearchScope | None:
        if actor.role.is_manager:
            return None
        visible = frozenset(
            b.id for b in uow.buckets.all(self.team_id) if perm.can_view_bucket(actor, b)
        )
        return SearchScope(member_id=actor.id, bucket_ids=visible)

    def _check_query(self, uow: UnitOfWork, actor: Member, q: ContactQuery) -> None:
        """Referenced records must exist (and a bucket or company be visible to the member)."""
        if q.bucket_id is not None:
            self._bucket(uow, actor, q.bucket_id)
        if q.company_id is not None:  # a company out of sight is NotFound: no existence oracle
            self._visible_company(uow, actor, q.company_id)
        if q.assignee_id is not None:
            uow.members.get(self.team_id, MemberId(q.assignee_id))
        if q.status is not None:
            statuses = uow.teams.get(self.team_id).settings.statuses
            if q.status not in statuses:
                raise ValidationError(
                    "ContactQuery.status", q.status, f"must be one of {statuses!r}"
                )

    def _search(
        self,
        uow: UnitOfWork,
        actor: Member,
        q: ContactQuery,
        limit: int,
        after: Any,
        *,
        title: str,
    ) -> View[SearchRow]:
        self._check_query(uow, actor, q)
        found = uow.views.search(
            self.team_id, q, scope=self._scope(uow, actor), after=after, limit=limit + 1
        )
        more = len(found) > limit
        page = self._shown(uow, actor, found[:limit])
        touched = uow.views.last_contacted(self.team_id, [c.id for c in page])
        rows = [
            SearchRow(
                contact_id=c.id,
                name=c.display_name,
                status=c.status,
                email=c.emails[0].address if c.emails else None,
                phone=c.phones[0].number if c.phones else None,
                source=c.source,
                created_at=c.created_at,
                last_contacted_at=touched.get(c.id),
                contact=c,
            )
            for c in page
        ]
        cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
        return View.of(title, SearchRow, rows, next_cursor=cursor)

    def search_companies(
        self,
        name: str | None = None,
        *,
        domain: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> View[CompanyRow]:
        """Search the companies the member may see by name and/or domain; one page, oldest first.

        *name* finds companies whose name has words starting so (as for
        contacts, accents and case ignored); *domain* equals the company's
        domain but for the case of ASCII letters.  Admins and managers see
        every company; others the companies they created or that a bucket
        they may view holds.  The page's ``next_cursor`` is the next *after*.
        """
        q = CompanyQuery(name=name, domain=domain)
        check_int("limit", limit, minimum=1, maximum=MAX_PAGE)
        start = None if after is None else decode_cursor(after, PREFIXES["company"])
        with self._unit(write=False) as (uow, actor):
            found = uow.views.search_companies(
                self.team_id,
                q,
                scope=self._scope(uow, actor),
                after=start,  # type: ignore[arg-type]
                limit=limit + 1,
            )
        page = found[:limit]
        rows = [
            CompanyRow(
                company_id=c.id, name=c.name, domain=c.domain, created_at=c.created_at, company=c
            )
            for c in page
        ]
        cursor = (
            encode_cursor(page[-1].created_at, page[-1].id) if len(found) > limit and page else None
        )
        described = ", ".join(
            f"{k} = {v!r}" for k, v in (("name", name), ("domain", domain)) if v is not None
        )
        return View.of(f"Companies: {described or 'all'}", CompanyRow, rows, next_cursor=cursor)

    # ========================================================= saved filters
    def save_filter(
        self,
        name: str,
        query: ContactQuery | Mapping[str, Any],
        *,
        shared: bool = False,
    ) -> SavedFilter:
        """Save *query* by *name*, for oneself or (``shared=True``) for the team.

        Team filters are saved by managers and admins only.  Names are unique
        among one's own filters and among the team's.
        """
        name = check_text("name", name, max_len=MAX_NAME)
        q = _query(query, {})
        if not isinstance(shared, bool):
            raise ValidationError("shared", shared, "must be True or False")
        with self._unit() as (uow, actor):
            if shared:
                perm.require(
                    actor.role.is_manager,
                    actor,
                    "save a filter for the team",
                    "managers and admins only",
                )
            self._check_query(uow, actor, q)
            self._unique_name(uow, actor, name, shared, except_id=None)
            saved = SavedFilter(
                id=new_saved_filter_id(),
                team_id=self.team_id,
                owner_id=actor.id,
                name=name,
                query=q,
                shared=shared,
                created_at=self.crm.now(),
            )
            uow.saved_filters.add(saved)
            uow.commit()
            return saved

    def _unique_name(
        self, uow: UnitOfWork, actor: Member, name: str, shared: bool, except_id: str | None
    ) -> None:
        for f in uow.saved_filters.for_member(self.team_id, actor.id):
            if f.id == except_id or f.shared != shared:
                continue
            if (shared or f.owner_id == actor.id) and f.name.casefold() == name.casefold():
                raise AlreadyExists("saved filter", name)

    def saved_filters(self) -> list[SavedFilter]:
        """The member's own filters and the team's, by name."""
        with self._unit(write=False) as (uow, actor):
            return uow.saved_filters.for_member(self.team_id, actor.id)

    def _saved(self, uow: UnitOfWork, actor: Member, filter_id: str) -> SavedFilter:
        check_id("filter_id", filter_id, PREFIXES["saved_filter"])
        saved = uow.saved_filters.get(self.team_id, SavedFilterId(filter_id))
        if not saved.shared and saved.owner_id != actor.id:
            raise NotFound("saved filter", filter_id)  # someone else's: not even its existence
        return saved

    def _changeable(
        self, uow: UnitOfWork, actor: Member, filter_id: str, action: str
    ) -> SavedFilter:
        saved = self._saved(uow, actor, filter_id)
        if saved.shared:
            perm.require(
                actor.role.is_manager, actor, action, "team filters: managers and admins only"
            )
        return saved

    def run_filter(
        self, filter_id: SavedFilterId, *, limit: int = 50, after: str | None = None
    ) -> View[SearchRow]:
        """Run a saved filter (one's own or the team's) as the acting member."""
        check_int("limit", limit, minimum=1, maximum=MAX_PAGE)
        start = None if after is None else decode_cursor(after)
        with self._unit(write=False) as (uow, actor):
            saved = self._saved(uow, actor, filter_id)
            return self._search(uow, actor, saved.query, limit, start, title=saved.name)

    def rename_filter(self, filter_id: SavedFilterId, name: str) -> SavedFilter:
        """Rename a saved filter (one's own; a team filter: managers and admins)."""
        name = check_text("name", name, max_len=MAX_NAME)
        with self._unit() as (uow, actor):
            saved = self._changeable(uow, actor, filter_id, "rename this filter")
            self._unique_name(uow, actor, name, saved.shared, except_id=saved.id)
            renamed: SavedFilter = bumped(saved, name=name)
            uow.saved_filters.update(renamed)
            uow.commit()
            return renamed

    def delete_filter(self, filter_id: SavedFilterId) -> None:
        """Delete a saved filter (one's own; a team filter: managers and admins)."""
        with self._unit() as (uow, actor):
            saved = self._changeable(uow, actor, filter_id, "delete this filter")
            uow.saved_filters.delete(self.team_id, saved.id, saved.version)
            uow.commit()

    # ============================================================ agent grid
    def agent_grid(
        self,
        *,
        status: str | None = None,
        assignee: MemberId | None = None,
        pool_id: PoolId | None = None,
        response_window: timedelta = DEFAULT_RESPONSE_WINDOW,
        limit: int = 100,
        at: datetime | None = None,
    ) -> View[GridRow]:
        """The agent grid (seed 001), worst first: admins and managers only.

        One row per open lead and owner, for the contacts picked by *status*,
        *assignee* and *pool_id* (each optional, combined with AND).  The
        signals follow the rules on :class:`~teamcrm.views.GridRow`; the
        "first status" is the team's status for new leads.  At most *limit*
        rows: those with the most red signals, then the longest wait.
        """
        check_int("limit", limit, minimum=1, maximum=MAX_LIST)
        window = _window(response_window)
        if assignee is not None:
            check_id("assignee", assignee, PREFIXES["member"])
        if pool_id is not None:
            check_id("pool_id", pool_id, PREFIXES["pool"])
        now = self.crm.now() if at is None else check_time("at", at)
        with self._unit(write=False) as (uow, actor):
            perm.require(
                actor.role.is_manager, actor, "see the agent grid", "admins and managers only"
            )
            settings = uow.teams.get(self.team_id).settings
            if status is not None and status not in settings.statuses:
                raise ValidationError("status", status, f"must be one of {settings.statuses!r}")
            if assignee is not None:
                uow.members.get(self.team_id, MemberId(assignee))
            pools: dict[str, str] = {p.id: p.name for p in uow.lead_pools.all(self.team_id)}
            if pool_id is not None and pool_id not in pools:
                raise NotFound("lead pool", pool_id)
            first = settings.new_lead_status
            facts = uow.views.grid_page(
                self.team_id,
                status=status,
                assignee_id=MemberId(assignee) if assignee else None,
                pool_id=PoolId(pool_id) if pool_id else None,
                now=now,
                window=window,
                first_status=first,
                limit=limit,
            )
            names: dict[str, str] = {m.id: m.name for m in uow.members.all(self.team_id)}
        rows = [
            grid_row(
                f, first_status=first, now=now, window=window, member_names=names, pool_names=pools
            )
            for f in facts
        ]
        picked = [
            f"{k} = {v}"
            for k, v in (
                ("status", status),
                ("assignee", names.get(str(assignee), assignee)),
                ("pool", pools.get(str(pool_id), pool_id)),
            )
            if v is not None
        ]
        title = "Agent grid" + (f" ({', '.join(picked)})" if picked else "")
        return View.of(title, GridRow, rows)

    # ============================================================== insights
    def insights(
        self,
        member_id: MemberId | None = None,
        *,
        start: datetime,
        end: datetime,
    ) -> View[InsightRow]:
        """Per-member figures over ``[start, end)``: leads, first touch, overdue, interactions.

        Without *member_id*: every active member for admins and managers,
        oneself for agents.  Agents see only their own figures.
        """
        rows, _ = self._insights(member_id, start, end, None, None)
        return View.of(f"Insights {start:%Y-%m-%d} to {end:%Y-%m-%d}", InsightRow, rows)

    def insights_page(
        self, *, start: datetime, end: datetime, limit: int = 100, after: str | None = None
    ) -> Page[InsightRow]:
        """One page of :meth:`insights` without *member_id*, by (name case-folded, member id).

        Only the page's members have their figures computed; rights are read
        on every page (every active member for admins and managers, oneself
        for agents).  Paging through every page gives the rows of :meth:`insights`.
        """
        check_int("limit", limit, minimum=1, maximum=MAX_PAGE)
        key = None if after is None else member_key(after)
        rows, more = self._insights(None, start, end, key, limit)
        cursor = None
        if more:
            cursor = member_cursor(rows[-1].member_name, rows[-1].member_id)
        return Page(rows, next_cursor=cursor, title=f"Insights {start:%Y-%m-%d} to {end:%Y-%m-%d}")

    def _insights(
        self,
        member_id: MemberId | None,
        start: datetime,
        end: datetime,
        after: tuple[str, str] | None,
        limit: int | None,
    ) -> tuple[list[InsightRow], bool]:
        """The insight rows (members after *after*, at most *limit*), and whether more follow."""
        start = check_time("start", start)
        end = check_time("end", end)
        if end <= start:
            raise ValidationError("end", end, "must be after start")
        if member_id is not None:
            check_id("member_id", member_id, PREFIXES["member"])
        with self._unit(write=False) as (uow, actor):
            if member_id is None:
                if actor.role.is_manager:
                    members = [m for m in uow.members.all(self.team_id) if m.active]
                    members.sort(key=lambda m: (m.name.casefold(), m.id))
                else:
                    members = [actor]
            else:
                target = self._member(uow, member_id)
                perm.require(
                    target.id == actor.id or actor.role.is_manager,
                    actor,
                    "see another member's insights",
                    "admins and managers only",
                )
                members = [target]
            if after is not None:
                members = [m for m in members if (m.name.casefold(), m.id) > after]
            more = limit is not None and len(members) > limit
            members = members[:limit]
            figures = []
            for m in members:
                touches = uow.views.lead_touches(self.team_id, m.id, start, end)
                waits = [first - assigned for assigned, first in touches if first is not None]
                counts = uow.views.interaction_counts(self.team_id, m.id, start, end)
                figures.append((m, touches, waits, counts))
        at = min(end, self.crm.now())
        rows = []
        for m, touches, waits, counts in figures:
            rows.append(
                InsightRow(
                    member_id=m.id,
                    member_name=m.name,
                    leads_received=len(touches),
                    first_touch_median=percentile(waits, 50),
                    first_touch_p90=percentile(waits, 90),
                    untouched_leads=len(touches) - len(waits),
                    overdue_follow_ups=self._overdue(m.id, at),
                    interactions=counts,
                )
            )
        return rows, more

    def _overdue(self, member_id: MemberId, at: datetime) -> int:
        rows = self.follow_ups(member_id, at=at, limit=None)  # every one, no cap
        return sum(
            1
            for r in rows
            if (r.kind is RowKind.TASK and r.due_at < at)
            or (r.kind is not RowKind.TASK and r.days_overdue >= 1)
        )

    # ========================================================= follow-up list
    def due(
        self,
        member_id: MemberId | None = None,
        *,
        at: datetime | None = None,
        limit: int = 100,
    ) -> View[DueRow]:
        """The member's follow-up list (:meth:`follow_ups`) as a view."""
        rows = self.follow_ups(member_id, at=at, limit=limit)
        with self._unit(write=False) as (uow, _):
            name = self._member(uow, member_id or self.member_id).name
        return View.of(
            f"Follow-ups due for {name}", DueRow, [DueRow.from_follow_up(r) for r in rows]
        )
