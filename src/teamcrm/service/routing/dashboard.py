"""The routing dashboard: every open lead with its owner and last contact, and its pages.

:meth:`~teamcrm.service.routing.RoutingUseCases.routing_dashboard` reads
every lead of the team (or pool) and sorts the rows by any column; a web
page of a large team reads :meth:`DashboardPagingUseCases.routing_dashboard_page`
instead: the rows of up to *limit* leads, in the order leads were created
(``created_at``, lead id; a lead with several owners gives one row per
owner, as in the list), after the cursor of the previous page — one index
range of the leads (``leads.page``), so the thousandth page costs what the
first does.  Paging through every page gives exactly
``routing_dashboard(sort_by="created_at")`` with the same filters.

Rights are read on every page: admins and managers only, as for the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from teamcrm import permissions as perm
from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, MemberId, TeamId
from teamcrm.lead import (
    Lead,
    LeadRow,
    LeadStatus,
)
from teamcrm.pool import PoolId
from teamcrm.ports import UnitOfWork
from teamcrm.rows import Rows
from teamcrm.search import MAX_PAGE
from teamcrm.service.base import SessionBase
from teamcrm.service.paging import Key, Page, _cursor, _fill, _follow, _start
from teamcrm.service.routing.common import (
    DASHBOARD_SORTS,
    UNASSIGNED,
    DashboardSort,
    _name,
)
from teamcrm.service.routing.session import RoutingBase
from teamcrm.unit_of_work import read_ahead, reads_ahead
from teamcrm.validation import check_id, check_int


class DashboardUseCases(RoutingBase):
    """The routing dashboard."""

    def routing_dashboard(
        self,
        *,
        pool_id: PoolId | None = None,
        assignee: MemberId | None = None,
        sort_by: DashboardSort = "assigned_at",
        descending: bool = False,
        include_removed: bool = False,
    ) -> Rows[LeadRow]:
        """Return the routing dashboard (admins and managers): one row per lead and owner.

        Filter by pool and by *assignee* (a member id, or :data:`UNASSIGNED`
        for leads nobody owns).  Each row tells when its owner got the lead
        and when that owner last contacted it (their newest interaction up to
        now).  Sorted by *sort_by* (one of :data:`DASHBOARD_SORTS`; empty
        values last), ties by lead id.  The list is a
        :class:`~teamcrm.rows.Rows` (a ``list`` that shows itself as a table).
        """
        return Rows(
            self._dashboard_rows(pool_id, assignee, sort_by, descending, include_removed),
            title="Routing dashboard",
        )

    def _dashboard_rows(
        self,
        pool_id: PoolId | None,
        assignee: MemberId | None,
        sort_by: str,
        descending: bool,
        include_removed: bool,
    ) -> list[LeadRow]:
        if not isinstance(sort_by, str) or sort_by not in DASHBOARD_SORTS:
            raise ValidationError("sort_by", sort_by, f"must be one of {sorted(DASHBOARD_SORTS)}")
        for flag, value in (("descending", descending), ("include_removed", include_removed)):
            if not isinstance(value, bool):
                raise ValidationError(flag, value, "must be True or False")
        if pool_id is not None:
            check_id("pool_id", pool_id, PREFIXES["pool"])
        if assignee is not None and assignee != UNASSIGNED:
            check_id("assignee", assignee, PREFIXES["member"])
        with self._unit(write=False) as (uow, actor):
            perm.require(
                actor.role.is_manager,
                actor,
                "see the routing dashboard",
                "admins and managers only",
            )
            now = self.crm.now()
            leads = uow.leads.all(self.team_id, pool_id=PoolId(pool_id) if pool_id else None)
            rows = dashboard_rows(
                uow,
                self.team_id,
                leads,
                assignee=assignee,
                include_removed=include_removed,
                now=now,
            )
        present = [r for r in rows if getattr(r, sort_by) is not None]
        missing = [r for r in rows if getattr(r, sort_by) is None]
        present.sort(key=lambda r: (getattr(r, sort_by), r.lead_id), reverse=descending)
        missing.sort(key=lambda r: r.lead_id)
        return present + missing


def dashboard_rows(
    uow: UnitOfWork,
    team_id: TeamId,
    leads: Sequence[Lead],
    *,
    assignee: MemberId | None,
    include_removed: bool,
    now: datetime,
) -> list[LeadRow]:
    """The dashboard rows of *leads*, in their order: one per lead and owner that match.

    The owners' last contacts are read in one call for every owned contact
    of the page (:meth:`~teamcrm.ports.InteractionRepository.last_by_author`),
    so a page takes the same statements whatever its size, and a store that
    reads ahead gets every read of the page in one round trip: the pools,
    the members, the contacts and the last contacts.
    """
    contact_ids = list(dict.fromkeys(ld.contact_id for ld in leads))
    shown = [ld for ld in leads if include_removed or ld.status is not LeadStatus.REMOVED]
    owned = list(dict.fromkeys(ld.contact_id for ld in shown if any(_owners(ld, assignee))))
    if reads_ahead(uow):
        reads: list[Callable[[], object]] = [
            lambda: uow.lead_pools.all(team_id),
            lambda: uow.members.all(team_id),
            lambda: uow.contacts.get_many(team_id, contact_ids),
        ]
        if owned:
            reads.append(lambda: uow.interactions.last_by_author(team_id, owned, until=now))
        read_ahead(uow, *reads)
    pools = {p.id: p for p in uow.lead_pools.all(team_id)}
    members = {m.id: m for m in uow.members.all(team_id)}
    contacts = {c.id: c for c in uow.contacts.get_many(team_id, contact_ids)}
    last = uow.interactions.last_by_author(team_id, owned, until=now) if owned else {}

    def last_contact(lead: Lead, owner: MemberId | None) -> datetime | None:
        """When *owner* last contacted the lead's contact (their newest interaction up to now)."""
        return None if owner is None else last.get((lead.contact_id, owner))

    rows: list[LeadRow] = []
    for lead in shown:
        for owner in _owners(lead, assignee):
            pool = pools.get(lead.pool_id) if lead.pool_id else None
            member = members.get(owner) if owner else None
            rows.append(
                LeadRow(
                    lead_id=lead.id,
                    contact_id=lead.contact_id,
                    contact_name=_name(contacts.get(lead.contact_id)),
                    pool_id=lead.pool_id,
                    pool_name=pool.name if pool is not None else None,
                    status=lead.status,
                    assignee_id=owner,
                    assignee_name=member.name if member is not None else None,
                    assigned_at=lead.assigned_at if owner else None,
                    last_contacted_at=last_contact(lead, owner),
                    created_at=lead.created_at,
                    role=lead.role,
                )
            )
    return rows


