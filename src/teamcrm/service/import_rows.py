"""The cells of one imported row, each checked once, and the contact they make.

:class:`RowChecker` is what :meth:`~teamcrm.service.importing.ImportUseCases.import_contacts`
does to each row before matching it: every cell is checked (the same checks,
with the same reasons, as building the row's ``EmailAddress``, ``PhoneNumber``
and ``Contact`` runs), and the contact is then built from those checked values
with :func:`~teamcrm.validation.trusted_builder` instead of being checked a
second time by its constructor.  What the constructor would still check on
values checked this way (the names' lengths, the counts of emails, phones,
companies and custom fields, the source) is checked by
:meth:`RowChecker.contact` in the constructor's order and with its messages;
:meth:`RowChecker.checked_contact` builds the same contact through the
constructor, and ``tests/service/test_import_rows.py`` checks that both give equal
contacts or the same error on random rows.  A label or a typed number the
fast path cannot vouch for (not plain printable ASCII) goes through the
checked constructors.  :meth:`RowChecker.created_event` builds the
``contact.created`` event the same way (as routing builds its events).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket
from teamcrm.contact import MAX_CHANNELS, MAX_COMPANIES, Contact, EmailAddress, PhoneNumber
from teamcrm.errors import ValidationError
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import CompanyId, ContactId, MemberId, TeamId, new_contact_id
from teamcrm.importing import Column, ImportReport, RowError, split_cell
from teamcrm.phones import phone_parts
from teamcrm.team import Member, Team
from teamcrm.validation import (
    MAX_CUSTOM_FIELDS,
    MAX_CUSTOM_VALUE,
    MAX_NAME,
    FrozenDict,
    JSONScalar,
    check_custom_fields,
    check_email,
    check_field_name,
    check_text,
    trusted_builder,
    utc_datetime,
)

__all__ = ["Row", "RowChecker", "find_bucket"]

#: Builders without checks, for values checked here (see ``validation.trusted``).
_email = trusted_builder(EmailAddress)
_phone = trusted_builder(PhoneNumber)
_contact = trusted_builder(Contact)
_event = trusted_builder(DomainEvent)


@attrs.define
class Row:
    """One checked row: the fields it gives and the keys it is matched by."""

    number: int
    first_name: str = ""
    last_name: str = ""
    emails: list[EmailAddress] = attrs.field(factory=list)
    phones: list[PhoneNumber] = attrs.field(factory=list)
    companies: list[tuple[str, str]] = attrs.field(factory=list)  # (column, name)
    status: str | None = None
    source: str | None = None
    custom: dict[str, JSONScalar] = attrs.field(factory=dict)
    buckets: list[Bucket] = attrs.field(factory=list)
    draft: Contact | None = None  # the contact it makes (without companies), once checked

    def match_keys(self) -> list[str]:
        """The row's dedupe keys: lower-case email addresses, then phone keys."""
        return [e.address.lower() for e in self.emails] + [p.number for p in self.phones]


def _plain(text: str | None) -> bool:
    """Whether *text* is ``None`` or what ``check_text`` returns unchanged (non-empty)."""
    return text is None or (
        0 < len(text) <= 64 and text.isascii() and text.isprintable() and text == text.strip()
    )


