"""Use cases for giving a lead to several members (seed 001; rules in :mod:`teamcrm.multi_assign`).

:meth:`MultiAssignUseCases.assign_to_several` names the seed's choice
explicitly (``mode``); :func:`accept_as_co_owner` is what accepting an
``all_can_accept`` offer does (called from ``accept_offer``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from teamcrm import permissions as perm
from teamcrm.errors import NotFound, ValidationError
from teamcrm.events import EventName
from teamcrm.ids import PREFIXES, ContactId, MemberId
from teamcrm.lead import Lead, LeadId, LeadStatus, Offer, OfferStatus
from teamcrm.multi_assign import (
    MultiAssignMode,
    check_several,
    co_owners_after_accept,
    parse_mode,
)
from teamcrm.notification import NotificationKind
from teamcrm.pool import LeadPool, check_window
from teamcrm.routing import RoutingDecision, RoutingExplanation, RoutingOutcome
from teamcrm.service.base import bumped
from teamcrm.service.routing import Router, RoutingResult, RoutingUseCases
from teamcrm.service.routing.common import _id_list, _note
from teamcrm.team import Member

__all__ = ["MultiAssignUseCases", "accept_as_co_owner"]


class MultiAssignUseCases(RoutingUseCases):
    """Multi-assign (seed 001): everyone, all can accept, or the first to accept."""

    def assign_to_several(
        self,
        lead_or_contact_ids: Iterable[LeadId | ContactId] | LeadId | ContactId,
        member_ids: Iterable[MemberId],
        *,
        mode: MultiAssignMode | str,
        note: str | None = None,
        window: timedelta | None = None,
    ) -> list[RoutingResult]:
        """Give each lead (or contact) to several members at once, in one transaction.

        *mode* (required, no default: the caller says which of the seed's
        choices it means):

        * ``"everyone"`` - every named member becomes a co-owner now;
        * ``"all_can_accept"`` - each is offered it (for *window*, default the
          pool's offer window); each who accepts becomes a co-owner, the
          other offers stay open until answered or expired;
        * ``"first_to_accept"`` - it is offered to all; the first acceptance
          wins and withdraws the other offers.

        Admins and managers only.  Every named member is checked: an id that
        is not a member of the team is ``NotFound``; a member who cannot
        receive the lead (deactivated, outside the lead's pool, at the pool's
        cap) is a ``ValidationError`` naming them - nobody is skipped
        silently.  The *note* is kept with the decision and shown in every
        notification (seed 001: "make a note about the assignment").  A lead
        someone already owns is taken from them (they are told).
        """
        how = parse_mode(mode)
        targets = _id_list(
            "lead_or_contact_ids",
            lead_or_contact_ids,
            prefixes=(PREFIXES["lead"], PREFIXES["contact"]),
        )
        if not targets:
            raise ValidationError("lead_or_contact_ids", lead_or_contact_ids, "name a lead")
        chosen = _id_list("member_ids", member_ids, prefixes=(PREFIXES["member"],))
        check_several(chosen)
        if window is not None:
            if not how.offers:
                raise ValidationError("window", window, "only offers have a window")
            check_window("window", window)
        text = _note(note)
        with self._unit(size=len(targets)) as (uow, actor):
            perm.require(actor.role.is_manager, actor, "assign leads", "admins and managers only")
            for member_id in chosen:
                target = self._member(uow, member_id)  # NotFound outside the team
                if not target.active:
                    raise ValidationError("member_ids", member_id, "the member is deactivated")
            router = self._router(uow, actor.id, self.crm.now())
            results = []
            for target_id in targets:
                lead, pool = self._open_lead(uow, router, target_id)
                decision = self._pick(
                    router,
                    lead,
                    pool,
                    chosen,
                    how.value,
                    offer=how.offers,
                    window=window,
                    note=text,
                    strict=True,
                )
                reassign = decision.outcome is RoutingOutcome.ASSIGNED and bool(lead.assignee_ids)
                results.append(
                    router.apply(lead, decision, pool, reassign=reassign, offered_by=actor.id)
                )
            router.flush()
            uow.commit()
            return results


def accept_as_co_owner(
    router: Router, actor: Member, offer: Offer, lead: Lead, pool: LeadPool | None
) -> RoutingResult:
    """Accept an ``all_can_accept`` offer: *actor* becomes a co-owner; other offers stay open.

    The caller has checked the offer (open, the actor's, not expired) and the
    actor's room in the pool.  Earlier co-owners keep the lead; the lead's
    assignment time is its first acceptance.  A response window applies only
    while the lead has one owner.
    """
    if lead.role is not None:  # pragma: no cover - roles are assigned directly, never offered
        raise NotFound("lead", lead.id)
    now = router.now
    accepted: Offer = bumped(offer, status=OfferStatus.ACCEPTED, settled_at=now)
    router.uow.offers.update(accepted)
    owners = co_owners_after_accept(lead, actor.id)
    previous = lead.assignee_ids if lead.status is LeadStatus.ASSIGNED else ()
    explanation = RoutingExplanation(
        method=MultiAssignMode.ALL_CAN_ACCEPT.value,
        outcome=RoutingOutcome.ASSIGNED,
        decided_at=now,
        pool_id=pool.id if pool is not None else None,
        actor_id=actor.id,
        eligible=(actor.id,),
        chosen=owners,
        offered=lead.explanation.offered if lead.explanation else (),
        offer_expires_at=offer.expires_at,
        note=f"accepted (offer {offer.id}); all can accept: every acceptance is a co-owner",
    )
    window = pool.response_window if pool is not None else None
    respond_by = now + window if window is not None and len(owners) == 1 else None
    updated: Lead = bumped(
        lead,
        status=LeadStatus.ASSIGNED,
        assignee_ids=owners,
        assigned_at=lead.assigned_at if previous and lead.assigned_at else now,
        respond_by=respond_by,
        explanation=explanation,
    )
    counted = pool if pool is not None and router._counts(pool) else None
    router._prime(counted, [actor.id])
    router.uow.leads.update(updated)
    router._counted(counted, [actor.id], ())
    router.notify(
        [actor.id],
        NotificationKind.LEAD_ASSIGNED,
        updated,
        f"New lead: {router.describe(updated)}",
        pool=pool.name if pool is not None else None,
        note=offer.note,
    )
    router.place(updated, actor.id, pool)
    router.event(
        EventName.LEAD_ASSIGNED,
        updated.id,
        member_ids=list(owners),
        previous=list(previous),
        method=MultiAssignMode.ALL_CAN_ACCEPT.value,
    )
    router.event(EventName.OFFER_ACCEPTED, offer.id, lead_id=lead.id)
    return RoutingResult(
        lead=updated, decision=RoutingDecision(explanation=explanation), offers=(accepted,)
    )
