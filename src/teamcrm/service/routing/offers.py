"""Use cases of the agents: accepting, declining and rejecting offers and leads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from teamcrm import permissions as perm
from teamcrm.errors import NotFound, OfferClosed, ValidationError
from teamcrm.events import EventName
from teamcrm.ids import PREFIXES
from teamcrm.lead import (
    Lead,
    LeadId,
    LeadStatus,
    Offer,
    OfferId,
    OfferStatus,
)
from teamcrm.multi_assign import accepts_co_owners, may_hold_open_offers
from teamcrm.notification import NotificationKind
from teamcrm.ports import UnitOfWork
from teamcrm.routing import (
    RoutingDecision,
    RoutingExplanation,
    RoutingOutcome,
    Skipped,
    SkipReason,
)
from teamcrm.service.base import bumped
from teamcrm.service.routing.common import (
    RoutingResult,
    _note,
)
from teamcrm.service.routing.session import RoutingBase
from teamcrm.team import Member
from teamcrm.validation import check_id


class OfferUseCases(RoutingBase):
    """What an agent does with an offer or a lead he was given."""

    def accept_offer(self, offer_id: OfferId) -> RoutingResult:
        """Accept an offer made to oneself: the first to accept owns the lead.

        An offer of ``assign_to_several(..., mode="all_can_accept")`` makes one
        a co-owner instead, and leaves the other offers open.

        Raises :class:`~teamcrm.errors.OfferClosed` when someone else took the
        lead first, when the offer expired (even if the expiry job has not run
        yet), or when it was withdrawn or already answered.
        """
        with self._unit() as (uow, actor):
            now = self.crm.now()
            offer, lead = self._own_offer(uow, actor, offer_id, now)
            router = self._router(uow, actor.id, now)
            pool = router.pool(lead.pool_id)
            if pool is not None and actor.id not in pool.member_ids:
                perm.require(False, actor, "accept this offer", "the member is not in the pool")
            if pool is not None and router.is_full(pool, actor.id):
                raise OfferClosed(offer.id, "full")
            if accepts_co_owners(lead):  # all_can_accept: one more co-owner
                from teamcrm.service.multi_assign import accept_as_co_owner

                result = accept_as_co_owner(router, actor, offer, lead, pool)
                router.flush()
                uow.commit()
                return result
            accepted = bumped(offer, status=OfferStatus.ACCEPTED, settled_at=now)
            uow.offers.update(accepted)
            router.withdraw_offers(lead, except_id=offer.id)
            decision = RoutingDecision(
                explanation=RoutingExplanation(
                    method="accept",
                    outcome=RoutingOutcome.ASSIGNED,
                    decided_at=now,
                    pool_id=pool.id if pool is not None else None,
                    actor_id=actor.id,
                    eligible=(actor.id,),
                    chosen=(actor.id,),
                    offered=lead.explanation.offered if lead.explanation else (),
                    offer_expires_at=offer.expires_at,
                    note=f"first to accept (offer {offer.id})",
                )
            )
            without_offers = attrs.evolve(lead, status=LeadStatus.UNASSIGNED)
            result = router.apply(without_offers, decision, pool)
            router.event(EventName.OFFER_ACCEPTED, offer.id, lead_id=lead.id)
            router.flush()
            uow.commit()
            return attrs.evolve(result, offers=(accepted,))

    def decline_offer(self, offer_id: OfferId, *, reason: str | None = None) -> Offer:
        """Decline an offer made to oneself; the lead is never offered to one again.

        When every offer of the lead is closed, the lead waits unassigned and
        the pool's fallback (or the admins) is told.
        """
        _note(reason)
        with self._unit() as (uow, actor):
            now = self.crm.now()
            offer, lead = self._own_offer(uow, actor, offer_id, now)
            router = self._router(uow, actor.id, now)
            settled, _ = router.close_offer(offer, OfferStatus.DECLINED, lead)
            router.flush()
            uow.commit()
            return settled

    def reject_lead(self, lead_id: LeadId, *, reason: str | None = None) -> RoutingResult:
        """Reject a lead one owns: one stops owning it; with no owner left it waits unassigned.

        The admins are told.
        """
        text = _note(reason)
        with self._unit() as (uow, actor):
            lead = self._lead(uow, lead_id)
            if actor.id not in lead.assignee_ids:
                if not actor.role.is_manager:
                    raise NotFound("lead", lead_id)
                raise ValidationError("lead_id", lead.id, "one can reject only a lead one owns")
            router = self._router(uow, actor.id, self.crm.now())
            pool = router.pool(lead.pool_id)
            remaining = tuple(m for m in lead.assignee_ids if m != actor.id)
            decision = RoutingDecision(
                explanation=RoutingExplanation(
                    method="reject",
                    outcome=RoutingOutcome.ASSIGNED if remaining else RoutingOutcome.UNASSIGNED,
                    decided_at=router.now,
                    pool_id=pool.id if pool is not None else None,
                    actor_id=actor.id,
                    chosen=remaining,
                    skipped=(Skipped(member_id=actor.id, reason=SkipReason.DECLINED),),
                    note=text,
                )
            )
            changes: dict[str, Any] = {
                "declined_by": (*lead.declined_by, actor.id),
                "assignee_ids": remaining,
                "explanation": decision.explanation,
            }
            if not remaining:
                changes.update(status=LeadStatus.UNASSIGNED, assigned_at=None, respond_by=None)
            updated: Lead = bumped(lead, **changes)
            router._prime(pool if lead.role is None else None, ())
            uow.leads.update(updated)
            router._counted(pool if lead.role is None else None, (), [actor.id])
            router.take_back(lead, [actor.id])
            router.notify(
                router.admins(),
                NotificationKind.LEAD_REJECTED,
                lead,
                f"{actor.name} rejected the lead {router.describe(lead)}"
                + (f": {text}" if text else ""),
                member_id=actor.id,
                note=text,
            )
            router.event(EventName.LEAD_REJECTED, lead.id, member_id=actor.id)
            router.flush()
            uow.commit()
            return RoutingResult(lead=updated, decision=decision)

    def _own_offer(
        self, uow: UnitOfWork, actor: Member, offer_id: str, now: datetime
    ) -> tuple[Offer, Lead]:
        check_id("offer_id", offer_id, PREFIXES["offer"])
        offer = uow.offers.get(self.team_id, OfferId(offer_id))
        if offer.member_id != actor.id:
            perm.require(False, actor, "answer this offer", "it was made to another member")
        lead = uow.leads.get(self.team_id, offer.lead_id)
        if offer.status is OfferStatus.WITHDRAWN and lead.status is LeadStatus.ASSIGNED:
            raise OfferClosed(offer.id, "taken")
        if not offer.is_open:
            raise OfferClosed(offer.id, offer.status.value)
        if offer.expired_at(now):
            raise OfferClosed(offer.id, "expired")
        if not may_hold_open_offers(lead):  # pragma: no cover - offers close with the lead
            raise OfferClosed(offer.id, "taken" if lead.assignee_ids else "withdrawn")
        return offer, lead
