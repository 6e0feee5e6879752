"""Use cases for contacts and companies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from teamcrm import permissions as perm
from teamcrm.bucket import BucketMembership
from teamcrm.contact import Company, Contact, EmailAddress, PhoneNumber
from teamcrm.errors import ConcurrencyError, ValidationError
from teamcrm.events import EventName
from teamcrm.ids import (
    BucketId,
    CompanyId,
    ContactId,
    new_company_id,
    new_contact_id,
)
from teamcrm.interaction import Interaction, InteractionKind, Outcome
from teamcrm.service.base import CONTACT_FIELDS, MAX_BULK, SessionBase, _iterable, _next
from teamcrm.team import Team
from teamcrm.validation import (
    JSONScalar,
    check_email,
    check_id,
    check_int,
    check_phone,
)

__all__ = ["ContactDraft", "ContactUseCases"]


@attrs.frozen(kw_only=True)
class ContactDraft:
    """The fields of a contact to create (ids and times are filled in).

    Emails and phones may be plain strings.  *status* defaults to the team's
    status for new contacts.
    """

    first_name: str = ""
    last_name: str = ""
    emails: tuple[EmailAddress | str, ...] = ()
    phones: tuple[PhoneNumber | str, ...] = ()
    company_ids: tuple[CompanyId, ...] = ()
    status: str | None = None
    source: str | None = None
    custom_fields: Mapping[str, JSONScalar] = attrs.field(factory=dict, hash=False)


class ContactUseCases(SessionBase):
    """Contact and company use cases."""

    # ------------------------------------------------------- contacts & companies
    def _build_contact(
        self, team: Team, draft: ContactDraft | Mapping[str, Any], now: datetime
    ) -> Contact:
        if isinstance(draft, Mapping):
            unknown = set(draft) - CONTACT_FIELDS
            if unknown:
                raise ValidationError(
                    "contact", sorted(unknown, key=repr)[0], "unknown contact field"
                )
            fields = dict(draft)
        elif isinstance(draft, ContactDraft):
            fields = attrs.asdict(draft, recurse=False)
        else:
            raise ValidationError("contact", draft, "must be a ContactDraft or a mapping")
        status = fields.pop("status", None)
        if status is None:
            status = team.settings.new_contact_status
        self._check_status(team, status)
        return Contact(
            id=new_contact_id(),
            team_id=self.team_id,
            created_at=now,
            status=status,
            created_by=self.member_id,
            **fields,
        )

    @staticmethod
    def _check_status(team: Team, status: Any) -> None:
        if status not in team.settings.statuses:
            raise ValidationError(
                "Contact.status", status, f"must be one of {team.settings.statuses!r}"
            )

    def create_contact(
        self,
        first_name: str = "",
        last_name: str = "",
        *,
        emails: Sequence[EmailAddress | str] = (),
        phones: Sequence[PhoneNumber | str] = (),
        company_ids: Sequence[CompanyId | str] = (),
        status: str | None = None,
        source: str | None = None,
        custom_fields: Mapping[str, JSONScalar] | None = None,
    ) -> Contact:
        """Create a contact (any active member)."""
        draft = {
            "first_name": first_name,
            "last_name": last_name,
            "emails": emails,
            "phones": phones,
            "company_ids": company_ids,
            "status": status,
            "source": source,
            "custom_fields": custom_fields if custom_fields is not None else {},
        }
        return self.create_contacts([draft])[0]

    def create_contacts(
        self,
        drafts: Iterable[ContactDraft | Mapping[str, Any]],
        *,
        bucket_id: BucketId | str | None = None,
    ) -> list[Contact]:
        """Create many contacts in one transaction (all or none).

        Each draft is a :class:`ContactDraft` or a mapping with its fields.
        With *bucket_id*, every new contact is also added to that bucket.
        """
        drafts = list(_iterable("drafts", drafts))
        if len(drafts) > MAX_BULK:
            raise ValidationError("drafts", len(drafts), f"at most {MAX_BULK} per call")
        with self._unit(size=len(drafts)) as (uow, actor):
            team = uow.teams.get(self.team_id)
            bucket = self._bucket(uow, actor, bucket_id) if bucket_id is not None else None
            if bucket is not None:
                perm.require(perm.can_edit_bucket(actor, bucket), actor, "add to this bucket")
            now = self.crm.now()
            contacts = [self._build_contact(team, d, now) for d in drafts]
            self._check_companies(uow, {c for ct in contacts for c in ct.company_ids})
            uow.contacts.add_many(contacts)
            uow.collect(
                *(
                    self._event(
                        EventName.CONTACT_CREATED, c.id, now, source=c.source, status=c.status
                    )
                    for c in contacts
                )
            )
            if bucket is not None:
                self._add_items(
                    uow, bucket, [c.id for c in contacts], now, known={c.id: c for c in contacts}
                )
            uow.commit()
            return contacts

    def contact(self, contact_id: ContactId | str) -> Contact:
        """Return a contact the member may see."""
        with self._unit(write=False) as (uow, actor):
            return self._visible_contact(uow, actor, contact_id)

    def update_contact(
        self,
        contact_id: ContactId | str,
        *,
        expected_version: int | None = None,
        **changes: Any,
    ) -> Contact:
        """Change a contact's fields (anyone who can see it).

        Pass *expected_version* (the version you read) to refuse the change
        with ``ConcurrencyError`` if someone else changed it meanwhile.
        """
        unknown = set(changes) - CONTACT_FIELDS
        if unknown:
            raise ValidationError("contact", sorted(unknown)[0], "unknown contact field")
        if expected_version is not None:
            check_int("expected_version", expected_version, minimum=1)
        with self._unit() as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id)
            if expected_version is not None and expected_version != contact.version:
                raise ConcurrencyError("contact", contact.id, expected_version)
            if "status" in changes:
                self._check_status(uow.teams.get(self.team_id), changes["status"])
            if "company_ids" in changes:
                value = changes["company_ids"]
                if isinstance(value, list | tuple):
                    for company_id in value:
                        check_id("Contact.company_ids", company_id, "co_")
                    self._check_companies(uow, value)
            updated: Contact = _next(contact, **changes)
            uow.contacts.update(updated)
            now = self.crm.now()
            uow.collect(
                self._event(EventName.CONTACT_UPDATED, contact.id, now, fields=sorted(changes))
            )
            uow.commit()
            return updated

    def delete_contact(self, contact_id: ContactId | str) -> None:
        """Delete a contact (admins, managers, or its creator).

        It leaves every bucket and its open leads are removed from routing;
        interactions about it are kept.
        """
        check_id("contact_id", contact_id, "ct_")
        with self._unit() as (uow, actor):
            # First wait for (and then shut out) units adding rows pointing at it.
            uow.contacts.lock(self.team_id, [ContactId(contact_id)], exclusive=True)
            contact = self._visible_contact(uow, actor, contact_id)
            perm.require(
                actor.role.is_manager or contact.created_by == actor.id,
                actor,
                "delete this contact",
                "managers, admins or its creator only",
            )
            now = self.crm.now()
            self._contact_deleting(uow, contact, now)
            uow.memberships.remove_item(self.team_id, contact.id)
            uow.contacts.delete(self.team_id, contact.id, contact.version)
            uow.collect(self._event(EventName.CONTACT_DELETED, contact.id, now))
            uow.commit()

    def link_company(self, contact_id: ContactId | str, company_id: CompanyId | str) -> Contact:
        """Link a contact to a company (no-op if already linked)."""
        with self._unit() as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id)
            company = self._visible_company(uow, actor, company_id)
            if company.id in contact.company_ids:
                return contact
            updated: Contact = _next(contact, company_ids=(*contact.company_ids, company.id))
            uow.contacts.update(updated)
            uow.collect(
                self._event(
                    EventName.CONTACT_UPDATED, contact.id, self.crm.now(), fields=["company_ids"]
                )
            )
            uow.commit()
            return updated

    def unlink_company(self, contact_id: ContactId | str, company_id: CompanyId | str) -> Contact:
        """Remove a contact's link to a company (no-op if not linked)."""
        check_id("company_id", company_id, "co_")
        with self._unit() as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id)
            if company_id not in contact.company_ids:
                return contact
            ids = tuple(c for c in contact.company_ids if c != company_id)
            updated: Contact = _next(contact, company_ids=ids)
            uow.contacts.update(updated)
            uow.collect(
                self._event(
                    EventName.CONTACT_UPDATED, contact.id, self.crm.now(), fields=["company_ids"]
                )
            )
            uow.commit()
            return updated

    def mark_email_validated(self, contact_id: ContactId | str, address: str) -> Contact:
        """Mark one of a contact's email addresses as validated."""
        return self._validate_channel(contact_id, email=check_email("address", address))

    def mark_phone_validated(self, contact_id: ContactId | str, number: str) -> Contact:
        """Mark one of a contact's phone numbers as validated."""
        return self._validate_channel(contact_id, phone=check_phone("number", number))

    def _validate_channel(
        self, contact_id: str, *, email: str | None = None, phone: str | None = None
    ) -> Contact:
        with self._unit() as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id)
            updated = _validated(contact, email=email, phone=phone)
            if updated is None:
                field, value = ("address", email) if email else ("number", phone)
                raise ValidationError(field, value, f"is not a {field} of contact {contact.id}")
            if updated is not contact:
                uow.contacts.update(updated)
                uow.collect(
                    self._event(
                        EventName.CONTACT_CHANNEL_VALIDATED,
                        contact.id,
                        self.crm.now(),
                        channel=_newly_validated(contact, updated),
                    )
                )
            uow.commit()
            return updated

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

    def company(self, company_id: CompanyId | str) -> Company:
        """Return a company the member may see."""
        with self._unit(write=False) as (uow, actor):
            return self._visible_company(uow, actor, company_id)

    def companies(self) -> list[Company]:
        """Return the companies the member may see, oldest first."""
        with self._unit(write=False) as (uow, actor):
            buckets = self._bucket_map(uow)
            rows = uow.companies.all(self.team_id)
            by_item: dict[str, list[BucketMembership]] = {}
            for m in uow.memberships.buckets_of(self.team_id, [c.id for c in rows]):
                by_item.setdefault(m.item_id, []).append(m)
            return [
                c
                for c in rows
                if perm.can_see_item(actor, c.created_by, by_item.get(c.id, []), buckets)
            ]

    def update_company(
        self, company_id: CompanyId | str, *, name: str | None = None, domain: str | None = None
    ) -> Company:
        """Rename a company or change its domain."""
        with self._unit() as (uow, actor):
            company = self._visible_company(uow, actor, company_id)
            changes: dict[str, Any] = {}
            if name is not None:
                changes["name"] = name
            if domain is not None:
                changes["domain"] = domain
            updated: Company = _next(company, **changes)
            uow.companies.update(updated)
            uow.collect(
                self._event(
                    EventName.COMPANY_UPDATED, company.id, self.crm.now(), fields=sorted(changes)
                )
            )
            uow.commit()
            return updated

    def delete_company(self, company_id: CompanyId | str) -> None:
        """Delete a company (managers, admins or its creator); its contacts are unlinked."""
        with self._unit() as (uow, actor):
            company = self._visible_company(uow, actor, company_id)
            perm.require(
                actor.role.is_manager or company.created_by == actor.id,
                actor,
                "delete this company",
                "managers, admins or its creator only",
            )
            now = self.crm.now()
            for contact in uow.contacts.by_company(self.team_id, company.id):
                ids = tuple(c for c in contact.company_ids if c != company.id)
                uow.contacts.update(_next(contact, company_ids=ids))
            uow.memberships.remove_item(self.team_id, company.id)
            uow.companies.delete(self.team_id, company.id, company.version)
            uow.collect(self._event(EventName.COMPANY_DELETED, company.id, now))
            uow.commit()


