"""Batch jobs: offers that expire, owners who let a response window pass.

Each job takes a store, a time and the reactions to run
(:func:`expire_due_offers`, :func:`pass_on_unanswered_leads`), so a worker
can run it without a whole :class:`~teamcrm.CRM`; :func:`expire_offers` and
:func:`enforce_response_windows` run them for a CRM at its clock's time.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from teamcrm.lead import OfferStatus
from teamcrm.validation import check_time

if TYPE_CHECKING:
    from teamcrm.ports import Store
    from teamcrm.service.crm import CRM
    from teamcrm.service.reactions import Reactions
from teamcrm.routing import DEFAULT_STRATEGIES, StrategyRegistry
from teamcrm.service.routing.common import (
    EXPIRY_BATCH,
    RESPONSE_BATCH,
)
from teamcrm.service.routing.router import Router


def enforce_response_windows(crm: CRM, now: datetime | None = None) -> int:
    """Reassign every lead whose owner let its pool's response window pass; return how many.

    A lead assigned to one member of a pool with a ``response_window`` must
    get an interaction by that member with the contact (a call, email,
    note... - viewing does not count) within the window.  If not, it is
    reassigned by the pool's method to someone else (the owner is passed
    over as ``no_response``), and both are told; if nobody else can take it
    it stays and the fallback (or the admins) and the owner are told.

    Idempotent and safe to run in several processes at once: each batch is
    read and settled inside one unit of work, and a settled lead's
    ``respond_by`` is cleared or moved past *now*.
    """
    at = crm.now() if now is None else check_time("now", now)
    return pass_on_unanswered_leads(crm.store, at, crm.reactions, crm.strategies)


def pass_on_unanswered_leads(
    store: Store,
    at: datetime,
    reactions: Reactions,
    strategies: StrategyRegistry = DEFAULT_STRATEGIES,
) -> int:
    """The job behind :func:`enforce_response_windows`: a store, a time, the reactions
    and the routing strategies."""
    total = 0
    while True:
        with store.unit_of_work() as uow:
            due = uow.leads.response_due(at, RESPONSE_BATCH)
            if not due:
                return total
            routers: dict[str, Router] = {}
            for lead in due:
                router = routers.get(lead.team_id)
                if router is None:
                    router = routers[lead.team_id] = Router(
                        uow, lead.team_id, None, at, reactions, strategies
                    )
                if router.enforce_response(lead) is not None:
                    total += 1
            for router in routers.values():
                router.flush()
            uow.commit()
        if len(due) < RESPONSE_BATCH:
            return total


def expire_offers(crm: CRM, now: datetime | None = None) -> int:
    """Expire every open offer whose window has passed by *now*; return how many.

    Idempotent and safe to run in several processes at once: each batch is
    read and settled inside one unit of work, so an offer settled by another
    process is no longer due when this one looks.
    """
    at = crm.now() if now is None else check_time("now", now)
    return expire_due_offers(crm.store, at, crm.reactions, crm.strategies)


def expire_due_offers(
    store: Store,
    at: datetime,
    reactions: Reactions,
    strategies: StrategyRegistry = DEFAULT_STRATEGIES,
) -> int:
    """The job behind :func:`expire_offers`: a store, a time, the reactions and the strategies."""
    total = 0
    while True:
        with store.unit_of_work() as uow:
            due = uow.offers.due(at, EXPIRY_BATCH)
            if not due:
                return total
            routers: dict[str, Router] = {}
            for offer in due:
                router = routers.get(offer.team_id)
                if router is None:
                    router = routers[offer.team_id] = Router(
                        uow, offer.team_id, None, at, reactions, strategies
                    )
                lead = uow.leads.get(offer.team_id, offer.lead_id)
                router.close_offer(offer, OfferStatus.EXPIRED, lead)
            for router in routers.values():
                router.flush()
            uow.commit()
            total += len(due)
        if len(due) < EXPIRY_BATCH:
            return total
