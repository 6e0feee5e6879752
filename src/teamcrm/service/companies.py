"""Use cases for companies: create, read, rename and delete."""

from __future__ import annotations

from typing import Any

from teamcrm import permissions as perm
from teamcrm.contact import Company
from teamcrm.events import EventName
from teamcrm.ids import PREFIXES, CompanyId, new_company_id
from teamcrm.service.base import SessionBase, bumped
from teamcrm.validation import check_id

__all__ = ["CompanyUseCases"]


class CompanyUseCases(SessionBase):
    """Companies: the organisations contacts work for (seed 002)."""

    def create_company(self, name: str, *, domain: str | None = None) -> Company:
        """Create a company (any active member)."""
        with self._unit() as (uow, _):
            now = self.crm.now()
            company = Company(
                id=new_company_id(),
                team_id=self.team_id,
                name=name,
                domain=domain,
                created_at=now,
                created_by=self.member_id,
            )
            uow.companies.add(company)
            uow.collect(self._event(EventName.COMPANY_CREATED, company.id, now, name=company.name))
            uow.commit()
            return company

    def company(self, company_id: CompanyId) -> Company:
        """Return a company the member may see."""
        with self._unit(write=False) as (uow, actor):
            return self._visible_company(uow, actor, company_id)

    def companies(self) -> list[Company]:
        """Return the companies the member may see, oldest first."""
        with self._unit(write=False) as (uow, actor):
            buckets = self._bucket_map(uow)
            rows = uow.companies.all(self.team_id)
            by_item = self._memberships_by_item(uow, [c.id for c in rows])
            return [
                c
                for c in rows
                if perm.can_see_item(actor, c.created_by, by_item.get(c.id, []), buckets)
            ]

    def update_company(
        self, company_id: CompanyId, *, name: str | None = None, domain: str | None = None
    ) -> Company:
        """Rename a company or change its domain."""
        with self._unit() as (uow, actor):
            company = self._visible_company(uow, actor, company_id)
            changes: dict[str, Any] = {}
            if name is not None:
                changes["name"] = name
            if domain is not None:
                changes["domain"] = domain
            updated: Company = bumped(company, **changes)
            uow.companies.update(updated)
            uow.collect(
                self._event(
                    EventName.COMPANY_UPDATED, company.id, self.crm.now(), fields=sorted(changes)
                )
            )
            uow.commit()
            return updated

    def delete_company(self, company_id: CompanyId) -> None:
        """Delete a company (managers, admins or its creator); its contacts are unlinked."""
        with self._unit() as (uow, actor):
            check_id("company_id", company_id, PREFIXES["company"])
            # Exclusive until commit: no unit links it or adds it to a bucket meanwhile.
            uow.companies.lock(self.team_id, [CompanyId(company_id)], exclusive=True)
            company = self._visible_company(uow, actor, company_id)
            perm.require(
                actor.role.is_manager or company.created_by == actor.id,
                actor,
                "delete this company",
                "managers, admins or its creator only",
            )
            now = self.crm.now()
            for linked in uow.contacts.by_company(self.team_id, company.id):
                # Read again, locked: a change made since by_company is kept.
                contact = uow.contacts.get_for_update(self.team_id, linked.id)
                ids = tuple(c for c in contact.company_ids if c != company.id)
                uow.contacts.update(bumped(contact, company_ids=ids), previous=contact)
            uow.memberships.remove_item(self.team_id, company.id)
            uow.companies.delete(self.team_id, company.id, company.version)
            # Its reactions: the program runs it started stop (company_left_bucket).
            self._emit(uow, self._event(EventName.COMPANY_DELETED, company.id, now))
            uow.commit()