def _validated(contact: Contact, *, email: str | None, phone: str | None) -> Contact | None:
    """Return *contact* with the channel validated, itself if already, ``None`` if absent."""
    if email is not None:
        key = email.lower()
        match = [e for e in contact.emails if e.address.lower() == key]
        if not match:
            return None
        if match[0].validated:
            return contact
        emails = tuple(
            attrs.evolve(e, validated=True) if e is match[0] else e for e in contact.emails
        )
        return _next(contact, emails=emails)  # type: ignore[no-any-return]
    match_p = [p for p in contact.phones if p.number == phone]
    if not match_p:
        return None
    if match_p[0].validated:
        return contact
    phones = tuple(
        attrs.evolve(p, validated=True) if p is match_p[0] else p for p in contact.phones
    )
    return _next(contact, phones=phones)  # type: ignore[no-any-return]


def _validated_by(contact: Contact, interaction: Interaction) -> Contact | None:
    """The rule: a connected call validates its number, a delivered email its address."""
    from teamcrm.validation import normalise_email, normalise_phone

    if interaction.kind is InteractionKind.CALL and interaction.outcome is Outcome.CONNECTED:
        if interaction.via:
            return _validated(contact, email=None, phone=normalise_phone(interaction.via))
        if len(contact.phones) == 1:
            return _validated(contact, email=None, phone=contact.phones[0].number)
    if interaction.kind is InteractionKind.EMAIL and interaction.outcome is Outcome.DELIVERED:
        if interaction.via:
            return _validated(contact, email=normalise_email(interaction.via), phone=None)
        if len(contact.emails) == 1:
            return _validated(contact, email=contact.emails[0].address, phone=None)
    return None


def _newly_validated(before: Contact, after: Contact) -> str | None:
    """Return the address or number validated in *after* but not in *before*."""
    was = {e.address for e in before.emails if e.validated}
    was |= {p.number for p in before.phones if p.validated}
    now = [e.address for e in after.emails if e.validated]
    now += [p.number for p in after.phones if p.validated]
    return next((key for key in now if key not in was), None)
