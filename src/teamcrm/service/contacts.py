"""Use cases for contacts: create, read, change and delete (companies: ``companies.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict, TypeVar, Unpack

import attrs

from teamcrm import permissions as perm
from teamcrm.channels import changed_channel, with_channel
from teamcrm.contact import Contact, EmailAddress, PhoneNumber, localise_phones
from teamcrm.errors import ConcurrencyError, ValidationError
from teamcrm.events import EventName
from teamcrm.ids import (
    PREFIXES,
    BucketId,
    CompanyId,
    ContactId,
    new_contact_id,
)
from teamcrm.phones import UnparsedPhone
from teamcrm.ports import UnitOfWork
from teamcrm.service.base import (
    CONTACT_FIELDS,
    MAX_BULK,
    SessionBase,
    _bucket_ids,
    _iterable,
    bumped,
)
from teamcrm.team import Member, Team
from teamcrm.unit_of_work import sending_later
from teamcrm.validation import (
    JSONScalar,
    check_custom_fields,
    check_email,
    check_field_name,
    check_id,
    check_int,
    check_phone,
    check_text,
)

__all__ = ["ContactChanges", "ContactDraft", "ContactUseCases"]


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


class ContactChanges(TypedDict, total=False):
    """The fields :meth:`ContactUseCases.update_contact` may change (its keywords)."""

    first_name: str
    last_name: str
    emails: Sequence[EmailAddress | str]
    phones: Sequence[PhoneNumber | str]
    company_ids: Sequence[CompanyId]
    status: str
    source: str | None
    custom_fields: Mapping[str, JSONScalar]


class ContactUseCases(SessionBase):
    """Contact and company use cases."""

    # ------------------------------------------------------- contacts & companies
    def _build_contact(
        self,
        team: Team,
        draft: ContactDraft | Mapping[str, Any],
        now: datetime,
        region: str | None,
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
        if fields.get("phones"):
            fields["phones"] = localise_phones("PhoneNumber.number", fields["phones"], region)
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
        company_ids: Sequence[CompanyId] = (),
        status: str | None = None,
        source: str | None = None,
        custom_fields: Mapping[str, JSONScalar] | None = None,
        bucket_ids: Iterable[BucketId] = (),
    ) -> Contact:
        """Create a contact (any active member), in the buckets *bucket_ids* if given.

        Seed 004: "choose groups" when adding a contact.  Every bucket must be
        one the member may add to; the contact and its memberships are made in
        one unit of work (or nothing is).
        """
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
        return self.create_contacts([draft], bucket_ids=bucket_ids)[0]

    def create_contacts(
        self,
        drafts: Iterable[ContactDraft | Mapping[str, Any]],
        *,
        bucket_id: BucketId | None = None,
        bucket_ids: Iterable[BucketId] = (),
    ) -> list[Contact]:
        """Create many contacts in one transaction (all or none).

        Each draft is a :class:`ContactDraft` or a mapping with its fields.
        With *bucket_id* and/or *bucket_ids*, every new contact is also added
        to those buckets (each one the member may add to); and every new
        contact joins the team buckets that hold every contact
        (``set_holds_all``).
        """
        drafts = list(_iterable("drafts", drafts))
        if len(drafts) > MAX_BULK:
            raise ValidationError("drafts", len(drafts), f"at most {MAX_BULK} per call")
        with self._unit(size=len(drafts)) as (uow, actor):
            team = uow.teams.get(self.team_id)
            wanted = [] if bucket_id is None else _bucket_ids("bucket_id", [bucket_id])
            wanted += _bucket_ids("bucket_ids", bucket_ids)
            buckets = []
            for wanted_id in dict.fromkeys(wanted):
                chosen = self._bucket(uow, actor, wanted_id)
                perm.require(perm.can_edit_bucket(actor, chosen), actor, "add to this bucket")
                buckets.append(chosen)
            now = self.crm.now()
            region = self._phone_region(uow, actor)
            contacts = [self._build_contact(team, d, now, region) for d in drafts]
            self._check_companies(uow, actor, (c for ct in contacts for c in ct.company_ids))
            uow.contacts.add_many(contacts)
            created = [
                self._event(EventName.CONTACT_CREATED, c.id, now, source=c.source, status=c.status)
                for c in contacts
            ]
            uow.collect(*created)
            known: dict[str, Contact | None] = {c.id: c for c in contacts}
            for bucket in buckets:
                self._add_items(
                    uow, bucket, [c.id for c in contacts], now, known={c.id: c for c in contacts}
                )
            self._join_omni_buckets(uow, contacts, now)
            # contact.created reactions run once the contacts are in their buckets.
            cache: dict[str, Any] = {}
            for event in created:
                self.crm.reactions.react(uow, event, contacts=known, cache=cache)
            uow.commit()
            return contacts

    def contact(self, contact_id: ContactId) -> Contact:
        """Return a contact the member may see.

        Its ``company_ids`` hold only the companies the member may see.
        """
        with self._unit(write=False) as (uow, actor):
            return self._shown_one(uow, actor, self._visible_contact(uow, actor, contact_id))

    def update_contact(
        self,
        contact_id: ContactId,
        *,
        expected_version: int | None = None,
        **changes: Unpack[ContactChanges],
    ) -> Contact:
        """Change a contact's fields (anyone who can see it).

        The keywords are the fields of :class:`ContactChanges`; a type checker
        refuses any other (``update_contact(cid, frist_name=...)``), and so
        does the call at run time (``ValidationError``).

        What it promises, on every store:

        * the fields passed replace the stored ones; the others keep their
          stored value as of the moment the change is made (the contact is
          read again inside the change, locked on PostgreSQL), so concurrent
          calls that change *different* fields all take effect;
        * of concurrent calls that change the *same* field, the last to commit
          wins: a value read earlier and written back (``phones=old + [new]``)
          overwrites what others committed meanwhile.  Use the operations
          that cannot lose a concurrent change (:meth:`add_email`,
          :meth:`remove_email`, :meth:`add_phone`, :meth:`remove_phone`,
          :meth:`link_company`, :meth:`unlink_company`,
          :meth:`set_custom_field`, :meth:`remove_custom_field`), or pass
          *expected_version*;
        * with *expected_version* (the version you read) the change is refused
          with ``ConcurrencyError`` if the contact's version is another one;
          without it, the call never raises ``ConcurrencyError``.

        ``company_ids`` must name companies the member may see (``NotFound``
        otherwise, exactly as for a missing company); it replaces the links
        the member can see, and links to companies the member cannot see are
        kept.  The contact returned is as the member reads it (see
        :meth:`contact`).
        """
        unknown = set(changes) - CONTACT_FIELDS
        if unknown:
            raise ValidationError("contact", sorted(unknown)[0], "unknown contact field")
        if expected_version is not None:
            check_int("expected_version", expected_version, minimum=1)
        with self._unit(
            ahead=self._visible_contact_ahead(contact_id, for_update=True, team="status" in changes)
        ) as (
            uow,
            actor,
        ):
            contact = self._visible_contact(uow, actor, contact_id, for_update=True)
            if expected_version is not None and expected_version != contact.version:
                raise ConcurrencyError("contact", contact.id, expected_version)
            if "status" in changes:
                self._check_status(uow.teams.get(self.team_id), changes["status"])
            stored: dict[str, Any] = dict(changes)
            if changes.get("phones"):
                region = self._phone_region(uow, actor)
                stored["phones"] = localise_phones("PhoneNumber.number", changes["phones"], region)
            if "company_ids" in changes:
                value = changes["company_ids"]
                if isinstance(value, list | tuple):
                    for company_id in value:
                        check_id("Contact.company_ids", company_id, PREFIXES["company"])
                    self._check_companies(uow, actor, value)
                    kept = self._hidden_companies(uow, actor, contact.company_ids)
                    if kept:
                        ids = (*value, *(c for c in contact.company_ids if c in kept))
                        stored = {**changes, "company_ids": ids}
            updated: Contact = bumped(contact, **stored)
            with sending_later(uow):  # held since its read: the update cannot miss it
                uow.contacts.update(updated, previous=contact)
            now = self.crm.now()
            self._emit(
                uow, self._event(EventName.CONTACT_UPDATED, contact.id, now, fields=sorted(changes))
            )
            shown = self._shown_one(uow, actor, updated)
            uow.commit()
            return shown

    def delete_contact(self, contact_id: ContactId) -> None:
        """Delete a contact (admins, managers, or its creator).

        It leaves every bucket and its open leads are removed from routing;
        interactions about it are kept.
        """
        check_id("contact_id", contact_id, PREFIXES["contact"])
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
            uow.memberships.remove_item(self.team_id, contact.id)
            uow.contacts.delete(self.team_id, contact.id, contact.version)
            self._emit(
                uow,
                self._event(EventName.CONTACT_DELETED, contact.id, now),
                contacts={contact.id: contact},
            )
            uow.commit()

    def _change(
        self,
        contact_id: ContactId,
        field: str,
        change: Callable[[UnitOfWork, Member, Contact], Contact | None],
    ) -> Contact:
        """Read a contact for update, apply *change*, write it back: one unit.

        *change* returns the changed contact (version bumped) or ``None`` when
        there is nothing to change (then nothing is written and no event is
        recorded).  The contact is locked from the read to the commit where
        the store's writers run side by side, so no concurrent change is lost
        and the version check cannot fail.
        """
        with self._unit() as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id, for_update=True)
            updated = change(uow, actor, contact)
            if updated is None:
                return self._shown_one(uow, actor, contact)
            uow.contacts.update(updated, previous=contact)
            self._emit(
                uow,
                self._event(EventName.CONTACT_UPDATED, contact.id, self.crm.now(), fields=[field]),
            )
            shown = self._shown_one(uow, actor, updated)
            uow.commit()
            return shown

    def link_company(self, contact_id: ContactId, company_id: CompanyId) -> Contact:
        """Link a contact to a company (no-op if already linked).

        Both must be visible to the member (``NotFound`` otherwise, exactly as
        for a missing one).  Cannot lose a concurrent change of the contact.
        """

        def link(uow: UnitOfWork, actor: Member, contact: Contact) -> Contact | None:
            company = self._visible_company(uow, actor, company_id)
            if company.id in contact.company_ids:
                return None
            return bumped(contact, company_ids=(*contact.company_ids, company.id))

        return self._change(contact_id, "company_ids", link)

    def unlink_company(self, contact_id: ContactId, company_id: CompanyId) -> Contact:
        """Remove a contact's link to a company (no-op if not linked).

        A link to a company the member cannot see is left alone (as if the
        company did not exist).  Cannot lose a concurrent change of the contact.
        """
        check_id("company_id", company_id, PREFIXES["company"])

        def unlink(uow: UnitOfWork, actor: Member, contact: Contact) -> Contact | None:
            if company_id not in contact.company_ids:
                return None
            if self._hidden_companies(uow, actor, [company_id]):
                return None
            ids = tuple(c for c in contact.company_ids if c != company_id)
            return bumped(contact, company_ids=ids)

        return self._change(contact_id, "company_ids", unlink)

    def add_email(self, contact_id: ContactId, email: EmailAddress | str) -> Contact:
        """Add an email address to a contact (no-op if it has it already, in any case).

        Validated like ``update_contact(emails=...)`` (a contact holds at most
        50); records ``contact.updated`` with ``fields=["emails"]``.  Unlike
        writing back a list read earlier, it cannot lose a concurrent change.
        """
        new = _channel("Contact.emails", email, EmailAddress)
        key = new.address.lower()

        def add(_: UnitOfWork, __: Member, contact: Contact) -> Contact | None:
            if any(e.address.lower() == key for e in contact.emails):
                return None
            return bumped(contact, emails=(*contact.emails, new))

        return self._change(contact_id, "emails", add)

    def remove_email(self, contact_id: ContactId, address: str) -> Contact:
        """Remove an email address from a contact (compared ignoring case; no-op if absent)."""
        key = check_email("address", address).lower()

        def remove(_: UnitOfWork, __: Member, contact: Contact) -> Contact | None:
            kept = tuple(e for e in contact.emails if e.address.lower() != key)
            if len(kept) == len(contact.emails):
                return None
            return bumped(contact, emails=kept)

        return self._change(contact_id, "emails", remove)

    def add_phone(self, contact_id: ContactId, phone: PhoneNumber | str) -> Contact:
        """Add a phone number to a contact (no-op if it has the same normalised number).

        Validated like ``update_contact(phones=...)`` (a contact holds at most
        50); records ``contact.updated`` with ``fields=["phones"]``.  Unlike
        writing back a list read earlier, it cannot lose a concurrent change.
        """
        if not isinstance(phone, str | PhoneNumber):
            raise ValidationError("Contact.phones", phone, "must be a PhoneNumber or a string")

        def add(uow: UnitOfWork, actor: Member, contact: Contact) -> Contact | None:
            region = self._phone_region(uow, actor)
            new = (
                PhoneNumber.parse(phone, region)
                if isinstance(phone, str)
                else phone.in_region(region)
            )
            if any(p.number == new.number for p in contact.phones):
                return None
            return bumped(contact, phones=(*contact.phones, new))

        return self._change(contact_id, "phones", add)

    def remove_phone(self, contact_id: ContactId, number: str) -> Contact:
        """Remove a phone number from a contact (compared by key; no-op if absent)."""
        check_text("number", number, max_len=40)

        def remove(uow: UnitOfWork, actor: Member, contact: Contact) -> Contact | None:
            wanted = check_phone("number", number, self._phone_region(uow, actor))
            kept = tuple(p for p in contact.phones if p.number != wanted)
            if len(kept) == len(contact.phones):
                return None
            return bumped(contact, phones=kept)

        return self._change(contact_id, "phones", remove)

    def unparsed_phones(self) -> list[UnparsedPhone]:
        """The team's stored numbers that are not stored under their key (managers, admins).

        Migration ``0300_phone_keys`` re-keys every stored number; one it
        cannot parse (in the team's ``phone_region``) is kept as it was
        stored and listed here, contact by contact, with the reason.  Fix one
        with :meth:`remove_phone` and :meth:`add_phone`.
        """
        with self._unit(write=False) as (uow, actor):
            perm.require(
                actor.role.is_manager,
                actor,
                "list unparsed phone numbers",
                "managers and admins only",
            )
            region = self._phone_region(uow, actor)
            out: list[UnparsedPhone] = []
            for contact in uow.contacts.all(self.team_id):
                for p in contact.phones:
                    try:
                        key = check_phone("PhoneNumber.number", p.number, region)
                    except ValidationError as exc:
                        out.append(
                            UnparsedPhone(contact_id=contact.id, number=p.number, reason=exc.reason)
                        )
                        continue
                    if key != p.number:
                        out.append(
                            UnparsedPhone(
                                contact_id=contact.id,
                                number=p.number,
                                reason=f"is not stored under its key {key}",
                            )
                        )
            return out

    def set_custom_field(self, contact_id: ContactId, name: str, value: JSONScalar) -> Contact:
        """Set one custom field of a contact (no-op if it holds that value already).

        The other custom fields are kept as stored (a concurrent change to
        them is not lost).  Validated like ``update_contact(custom_fields=...)``.
        """
        key = check_field_name(f"Contact.custom_fields[{name!r}]", name)  # NFC, as stored
        checked = check_custom_fields("Contact.custom_fields", {key: value})[key]

        def put(_: UnitOfWork, __: Member, contact: Contact) -> Contact | None:
            fields = contact.custom_fields
            if key in fields and _same(fields[key], checked):
                return None
            return bumped(contact, custom_fields={**fields, key: checked})

        return self._change(contact_id, "custom_fields", put)

    def remove_custom_field(self, contact_id: ContactId, name: str) -> Contact:
        """Remove one custom field of a contact (no-op if it has none of that name)."""
        key = check_field_name(f"Contact.custom_fields[{name!r}]", name)

        def drop(_: UnitOfWork, __: Member, contact: Contact) -> Contact | None:
            fields = contact.custom_fields
            if key not in fields:
                return None
            kept = {k: v for k, v in fields.items() if k != key}
            return bumped(contact, custom_fields=kept)

        return self._change(contact_id, "custom_fields", drop)

    def mark_email_validated(self, contact_id: ContactId, address: str) -> Contact:
        """Mark one of a contact's email addresses as validated."""
        return self._validate_channel(contact_id, email=check_email("address", address))

    def mark_phone_validated(self, contact_id: ContactId, number: str) -> Contact:
        """Mark one of a contact's phone numbers as validated."""
        return self._validate_channel(contact_id, phone=check_text("number", number, max_len=40))

    def _validate_channel(
        self, contact_id: str, *, email: str | None = None, phone: str | None = None
    ) -> Contact:
        with self._unit() as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id, for_update=True)
            if phone is not None:
                phone = check_phone("number", phone, self._phone_region(uow, actor))
            updated = with_channel(contact, email=email, phone=phone)
            if updated is None:
                field, value = ("address", email) if email else ("number", phone)
                raise ValidationError(field, value, f"is not a {field} of contact {contact.id}")
            changed = changed_channel(contact, updated)
            if changed is not None:
                uow.contacts.update(updated, previous=contact)
                uow.collect(
                    self._event(
                        EventName.CONTACT_CHANNEL_VALIDATED,
                        contact.id,
                        self.crm.now(),
                        channel=changed[0],
                    )
                )
            shown = self._shown_one(uow, actor, updated)
            uow.commit()
            return shown


_Channel = TypeVar("_Channel", EmailAddress, PhoneNumber)


def _channel(field: str, value: object, cls: type[_Channel]) -> _Channel:
    """*value* (a string or a *cls*) as a *cls*, checked as ``update_contact`` checks it."""
    if isinstance(value, str):
        return cls(address=value) if cls is EmailAddress else cls(number=value)  # type: ignore[call-arg]
    if not isinstance(value, cls):
        raise ValidationError(field, value, f"must be a {cls.__name__} or a string")
    return value


def _same(a: JSONScalar, b: JSONScalar) -> bool:
    """Equal JSON scalars of one type (``1``, ``1.0`` and ``True`` differ)."""
    return type(a) is type(b) and a == b