class RowChecker:
    """Checks the rows of one unit of an import and builds their contacts.

    *region* is the region numbers without ``+`` are read in; *now* the
    contacts' creation time; *actor* the importing member (buckets named by
    a cell must be ones they may add to).
    """

    def __init__(
        self,
        *,
        team: Team,
        buckets: list[Bucket],
        actor: Member,
        region: str | None,
        now: datetime,
        member_id: MemberId,
    ) -> None:
        self.team = team
        self.team_id: TeamId = team.id
        self.buckets = buckets
        self.actor = actor
        self.region = region
        self.now = utc_datetime("Contact.created_at", now)
        self.member_id = member_id
        self.statuses = team.settings.statuses
        self.default_status = team.settings.new_contact_status
        self._custom: dict[str, tuple[str, str]] = {}  # target -> (NFC name, field)

    # ------------------------------------------------------------------ cells
    def check(
        self, number: int, cells: list[str], columns: list[Column], report: ImportReport
    ) -> Row | None:
        """The checked row, or ``None`` after adding its errors to *report*."""
        row = Row(number=number)
        bad: list[RowError] = []
        width = len(cells)
        for col in columns:
            text = cells[col.index].strip() if col.index < width else ""
            if not text:
                continue
            try:
                self.put(row, col, text)
            except ValidationError as exc:
                bad.append(RowError(row=number, column=col.name, value=text, reason=exc.reason))
        if not bad and not row.first_name and not row.last_name:
            if row.emails:
                row.first_name = row.emails[0].address.split("@")[0]
            elif row.phones:
                row.first_name = row.phones[0].number
            else:
                bad.append(
                    RowError(row=number, column=None, value="", reason="no name, email or phone")
                )
        if bad:
            report.errors.extend(bad)
            return None
        try:  # the whole contact's own checks (lengths, counts)
            row.draft = self.contact(row, [])
        except ValidationError as exc:
            report.errors.append(
                RowError(row=number, column=None, value=str(exc.value)[:80], reason=str(exc))
            )
            return None
        return row

    def put(self, row: Row, col: Column, text: str) -> None:
        """Check one non-empty, stripped cell *text* of column *col* into *row*.

        Raises ``ValidationError`` whose ``reason`` is the cell's error.
        """
        target = col.target
        if target == "first_name":
            row.first_name = text
        elif target == "last_name":
            row.last_name = text
        elif target == "name":
            first, _, last = text.partition(" ")
            row.first_name, row.last_name = first, last.strip()
        elif target == "email":
            for value in _values(text):
                email = self.email(value, col.label)
                key = email.address.lower()
                if all(e.address.lower() != key for e in row.emails):
                    row.emails.append(email)
        elif target == "phone":
            for value in _values(text):
                phone = self.phone(value, col.label)
                if all(p.number != phone.number for p in row.phones):
                    row.phones.append(phone)
        elif target == "company":
            row.companies += [(col.name, name) for name in split_cell(text)]
        elif target == "status":
            if text not in self.statuses:
                raise ValidationError(col.name, text, f"must be one of {self.statuses!r}")
            row.status = text
        elif target == "source":
            row.source = text
        elif target == "bucket":
            for name in split_cell(text):
                found = find_bucket(self.buckets, name, self.actor)
                if found not in row.buckets:
                    row.buckets.append(found)
        else:  # custom:NAME
            self._put_custom(row, col, target, text)

    def _put_custom(self, row: Row, col: Column, target: str, text: str) -> None:
        known = self._custom.get(target)
        if known is None:
            # As check_custom_fields names the field and checks the name (once a column).
            name = check_field_name(
                f"{col.name}[{target.removeprefix('custom:')!r}]", target.removeprefix("custom:")
            )
            known = self._custom[target] = (name, f"{col.name}[{name!r}]")
        name, field = known
        row.custom[name] = check_text(
            field, text, max_len=MAX_CUSTOM_VALUE, allow_empty=True, multiline=True
        )

    def email(self, value: str, label: str | None) -> EmailAddress:
        """``EmailAddress(address=value, label=label)``, its address checked once."""
        if not _plain(label):
            return EmailAddress(address=value, label=label)
        return _email(
            address=check_email("EmailAddress.address", value),
            validated=False,
            label=label,
            bounced=False,
        )

    def phone(self, value: str, label: str | None) -> PhoneNumber:
        """``PhoneNumber.parse(value, region, label=label)``, parsed once."""
        key, typed = phone_parts("PhoneNumber.number", value, self.region)
        display = typed if typed != key else None
        if not (_plain(label) and (display is None or (typed.isascii() and typed.isprintable()))):
            return PhoneNumber.parse(value, self.region, label=label)
        return _phone(number=key, validated=False, label=label, display=display)

    # --------------------------------------------------------------- contacts
    def contact(self, row: Row, company_ids: list[CompanyId]) -> Contact:
        """The contact *row* makes, linked to *company_ids* (valid ids, no repeats).

        Equal to :meth:`checked_contact`, or the same ``ValidationError``: the
        checks ``Contact`` runs that the cells' checks have not run already,
        in its order.
        """
        status = check_text("Contact.status", row.status or self.default_status, max_len=64)
        first = check_text("Contact.first_name", row.first_name, max_len=MAX_NAME, allow_empty=True)
        last = check_text("Contact.last_name", row.last_name, max_len=MAX_NAME, allow_empty=True)
        if not first and not last:
            raise ValidationError(
                "Contact.first_name", first, "a contact needs a first or a last name"
            )
        emails = tuple(row.emails)
        if len(emails) > MAX_CHANNELS:
            raise ValidationError(
                "Contact.emails", emails, f"must hold at most {MAX_CHANNELS} entries"
            )
        phones = tuple(row.phones)
        if len(phones) > MAX_CHANNELS:
            raise ValidationError(
                "Contact.phones", phones, f"must hold at most {MAX_CHANNELS} entries"
            )
        companies = tuple(company_ids)
        if len(companies) > MAX_COMPANIES:
            raise ValidationError(
                "Contact.company_ids", companies, f"must hold 0 to {MAX_COMPANIES} ids"
            )
        source = row.source
        if source is not None:
            source = check_text("Contact.source", source, max_len=64, allow_empty=True) or None
        custom = row.custom
        if len(custom) > MAX_CUSTOM_FIELDS:
            check_custom_fields("Contact.custom_fields", dict(custom))  # raises
        return _contact(
            id=new_contact_id(),
            team_id=self.team_id,
            created_at=self.now,
            status=status,
            first_name=first,
            last_name=last,
            emails=emails,
            phones=phones,
            company_ids=companies,
            source=source,
            custom_fields=FrozenDict(custom),
            created_by=self.member_id,
            version=1,
            email_opt_out=False,
            opted_out_at=None,
        )

    def created_event(self, contact: Contact) -> DomainEvent:
        """The ``contact.created`` event of *contact* (a contact of this import, so checked).

        Equal to ``DomainEvent(name=..., data={"source": ..., "status": ...})``,
        which would check the ids, the time and the data again.
        """
        return _event(
            name=EventName.CONTACT_CREATED,
            team_id=self.team_id,
            subject_id=contact.id,
            occurred_at=self.now,
            actor_id=self.member_id,
            data={"source": contact.source, "status": contact.status},
        )

    def checked_contact(
        self, row: Row, company_ids: list[CompanyId], contact_id: ContactId | None = None
    ) -> Contact:
        """The contact *row* makes, built (and checked) by ``Contact`` itself."""
        return Contact(
            id=contact_id or new_contact_id(),
            team_id=self.team_id,
            created_at=self.now,
            status=row.status or self.default_status,
            first_name=row.first_name,
            last_name=row.last_name,
            emails=tuple(row.emails),
            phones=tuple(row.phones),
            company_ids=tuple(company_ids),
            source=row.source,
            custom_fields=dict(row.custom),
            created_by=self.member_id,
        )


def _values(text: str) -> list[str]:
    """:func:`~teamcrm.importing.split_cell` of a stripped cell (no regex for one value)."""
    if ":::" in text or ";" in text:
        return split_cell(text)
    return [text]


def find_bucket(buckets: list[Bucket], text: str, actor: Member) -> Bucket:
    """The bucket a ``bucket`` cell names (id or name, ignoring case) that *actor* may add to."""
    named = [b for b in buckets if b.id == text or b.name.casefold() == text.casefold()]
    named = [b for b in named if perm.can_view_bucket(actor, b)]
    if len(named) != 1:
        reason = "no bucket has this id or name" if not named else "several buckets have this name"
        raise ValidationError("bucket", text, reason)
    if not perm.can_edit_bucket(actor, named[0]):
        raise ValidationError("bucket", text, "you may not add to this bucket")
    return named[0]
