"""What the routing use cases share: reading pools and leads, opening and picking leads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from teamcrm.errors import NotFound, ValidationError
from teamcrm.events import EventName
from teamcrm.ids import PREFIXES, ContactId
from teamcrm.lead import (
    Lead,
    LeadId,
    new_lead_id,
)
from teamcrm.pool import (
    DEFAULT_OFFER_WINDOW,
    LeadPool,
    PoolId,
)
from teamcrm.ports import UnitOfWork
from teamcrm.routing import (
    RoutingDecision,
    RoutingExplanation,
    RoutingOutcome,
    screen,
)
from teamcrm.service.base import SessionBase
from teamcrm.service.routing.common import _keys
from teamcrm.service.routing.router import Router
from teamcrm.team import Member
from teamcrm.validation import check_id


class RoutingBase(SessionBase):
    """Reads and internals shared by the routing use cases."""

    def _pool(self, uow: UnitOfWork, pool_id: str) -> LeadPool:
        check_id("pool_id", pool_id, PREFIXES["pool"])
        return uow.lead_pools.get(self.team_id, PoolId(pool_id))

    def _lead(self, uow: UnitOfWork, lead_id: str) -> Lead:
        check_id("lead_id", lead_id, PREFIXES["lead"])
        return uow.leads.get(self.team_id, LeadId(lead_id))

    def _readable_lead(self, uow: UnitOfWork, actor: Member, lead_id: str) -> Lead:
        lead = self._lead(uow, lead_id)
        if actor.role.is_manager or actor.id in lead.assignee_ids:
            return lead
        if any(o.member_id == actor.id for o in uow.offers.for_lead(self.team_id, lead.id)):
            return lead
        raise NotFound("lead", lead_id)

    def _open_lead(
        self, uow: UnitOfWork, router: Router, target: str
    ) -> tuple[Lead, LeadPool | None]:
        """Resolve a lead id, or a contact id to its one open lead (made without a pool if none)."""
        if target.startswith(PREFIXES["lead"]):
            lead = uow.leads.get(self.team_id, LeadId(target))
            if not lead.is_open:
                raise ValidationError("lead_id", target, "the lead was removed")
            return lead, router.pool(lead.pool_id)
        uow.contacts.lock(self.team_id, [ContactId(target)])  # not deleted under the new lead
        contact = uow.contacts.get(self.team_id, ContactId(target))
        router.remember([contact])
        open_leads = [
            lead
            for lead in uow.leads.for_contact(self.team_id, contact.id)
            if lead.is_open and lead.role is None
        ]
        if len(open_leads) > 1:
            raise ValidationError(
                "lead_or_contact_id", target, "the contact has several open leads; pass a lead id"
            )
        if open_leads:
            return open_leads[0], router.pool(open_leads[0].pool_id)
        entries = uow.leads.entries(self.team_id, None, [contact.id])
        lead = Lead(
            id=new_lead_id(),
            team_id=self.team_id,
            contact_id=contact.id,
            created_at=router.now,
            entry=entries.get(contact.id, 0) + 1,
            keys=_keys(contact),
            explanation=RoutingExplanation(
                method="direct",
                outcome=RoutingOutcome.WAITING,
                decided_at=router.now,
                actor_id=router.actor_id,
            ),
        )
        uow.leads.add_many([lead])
        router.event(
            EventName.LEAD_CREATED, lead.id, pool_id=None, contact_id=contact.id, entry=lead.entry
        )
        return lead, None

    def _pick(
        self,
        router: Router,
        lead: Lead,
        pool: LeadPool | None,
        chosen: Sequence[str],
        method: str,
        *,
        offer: bool,
        window: timedelta | None,
        note: str | None,
        strict: bool,
    ) -> RoutingDecision:
        """Screen a person's picks and build the decision (``ValidationError`` if nobody fits).

        A person may assign or offer a lead to an *away* member (the decision
        carries a warning saying so); never to an inactive member, one
        outside the lead's pool, or one at its cap for the pool.
        """
        full = router.full(pool, chosen)
        eligible, skipped = screen(
            chosen, router.members, pool, router.now, full=full, allow_away=True
        )
        warnings = tuple(
            f"{m} is away until {router.members[m].away_until:%Y-%m-%d %H:%M} UTC"
            for m in eligible
            if router.members[m].is_away(router.now)
        )
        if strict and skipped:
            first = skipped[0]
            raise ValidationError(
                "member_id", first.member_id, f"cannot receive this lead ({first.reason.value})"
            )
        if not eligible:
            reasons = ", ".join(f"{s.member_id} ({s.reason.value})" for s in skipped)
            raise ValidationError("member_ids", list(chosen), f"nobody can receive it: {reasons}")
        length = window or (pool.offer_window if pool is not None else DEFAULT_OFFER_WINDOW)
        return RoutingDecision(
            explanation=RoutingExplanation(
                method=method,
                outcome=RoutingOutcome.OFFERED if offer else RoutingOutcome.ASSIGNED,
                decided_at=router.now,
                pool_id=pool.id if pool is not None else None,
                actor_id=router.actor_id,
                eligible=eligible,
                skipped=skipped,
                chosen=() if offer else eligible,
                offered=eligible if offer else (),
                offer_expires_at=router.now + length if offer else None,
                note=note,
                warnings=warnings,
                role=lead.role,
            )
        )
