"""Lead intake: a web form or a lead email becomes a contact in a source bucket, once.

:meth:`IntakeUseCases.intake_lead` (on :class:`~teamcrm.service.MemberSession`)
reads the submission (:func:`teamcrm.intake.parse_submission`), then, in one
unit of work:

1. with an idempotency key (the caller's, else the form's ``submission id``
   or the email's ``Message-ID``) already taken in, it changes nothing and
   answers as the first time did (``replayed=True``);
2. it looks for a contact the member can see with one of the submission's
   email addresses or phone numbers (normalised by :mod:`teamcrm.validation`,
   so a repeat enquiry in another spelling matches): found, the contact gains
   the channels and custom fields it lacked (its own values win); otherwise a
   new contact is made (status: the team's default; source: the payload's,
   else ``web form`` / ``email``);
3. the key is recorded (``intake_keys``: the database's unique key decides a
   race between processes — the loser rolls back and replays the winner);
4. the contact is added to the source bucket: entering a pool's source bucket
   routes it exactly like any other add, and a contact already there keeps
   its open lead (no second lead).

The member needs the right to add to the source bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import Message
from typing import Any

import attrs

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket
from teamcrm.contact import Contact, EmailAddress, PhoneNumber
from teamcrm.errors import AlreadyExists, NotFound, ValidationError
from teamcrm.events import EventName
from teamcrm.ids import BucketId, ContactId, new_contact_id
from teamcrm.intake import LeadSubmission, parse_submission
from teamcrm.lead import MAX_INTAKE_KEY, IntakeRecord
from teamcrm.ports import UnitOfWork
from teamcrm.search import ContactQuery, SearchScope
from teamcrm.service.base import SessionBase, bumped, changed_contact_fields
from teamcrm.team import Member
from teamcrm.validation import check_text

__all__ = ["IntakeResult", "IntakeUseCases"]


@attrs.frozen(kw_only=True)
class IntakeResult:
    """What :meth:`IntakeUseCases.intake_lead` did.

    :ivar contact_id: the contact the submission created or joined.
    :ivar contact: that contact as the member reads it (``None`` if it was
        deleted since, on a replay).
    :ivar created: whether the submission created the contact.
    :ivar replayed: whether the key had been taken in before (nothing changed now).
    :ivar lead_ids: the contact's open leads in pools fed by the source bucket.
    :ivar submission: what was read from the payload.
    """

    contact_id: ContactId
    contact: Contact | None
    created: bool
    replayed: bool
    lead_ids: tuple[str, ...]
    submission: LeadSubmission


class _KeyTaken(Exception):
    """Another unit recorded the same key first (PostgreSQL: it committed meanwhile)."""


class IntakeUseCases(SessionBase):
    """Lead intake (mixed into :class:`~teamcrm.service.MemberSession`)."""

    def intake_lead(
        self,
        payload: Mapping[str, Any] | str | bytes | Message,
        *,
        source_bucket_id: BucketId,
        mapping: Mapping[str, str | None] | None = None,
        idempotency_key: str | None = None,
    ) -> IntakeResult:
        """Take in a web form (a mapping) or a lead email; see the module doc.

        Raises ``ValidationError`` for a payload with no email address and no
        phone number, or with one that is not valid; ``NotFound`` /
        ``PermissionDenied`` for a source bucket the member cannot add to.
        """
        sub = parse_submission(payload, mapping)
        key = idempotency_key if idempotency_key is not None else sub.key
        if key is not None:
            key = check_text("idempotency_key", key, max_len=MAX_INTAKE_KEY)
        if not sub.emails and not sub.phones:
            raise ValidationError("payload", _preview(payload), "has no email address or phone")
        try:
            return self._intake(sub, key, str(source_bucket_id))
        except _KeyTaken:
            with self._unit(write=False) as (uow, actor):
                assert key is not None
                record = uow.intake.get(self.team_id, key)
                if record is None:  # pragma: no cover - the winner committed it
                    raise AlreadyExists("intake key", key) from None
                return self._replay(uow, actor, record, sub)

    def _intake(self, sub: LeadSubmission, key: str | None, bucket_id: str) -> IntakeResult:
        with self._unit() as (uow, actor):
            bucket = self._bucket(uow, actor, bucket_id)
            perm.require(perm.can_edit_bucket(actor, bucket), actor, "add to this bucket")
            if key is not None:
                record = uow.intake.get(self.team_id, key)
                if record is not None:
                    return self._replay(uow, actor, record, sub)
            now = self.crm.now()
            emails = [EmailAddress(address=e) for e in sub.emails]  # checks them
            phones = [PhoneNumber(number=p) for p in sub.phones]
            existing = self._find_existing(uow, actor, emails, phones)
            if existing is None:
                contact = self._new_contact(uow, sub, emails, phones, now)
            else:
                contact = _joined(existing, emails, phones, sub)
            if key is not None:
                record = IntakeRecord(
                    team_id=self.team_id,
                    key=key,
                    contact_id=contact.id,
                    bucket_id=bucket.id,
                    received_at=now,
                    created=existing is None,
                    received_by=actor.id,
                )
                try:  # before any other write: a racing unit waits here, then loses
                    uow.intake.add(record)
                except AlreadyExists:
                    raise _KeyTaken from None
            created = None
            if existing is None:
                uow.contacts.add(contact)
                created = self._event(
                    EventName.CONTACT_CREATED,
                    contact.id,
                    now,
                    source=contact.source,
                    status=contact.status,
                )
                uow.collect(created)
            elif contact is not existing:
                uow.contacts.update(contact, previous=existing)
                fields = changed_contact_fields(existing, contact)
                created = self._event(EventName.CONTACT_UPDATED, contact.id, now, fields=fields)
                uow.collect(created)
            self._add_items(uow, bucket, [contact.id], now, known={contact.id: contact})
            if existing is None:
                self._join_omni_buckets(uow, [contact], now)
            if created is not None:  # its reactions run once the contact is in its buckets
                # (contact.created for a new contact, contact.updated for a repeat enquiry)
                self.crm.reactions.react(uow, created, contacts={str(contact.id): contact})
            uow.collect(
                self._event(
                    EventName.LEAD_INTAKE,
                    contact.id,
                    now,
                    key=key,
                    channel=sub.channel,
                    bucket_id=bucket.id,
                    created=existing is None,
                )
            )
            leads = self._open_leads(uow, bucket, contact.id)
            shown = self._shown_one(uow, actor, contact)
            uow.commit()
            return IntakeResult(
                contact_id=contact.id,
                contact=shown,
                created=existing is None,
                replayed=False,
                lead_ids=leads,
                submission=sub,
            )

    # ------------------------------------------------------------ internals
    def _new_contact(
        self,
        uow: UnitOfWork,
        sub: LeadSubmission,
        emails: list[EmailAddress],
        phones: list[PhoneNumber],
        now: Any,
    ) -> Contact:
        team = uow.teams.get(self.team_id)
        first, last = sub.first_name, sub.last_name
        if not first and not last:  # the person gave no name: the address or number stands in
            first = emails[0].address.split("@")[0] if emails else phones[0].number
        return Contact(
            id=new_contact_id(),
            team_id=self.team_id,
            created_at=now,
            status=team.settings.new_contact_status,
            first_name=first,
            last_name=last,
            emails=tuple(emails),
            phones=tuple(phones),
            source=sub.source or ("email" if sub.channel == "email" else "web form"),
            custom_fields=dict(sub.custom_fields),
            created_by=self.member_id,
        )

    def _find_existing(
        self,
        uow: UnitOfWork,
        actor: Member,
        emails: list[EmailAddress],
        phones: list[PhoneNumber],
    ) -> Contact | None:
        """The oldest contact the member can see with one of the channels (emails first)."""
        scope: SearchScope | None = None
        if not actor.role.is_manager:
            visible = frozenset(
                b.id for b in uow.buckets.all(self.team_id) if perm.can_view_bucket(actor, b)
            )
            scope = SearchScope(member_id=actor.id, bucket_ids=visible)
        queries = [ContactQuery(email=e.address) for e in emails]
        queries += [ContactQuery(phone=p.number) for p in phones]
        for q in queries:
            found = uow.views.search(self.team_id, q, scope=scope, after=None, limit=1)
            if found:
                return uow.contacts.get_for_update(self.team_id, found[0].id)
        return None

    def _open_leads(
        self, uow: UnitOfWork, bucket: Bucket, contact_id: ContactId
    ) -> tuple[str, ...]:
        pools = {p.id for p in uow.lead_pools.for_buckets(self.team_id, [bucket.id])}
        return tuple(
            ld.id
            for ld in uow.leads.for_contact(self.team_id, contact_id)
            if ld.is_open and ld.pool_id in pools
        )

    def _replay(
        self, uow: UnitOfWork, actor: Member, record: IntakeRecord, sub: LeadSubmission
    ) -> IntakeResult:
        contacts = uow.contacts.get_many(self.team_id, [record.contact_id])
        shown = self._shown_one(uow, actor, contacts[0]) if contacts else None
        try:
            bucket = uow.buckets.get(self.team_id, record.bucket_id)
            leads = self._open_leads(uow, bucket, record.contact_id)
        except NotFound:  # the bucket was deleted since: no pool is fed by it
            leads = ()
        return IntakeResult(
            contact_id=record.contact_id,
            contact=shown,
            created=record.created,
            replayed=True,
            lead_ids=leads,
            submission=sub,
        )


def _joined(
    contact: Contact,
    emails: list[EmailAddress],
    phones: list[PhoneNumber],
    sub: LeadSubmission,
) -> Contact:
    """*contact* with the channels and custom fields it lacked (its own values win)."""
    have_e = {e.address.casefold() for e in contact.emails}
    have_p = {p.number for p in contact.phones}
    new_e = [e for e in emails if e.address.casefold() not in have_e]
    new_p = [p for p in phones if p.number not in have_p]
    custom = {k: v for k, v in sub.custom_fields.items() if k not in contact.custom_fields}
    if not new_e and not new_p and not custom:
        return contact
    joined: Contact = bumped(
        contact,
        emails=(*contact.emails, *new_e),
        phones=(*contact.phones, *new_p),
        custom_fields={**contact.custom_fields, **custom},
    )
    return joined


def _preview(payload: Any) -> str:
    text = repr(payload)
    return text if len(text) <= 80 else text[:77] + "..."
