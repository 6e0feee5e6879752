"""Use cases that assign, reassign, route, revoke and remove leads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import attrs

from teamcrm import permissions as perm
from teamcrm.errors import ValidationError
from teamcrm.events import EventName
from teamcrm.ids import PREFIXES, ContactId, MemberId
from teamcrm.lead import (
    Lead,
    LeadId,
    LeadStatus,
)
from teamcrm.multi_assign import may_hold_open_offers
from teamcrm.notification import NotificationKind
from teamcrm.pool import check_window
from teamcrm.routing import (
    RoutingDecision,
    RoutingExplanation,
    RoutingOutcome,
    SkipReason,
)
from teamcrm.service.routing.common import (
    RoutingResult,
    _id_list,
    _note,
)
from teamcrm.service.routing.session import RoutingBase


class AssignmentUseCases(RoutingBase):
    """Managers' assignment actions on leads."""

    def assign(
        self,
        lead_or_contact_id: LeadId | ContactId,
        member_id: MemberId,
        *,
        offer: bool = False,
        window: timedelta | None = None,
        note: str | None = None,
    ) -> RoutingResult:
        """Assign a lead (or a contact) to one member at once, or offer it with a window.

        Admins and managers.  The member must be able to receive leads:
        active, not away, and in the lead's pool if it has one
        (``ValidationError`` naming the reason otherwise).  Assigning a lead
        someone else owns is a reassignment (both are told).  A contact id
        picks the contact's one open lead, or makes a lead without a pool.
        """
        return self.bulk_assign(
            [lead_or_contact_id], [member_id], offer=offer, window=window, note=note
        )[0]

    def multi_assign(
        self,
        lead_or_contact_id: LeadId | ContactId,
        member_ids: Iterable[MemberId],
        *,
        first_to_accept: bool = False,
        window: timedelta | None = None,
        note: str | None = None,
    ) -> RoutingResult:
        """Give a lead to several members: everyone gets it, or the first to accept does.

        Members who cannot receive leads are skipped (the explanation says
        why); if none can, ``ValidationError``.
        """
        return self.bulk_assign(
            [lead_or_contact_id],
            member_ids,
            first_to_accept=first_to_accept,
            multi=True,
            window=window,
            note=note,
        )[0]

    def bulk_assign(
        self,
        leads_or_contacts: Iterable[LeadId | ContactId],
        member_ids: Iterable[MemberId],
        *,
        offer: bool = False,
        first_to_accept: bool = False,
        multi: bool | None = None,
        window: timedelta | None = None,
        note: str | None = None,
    ) -> list[RoutingResult]:
        """Assign many leads (or contacts) at once, all in one transaction.

        The choices of seed 001, made explicit:

        * one member (*multi* not true): each lead is assigned to them, or
          offered to them when *offer*;
        * several members (or ``multi=True``): each lead goes to *everyone*
          at once, or with *first_to_accept* is offered to all of them and
          the first to accept owns it.

        Ambiguous calls are refused with ``ValidationError`` instead of
        guessing: several members with ``multi=False``; *first_to_accept*
        with one member (use *offer*); *offer* with several members but not
        *first_to_accept* (say which of the two you mean).  For the seed's
        "all can accept" (each acceptance a co-owner) and a mode named
        explicitly, see ``assign_to_several``.
        """
        targets = _id_list(
            "leads_or_contacts", leads_or_contacts, prefixes=(PREFIXES["lead"], PREFIXES["contact"])
        )
        chosen = _id_list("member_ids", member_ids, prefixes=(PREFIXES["member"],))
        if not chosen:
            raise ValidationError("member_ids", member_ids, "name at least one member")
        for flag, value in (("offer", offer), ("first_to_accept", first_to_accept)):
            if not isinstance(value, bool):
                raise ValidationError(flag, value, "must be True or False")
        if window is not None:
            check_window("window", window)
        text = _note(note)
        if multi is not None and not isinstance(multi, bool):
            raise ValidationError("multi", multi, "must be True, False or None")
        several = len(chosen) > 1 if multi is None else multi
        if not several and len(chosen) > 1:
            raise ValidationError(
                "member_ids",
                chosen,
                "multi=False takes one member; for several pass multi=True"
                " (everyone gets it, or first_to_accept)",
            )
        if first_to_accept and not several:
            raise ValidationError(
                "first_to_accept", True, "needs several members; to offer to one, use offer=True"
            )
        if several and offer and not first_to_accept:
            raise ValidationError(
                "offer",
                True,
                "with several members, choose first_to_accept=True (offered to all, the first"
                " to accept owns it) or offer=False (everyone is assigned)",
            )
        with self._unit(size=len(targets)) as (uow, actor):
            perm.require(actor.role.is_manager, actor, "assign leads", "admins and managers only")
            now = self.crm.now()
            router = self._router(uow, actor.id, now)
            results = []
            for target in targets:
                lead, pool = self._open_lead(uow, router, target)
                if several:
                    method = "first_to_accept" if first_to_accept else "everyone"
                    decision = self._pick(
                        router,
                        lead,
                        pool,
                        chosen,
                        method,
                        offer=first_to_accept,
                        window=window,
                        note=text,
                        strict=False,
                    )
                else:
                    decision = self._pick(
                        router,
                        lead,
                        pool,
                        chosen,
                        "offer" if offer else "assign",
                        offer=offer,
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

    def reassign(
        self, lead_id: LeadId, member_id: MemberId, *, note: str | None = None
    ) -> RoutingResult:
        """Give a lead to another member (admins and managers); both are told."""
        return self.assign(lead_id, member_id, note=note)

    def route_lead(self, lead_id: LeadId) -> RoutingResult:
        """Route an unassigned lead again by its pool's method (admins and managers).

        Members who declined or rejected the lead are passed over.
        """
        with self._unit() as (uow, actor):
            perm.require(actor.role.is_manager, actor, "route leads", "admins and managers only")
            lead = self._lead(uow, lead_id)
            if lead.status is not LeadStatus.UNASSIGNED:
                raise ValidationError("lead_id", lead.id, f"the lead is {lead.status.value}")
            router = self._router(uow, actor.id, self.crm.now())
            pool = router.pool(lead.pool_id)
            if pool is None:
                raise ValidationError("lead_id", lead.id, "the lead has no pool to route it")
            if not pool.active:
                # A deactivated pool routes nothing (docs/routing.md); a person
                # may still assign the lead (assign, bulk_assign).
                raise ValidationError(
                    "lead_id",
                    lead.id,
                    f"its pool {pool.id} is deactivated and routes nothing;"
                    " activate the pool or assign the lead",
                )
            cursor = uow.routing_cursors.get(self.team_id, pool.id)
            decision = router.strategies.decide(
                router.context(
                    pool,
                    cursor=cursor.position,
                    contact=router.contact(lead.contact_id),
                    excluded=dict.fromkeys(lead.declined_by, SkipReason.DECLINED),
                )
            )
            if decision.cursor_after is not None and decision.cursor_after != cursor.position:
                uow.routing_cursors.put(
                    attrs.evolve(cursor, position=decision.cursor_after, version=cursor.version + 1)
                )
            result = router.apply(lead, decision, pool)
            router.flush()
            uow.commit()
            return result

    def revoke(self, lead_id: LeadId, *, note: str | None = None) -> RoutingResult:
        """Take a lead back from its owner(s) or withdraw its offers; it waits unassigned."""
        return self._settle(lead_id, "revoke", RoutingOutcome.UNASSIGNED, note)

    def remove_lead(self, lead_id: LeadId, *, note: str | None = None) -> RoutingResult:
        """Remove a lead from routing (admins and managers); the contact stays."""
        return self._settle(lead_id, "remove", RoutingOutcome.REMOVED, note)

    def _settle(
        self, lead_id: str, method: str, outcome: RoutingOutcome, note: str | None
    ) -> RoutingResult:
        text = _note(note)
        with self._unit() as (uow, actor):
            perm.require(
                actor.role.is_manager, actor, f"{method} leads", "admins and managers only"
            )
            lead = self._lead(uow, lead_id)
            if not lead.is_open:
                raise ValidationError("lead_id", lead.id, "the lead was removed")
            if (
                outcome is RoutingOutcome.UNASSIGNED
                and lead.status is LeadStatus.UNASSIGNED
                and not may_hold_open_offers(lead)  # all_can_accept offers still open
            ):
                raise ValidationError("lead_id", lead.id, "the lead is not assigned or offered")
            router = self._router(uow, actor.id, self.crm.now())
            pool = router.pool(lead.pool_id)
            decision = RoutingDecision(
                explanation=RoutingExplanation(
                    method=method,
                    outcome=outcome,
                    decided_at=router.now,
                    pool_id=lead.pool_id if pool is not None else None,
                    actor_id=actor.id,
                    note=text,
                )
            )
            result = router.apply(lead, decision, pool)
            router.event(
                EventName.LEAD_REMOVED
                if outcome is RoutingOutcome.REMOVED
                else EventName.LEAD_REVOKED,
                lead.id,
                previous=list(lead.assignee_ids),
            )
            router.flush()
            uow.commit()
            return result

    def request_update(self, lead_id: LeadId, *, note: str | None = None) -> Lead:
        """Ask the lead's owner(s) for an update (admins and managers)."""
        text = _note(note)
        with self._unit() as (uow, actor):
            perm.require(
                actor.role.is_manager, actor, "request updates", "admins and managers only"
            )
            lead = self._lead(uow, lead_id)
            if lead.status is not LeadStatus.ASSIGNED:
                raise ValidationError("lead_id", lead.id, "the lead has no owner to ask")
            router = self._router(uow, actor.id, self.crm.now())
            router.notify(
                lead.assignee_ids,
                NotificationKind.UPDATE_REQUESTED,
                lead,
                f"{actor.name} asks for an update on {router.describe(lead)}",
                note=text,
            )
            router.event(
                EventName.LEAD_UPDATE_REQUESTED, lead.id, member_ids=list(lead.assignee_ids)
            )
            router.flush()
            uow.commit()
            return lead
