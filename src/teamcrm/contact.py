"""Contacts (people) and companies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import CompanyId, ContactId, MemberId, TeamId
from teamcrm.validation import (
    MAX_NAME,
    Checker,
    JSONScalar,
    check_email,
    check_phone,
)

__all__ = ["Company", "Contact", "EmailAddress", "PhoneNumber"]

MAX_CHANNELS = 50


@attrs.frozen(kw_only=True)
class EmailAddress:
    """An email address of a contact; *validated* once an email was delivered."""

    address: str
    validated: bool = False
    label: str | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        object.__setattr__(self, "address", check_email("EmailAddress.address", self.address))
        c.boolean("validated")
        c.optional_text("label", max_len=64)


@attrs.frozen(kw_only=True)
class PhoneNumber:
    """A phone number of a contact, stored normalised (``+15550102030``).

    *validated* becomes true once a call to it connected.
    """

    number: str
    validated: bool = False
    label: str | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        object.__setattr__(self, "number", check_phone("PhoneNumber.number", self.number))
        c.boolean("validated")
        c.optional_text("label", max_len=64)


def _channels(
    field: str, value: object, cls: type[EmailAddress] | type[PhoneNumber]
) -> tuple[object, ...]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, list | tuple):
        raise ValidationError(field, value, "must be a list or tuple")
    if len(value) > MAX_CHANNELS:
        raise ValidationError(field, value, f"must hold at most {MAX_CHANNELS} entries")
    out: list[object] = []
    keys: set[str] = set()
    for item in value:
        if isinstance(item, str):
            item = cls(address=item) if cls is EmailAddress else cls(number=item)  # type: ignore[call-arg]
        if not isinstance(item, cls):
            raise ValidationError(field, item, f"must be a {cls.__name__} or a string")
        key = item.address.lower() if isinstance(item, EmailAddress) else item.number
        if key in keys:
            raise ValidationError(field, item, "is listed twice")
        keys.add(key)
        out.append(item)
    return tuple(out)


@attrs.frozen(kw_only=True)
class Contact:
    """A person the team works with.

    At least one of *first_name* and *last_name* must be non-empty.  Emails
    and phones may be given as plain strings; they become
    :class:`EmailAddress` / :class:`PhoneNumber` values.

    :ivar status: one of the team's statuses (checked by the service).
    :ivar source: where the contact came from (``website``, ``referral``...).
    :ivar custom_fields: free-form name → JSON scalar.
    """

    id: ContactId
    team_id: TeamId
    created_at: datetime
    status: str
    first_name: str = ""
    last_name: str = ""
    emails: tuple[EmailAddress, ...] = ()
    phones: tuple[PhoneNumber, ...] = ()
    company_ids: tuple[CompanyId, ...] = ()
    source: str | None = None
    custom_fields: Mapping[str, JSONScalar] = attrs.field(factory=dict, hash=False)
    created_by: MemberId | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", "ct_")
        c.ident("team_id", "tm_")
        c.utc("created_at")
        c.text("status", max_len=64)
        c.text("first_name", max_len=MAX_NAME, allow_empty=True)
        c.text("last_name", max_len=MAX_NAME, allow_empty=True)
        if not self.first_name and not self.last_name:
            raise ValidationError(
                "Contact.first_name", self.first_name, "a contact needs a first or a last name"
            )
        object.__setattr__(self, "emails", _channels("Contact.emails", self.emails, EmailAddress))
        object.__setattr__(self, "phones", _channels("Contact.phones", self.phones, PhoneNumber))
        c.ids("company_ids", "co_", max_len=100)
        c.optional_text("source", max_len=64)
        c.custom("custom_fields")
        c.optional_ident("created_by", "mb_")
        c.integer("version", minimum=1)

    @property
    def display_name(self) -> str:
        """First and last name joined by a space."""
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@attrs.frozen(kw_only=True)
class Company:
    """An organisation that groups contacts."""

    id: CompanyId
    team_id: TeamId
    name: str
    created_at: datetime
    domain: str | None = None
    created_by: MemberId | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", "co_")
        c.ident("team_id", "tm_")
        c.text("name", max_len=MAX_NAME)
        c.utc("created_at")
        c.optional_text("domain", max_len=253)
        c.optional_ident("created_by", "mb_")
        c.integer("version", minimum=1)
