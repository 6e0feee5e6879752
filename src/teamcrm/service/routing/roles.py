"""Use cases for roles on a contact's leads (listing agent, buyer's agent...)."""

from __future__ import annotations

from datetime import timedelta

from teamcrm import permissions as perm
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound, ValidationError
from teamcrm.events import EventName
from teamcrm.ids import PREFIXES, ContactId, MemberId
from teamcrm.lead import (
    Lead,
    RoleSlot,
    check_role,
    new_lead_id,
)
from teamcrm.pool import check_window
from teamcrm.ports import UnitOfWork
from teamcrm.routing import (
    RoutingExplanation,
    RoutingOutcome,
)
from teamcrm.service.routing.common import (
    RoutingResult,
    _note,
)
from teamcrm.service.routing.router import Router
from teamcrm.service.routing.session import RoutingBase
from teamcrm.validation import check_id


class RoleUseCases(RoutingBase):
    """Role slots and who holds them."""

    def define_role(self, name: str) -> RoleSlot:
        """Add a named role slot to the team (admins), e.g. ``"buyer agent"``."""
        with self._unit() as (uow, actor):
            perm.require_admin(actor, "define roles")
            now = self.crm.now()
            slot = RoleSlot(team_id=self.team_id, name=name, created_at=now, created_by=actor.id)
            uow.lead_pools.add_role_slot(slot)
            uow.collect(self._event(EventName.ROLE_DEFINED, self.team_id, now, name=slot.name))
            uow.commit()
            return slot

    def delete_role(self, name: str) -> None:
        """Delete a role slot (admins); members holding it on contacts keep those leads."""
        role = check_role("name", name)
        with self._unit() as (uow, actor):
            perm.require_admin(actor, "delete roles")
            uow.lead_pools.delete_role_slot(self.team_id, role)
            uow.collect(
                self._event(EventName.ROLE_DELETED, self.team_id, self.crm.now(), name=role)
            )
            uow.commit()

    def roles(self) -> list[RoleSlot]:
        """Return the team's role slots by name (any active member)."""
        with self._unit(write=False) as (uow, _actor):
            return uow.lead_pools.role_slots(self.team_id)

    def assign_role(
        self,
        contact_id: ContactId,
        role: str,
        member_id: MemberId,
        *,
        offer: bool = False,
        window: timedelta | None = None,
        note: str | None = None,
    ) -> RoutingResult:
        """Put a member into a role on a contact, at once or as an offer (admins and managers).

        A role on a contact is a lead without a pool whose ``role`` names the
        slot: it is assigned, offered, accepted, declined, rejected, revoked
        and shown on the routing dashboard like any lead.  Assigning a role
        someone holds is a reassignment (both are told).  The role must be
        defined (:meth:`define_role`).
        """
        check_id("contact_id", contact_id, PREFIXES["contact"])
        name = check_role("role", role)
        check_id("member_id", member_id, PREFIXES["member"])
        if not isinstance(offer, bool):
            raise ValidationError("offer", offer, "must be True or False")
        if window is not None:
            check_window("window", window)
        text = _note(note)
        with self._unit() as (uow, actor):
            perm.require(actor.role.is_manager, actor, "assign roles", "admins and managers only")
            if name not in {r.name for r in uow.lead_pools.role_slots(self.team_id)}:
                raise NotFound("role slot", name)
            router = self._router(uow, actor.id, self.crm.now())
            lead = self._role_lead(uow, router, ContactId(contact_id), name)
            decision = self._pick(
                router,
                lead,
                None,
                [member_id],
                "offer" if offer else "assign",
                offer=offer,
                window=window,
                note=text,
                strict=True,
            )
            reassign = decision.outcome is RoutingOutcome.ASSIGNED and bool(lead.assignee_ids)
            result = router.apply(lead, decision, None, reassign=reassign, offered_by=actor.id)
            router.flush()
            uow.commit()
            return result

    def role_holders(self, contact_id: ContactId) -> dict[str, tuple[MemberId, ...]]:
        """Return who holds each role on a contact (an empty tuple: offered, not yet taken).

        The contact must be one the member may see (``NotFound`` otherwise).
        """
        with self._unit(write=False) as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id)
            return {
                lead.role: lead.assignee_ids
                for lead in uow.leads.for_contact(self.team_id, contact.id)
                if lead.role is not None and lead.is_open
            }

    def _role_lead(self, uow: UnitOfWork, router: Router, contact_id: ContactId, role: str) -> Lead:
        """The contact's open lead for *role*, made (waiting) when there is none."""
        uow.contacts.lock(self.team_id, [contact_id])  # not deleted under the new lead
        contact = uow.contacts.get(self.team_id, contact_id)
        router.remember([contact])
        mine = [ld for ld in uow.leads.for_contact(self.team_id, contact.id) if ld.role == role]
        for lead in mine:
            if lead.is_open:
                return lead
        lead = Lead(
            id=new_lead_id(),
            team_id=self.team_id,
            contact_id=contact.id,
            created_at=router.now,
            entry=max((ld.entry for ld in mine), default=0) + 1,
            role=role,
            explanation=RoutingExplanation(
                method="direct",
                outcome=RoutingOutcome.WAITING,
                decided_at=router.now,
                actor_id=router.actor_id,
                role=role,
            ),
        )
        try:
            uow.leads.add_many([lead])
        except AlreadyExists:  # pragma: no cover - one open role lead per contact and role
            raise ConcurrencyError("role lead", contact.id, 0) from None
        router.event(
            EventName.LEAD_CREATED, lead.id, pool_id=None, contact_id=contact.id, role=role
        )
        return lead
