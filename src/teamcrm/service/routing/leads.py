"""Use cases that read leads, their offers and explanations."""

from __future__ import annotations

from teamcrm import permissions as perm
from teamcrm.errors import NotFound
from teamcrm.ids import PREFIXES, MemberId
from teamcrm.lead import (
    Lead,
    LeadId,
    LeadStatus,
    LeadStatusName,
    Offer,
    OfferStatus,
)
from teamcrm.pool import PoolId
from teamcrm.ports import UnitOfWork
from teamcrm.routing import RoutingExplanation
from teamcrm.rows import Rows
from teamcrm.service.routing.common import (
    LEAD_COLUMNS,
    _enum,
)
from teamcrm.service.routing.session import RoutingBase
from teamcrm.team import Member
from teamcrm.validation import check_id


class LeadReadingUseCases(RoutingBase):
    """Leads, offers and explanations, as the member may see them."""

    def leads(
        self,
        *,
        pool_id: PoolId | None = None,
        status: LeadStatus | LeadStatusName | None = None,
    ) -> Rows[Lead]:
        """Return leads (managers and admins: all; agents: the ones they own).

        An agent sees only leads on contacts they may see now: a lead whose
        contact left the agent's sight (taken out of their inbound bucket, a
        grant revoked) is not listed, since it carries the contact's keys.
        The list is a :class:`~teamcrm.rows.Rows` (a ``list`` that shows
        itself as a table).
        """
        return Rows(
            self._leads(pool_id=pool_id, status=status), title="Leads", columns=LEAD_COLUMNS
        )

    def _leads(self, *, pool_id: PoolId | None, status: LeadStatus | str | None) -> list[Lead]:
        wanted = None if status is None else LeadStatus(_enum("status", LeadStatus, status))
        if pool_id is not None:
            check_id("pool_id", pool_id, PREFIXES["pool"])
        with self._unit(write=False) as (uow, actor):
            rows = uow.leads.all(
                self.team_id, pool_id=PoolId(pool_id) if pool_id else None, status=wanted
            )
            return self._leads_seen(uow, actor, rows)

    def _leads_seen(self, uow: UnitOfWork, actor: Member, rows: list[Lead]) -> list[Lead]:
        """*rows* as :meth:`leads` lists them for *actor* (agents: owned, contact in sight)."""
        if actor.role.is_manager:
            return rows
        mine = [lead for lead in rows if actor.id in lead.assignee_ids]
        if not mine:
            return mine
        ids = list(dict.fromkeys(lead.contact_id for lead in mine))
        contacts = {c.id: c for c in uow.contacts.get_many(self.team_id, ids)}
        by_item = self._memberships_by_item(uow, list(contacts))
        buckets = self._bucket_map(uow)
        return [
            lead
            for lead in mine
            if lead.contact_id not in contacts
            or perm.can_see_item(
                actor,
                contacts[lead.contact_id].created_by,
                by_item.get(lead.contact_id, []),
                buckets,
            )
        ]

    def lead(self, lead_id: LeadId) -> Lead:
        """Return one lead (managers and admins, its owners, and members offered it)."""
        with self._unit(write=False) as (uow, actor):
            return self._readable_lead(uow, actor, lead_id)

    def explain(self, lead_id: LeadId) -> RoutingExplanation:
        """Return the explanation stored with the lead's last routing decision."""
        lead = self.lead(lead_id)
        if lead.explanation is None:  # pragma: no cover - every stored lead has one
            raise NotFound("routing explanation", lead_id)
        return lead.explanation

    def offers(
        self, *, member_id: MemberId | None = None, status: OfferStatus | str | None = "open"
    ) -> list[Offer]:
        """Return one's offers (managers: anyone's), open ones by default (``status=None``: all)."""
        wanted = None if status is None else OfferStatus(_enum("status", OfferStatus, status))
        with self._unit(write=False) as (uow, actor):
            target = actor
            if member_id is not None and member_id != actor.id:
                perm.require(actor.role.is_manager, actor, "see another member's offers")
                target = self._member(uow, member_id)
            return uow.offers.for_member(self.team_id, target.id, wanted)

    def lead_offers(self, lead_id: LeadId) -> list[Offer]:
        """Return every offer of a lead (managers and admins)."""
        with self._unit(write=False) as (uow, actor):
            perm.require(actor.role.is_manager, actor, "see a lead's offers")
            lead = self._lead(uow, lead_id)
            return uow.offers.for_lead(self.team_id, lead.id)