def _owners(lead: Lead, assignee: MemberId | None) -> list[MemberId | None]:
    """The owners *lead* has a row for under the *assignee* filter (``None``: nobody owns it)."""
    owners: Sequence[MemberId | None] = lead.assignee_ids or (None,)
    if assignee == UNASSIGNED:
        return [o for o in owners if o is None]
    if assignee is not None:
        return [o for o in owners if o == assignee]
    return list(owners)


class DashboardPagingUseCases(SessionBase):
    """Keyset pages of the routing dashboard (mixed into ``MemberSession``)."""

    def routing_dashboard_page(
        self,
        *,
        pool_id: PoolId | None = None,
        assignee: MemberId | None = None,
        include_removed: bool = False,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[LeadRow]:
        """The dashboard rows of up to *limit* leads, by (``created_at``, lead id).

        >>> page = session.routing_dashboard_page(limit=50)  # doctest: +SKIP
        >>> more = session.routing_dashboard_page(after=page.next_cursor)  # doctest: +SKIP
        """
        pool = None if pool_id is None else PoolId(check_id("pool_id", pool_id, PREFIXES["pool"]))
        if assignee is not None and assignee != UNASSIGNED:
            check_id("assignee", assignee, PREFIXES["member"])
        if not isinstance(include_removed, bool):
            raise ValidationError("include_removed", include_removed, "must be True or False")
        check_int("limit", limit, minimum=1, maximum=MAX_PAGE)
        start = _start(after, PREFIXES["lead"])

        def first_page(uow: UnitOfWork) -> list[Callable[[], object]]:
            """The first read of the page, sent with the actor's (``_fill`` asks limit + 1)."""
            return [
                lambda: uow.leads.page(self.team_id, pool_id=pool, after=start, limit=limit + 1)
            ]

        with self._unit(write=False, ahead=first_page) as (uow, actor):
            perm.require(
                actor.role.is_manager,
                actor,
                "see the routing dashboard",
                "admins and managers only",
            )
            now = self.crm.now()

            def fetch(at: Key | None, n: int) -> list[Lead]:
                return uow.leads.page(self.team_id, pool_id=pool, after=at, limit=n)

            def keep(leads: list[Lead]) -> list[tuple[Lead, list[LeadRow]]]:
                rows = dashboard_rows(
                    uow,
                    self.team_id,
                    leads,
                    assignee=assignee,
                    include_removed=include_removed,
                    now=now,
                )
                by_lead: dict[str, list[LeadRow]] = {}
                for row in rows:
                    by_lead.setdefault(row.lead_id, []).append(row)
                return [(ld, by_lead[ld.id]) for ld in leads if ld.id in by_lead]

            groups, last = _fill(fetch, keep, lambda ld: (ld.created_at, ld.id), start, limit)
        rows = [row for group in groups for row in group]
        return Page(rows, next_cursor=_cursor(last), title="Routing dashboard")

    def iter_routing_dashboard(
        self,
        *,
        pool_id: PoolId | None = None,
        assignee: MemberId | None = None,
        include_removed: bool = False,
        page_size: int = 500,
    ) -> Iterator[LeadRow]:
        """Every row of :meth:`routing_dashboard_page`, read page by page."""
        return _follow(
            lambda after: self.routing_dashboard_page(
                pool_id=pool_id,
                assignee=assignee,
                include_removed=include_removed,
                limit=page_size,
                after=after,
            )
        )
