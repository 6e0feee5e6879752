"""Use cases for lead routing: pools, routing, offers, assignment actions, the dashboard.

Routing happens in the unit of work of the change that triggers it: adding
contacts to a source bucket of an active pool creates their leads and routes
them before the unit commits, so a lead exists (and is routed, notified and
counted on the round-robin cursor) exactly when the bucket change is
committed.  The round-robin cursor is read from the store inside that unit
and written back with a version check, so two processes never hand out the
same turn (on SQLite the whole unit also runs under ``BEGIN IMMEDIATE``).

Every call that routes returns :class:`RoutingResult`\\ s whose
``explanation`` says why; :meth:`RoutingUseCases.explain` returns the
explanation stored with a lead.

Capacity and loads are read inside the unit too (the lead repository keeps
per-member receipts and open-lead counts in the same transaction), so a cap
is never exceeded even with several processes routing at once.
"""

from __future__ import annotations

from teamcrm.service.routing.assignment import AssignmentUseCases
from teamcrm.service.routing.common import (
    DASHBOARD_SORTS,
    INBOUND_BUCKET_NAME,
    LEAD_COLUMNS,
    POOL_FIELDS,
    UNASSIGNED,
    DashboardSort,
    RoutingResult,
)
from teamcrm.service.routing.dashboard import DashboardUseCases
from teamcrm.service.routing.jobs import (
    enforce_response_windows,
    expire_due_offers,
    expire_offers,
    pass_on_unanswered_leads,
)
from teamcrm.service.routing.leads import LeadReadingUseCases
from teamcrm.service.routing.offers import OfferUseCases
from teamcrm.service.routing.pools import PoolUseCases
from teamcrm.service.routing.reactions import (
    apply_new_lead_status,
    apply_new_lead_status_ahead,
    close_leads_of_deleted_contact,
    new_lead_status_held,
    route_entries,
    route_entries_ahead,
)
from teamcrm.service.routing.roles import RoleUseCases
from teamcrm.service.routing.router import Router

__all__ = [
    "DASHBOARD_SORTS",
    "INBOUND_BUCKET_NAME",
    "LEAD_COLUMNS",
    "POOL_FIELDS",
    "UNASSIGNED",
    "DashboardSort",
    "Router",
    "RoutingResult",
    "RoutingUseCases",
    "apply_new_lead_status",
    "apply_new_lead_status_ahead",
    "close_leads_of_deleted_contact",
    "enforce_response_windows",
    "expire_due_offers",
    "expire_offers",
    "new_lead_status_held",
    "pass_on_unanswered_leads",
    "route_entries",
    "route_entries_ahead",
]


class RoutingUseCases(
    PoolUseCases,
    LeadReadingUseCases,
    AssignmentUseCases,
    RoleUseCases,
    OfferUseCases,
    DashboardUseCases,
):
    """Lead pools, routing, offers, assignment actions, the routing dashboard.

    One room per concept (``pools``, ``leads``, ``assignment``, ``roles``,
    ``offers``, ``dashboard``); the rooms share only :class:`RoutingBase`,
    define no method twice (``tests/architecture/test_routing_rooms.py`` checks it) and
    so do not depend on the order of these bases.
    """
