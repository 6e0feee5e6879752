"""Contacts (people) and companies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, CompanyId, ContactId, MemberId, TeamId
from teamcrm.phones import DEFAULT_REGION, phone_parts
from teamcrm.validation import (
    MAX_NAME,
    Checker,
    JSONScalar,
    check_custom_fields,
    check_email,
    check_id,
    check_int,
    check_text,
    utc_datetime,
)

__all__ = ["Company", "Contact", "EmailAddress", "PhoneNumber", "localise_phones"]

MAX_CHANNELS = 50
#: Most companies one contact is linked to.
MAX_COMPANIES = 100


@attrs.frozen(kw_only=True)
class EmailAddress:
    """An email address of a contact.

    *validated* once an email to it was sent or delivered; *bounced* once a
    bounce was logged for it (which clears *validated*), until a later send
    succeeds (see :mod:`teamcrm.channels`).  An address is never both.
    """

    address: str
    validated: bool = False
    label: str | None = None
    bounced: bool = False

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "address", check_email("EmailAddress.address", self.address))
        if type(self.validated) is not bool or self.label is not None or self.bounced is not False:
            c = Checker(self)
            c.boolean("validated")
            c.optional_text("label", max_len=64)
            c.boolean("bounced")
            if self.validated and self.bounced:
                raise ValidationError(
                    "EmailAddress.bounced", self.bounced, "a validated address has not bounced"
                )


@attrs.frozen(kw_only=True)
class PhoneNumber:
    """A phone number of a contact, stored under its key (``+16175550101``).

    *number* may be given in any spelling: it becomes the key of
    :mod:`teamcrm.phones` (E.164, with ``;ext=N`` for an extension), read in
    the region :data:`teamcrm.phones.DEFAULT_REGION` when it has no ``+``
    (the use cases read it in the team's ``phone_region`` instead, see
    :meth:`parse`).  *display* keeps the number as typed when it differs
    from the key; it does not take part in comparisons.

    *validated* becomes true once a call to it connected.
    """

    number: str
    validated: bool = False
    label: str | None = None
    display: str | None = attrs.field(default=None, eq=False)

    def __attrs_post_init__(self) -> None:
        key, typed = phone_parts("PhoneNumber.number", self.number, DEFAULT_REGION)
        object.__setattr__(self, "number", key)
        if self.display is None:
            if typed != key:
                object.__setattr__(self, "display", typed)
        else:
            c = Checker(self)
            c.optional_text("display", max_len=40)
        if type(self.validated) is not bool or self.label is not None:
            c = Checker(self)
            c.boolean("validated")
            c.optional_text("label", max_len=64)

    @classmethod
    def parse(
        cls,
        text: str,
        region: str | None = DEFAULT_REGION,
        *,
        validated: bool = False,
        label: str | None = None,
        field: str = "PhoneNumber.number",
    ) -> PhoneNumber:
        """Build the number *text* reads as in *region* (``None``: only ``+...`` numbers)."""
        key, typed = phone_parts(field, text, region)
        return cls(
            number=key, validated=validated, label=label, display=typed if typed != key else None
        )

    def in_region(self, region: str | None, field: str = "PhoneNumber.number") -> PhoneNumber:
        """This number as typed, read again in *region* (itself when that changes nothing)."""
        typed = self.display
        if region == DEFAULT_REGION or typed is None or typed.startswith("+"):
            return self
        return PhoneNumber.parse(
            typed, region, validated=self.validated, label=self.label, field=field
        )


def localise_phones(
    field: str, values: object, region: str | None
) -> tuple[PhoneNumber, ...] | object:
    """Read the numbers of *values* (strings or ``PhoneNumber``) in the team's *region*.

    Anything that is not a list or tuple is returned as it is (the entity
    refuses it with its own message).
    """
    if region == DEFAULT_REGION or not isinstance(values, list | tuple):
        return values
    out: list[object] = []
    for v in values:
        if isinstance(v, str):
            out.append(PhoneNumber.parse(v, region, field=field))
        elif isinstance(v, PhoneNumber):
            out.append(v.in_region(region, field))
        else:
            out.append(v)
    return tuple(out)


def _channels(
    field: str, value: object, cls: type[EmailAddress] | type[PhoneNumber]
) -> tuple[object, ...]:
    if (
        type(value) is not tuple
        and type(value) is not list
        and (isinstance(value, str | bytes | Mapping) or not isinstance(value, list | tuple))
    ):
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
    :ivar email_opt_out: the contact asked not to be emailed (set by the
        application, e.g. from an unsubscribe link); programs and campaigns
        skip such contacts.
    :ivar opted_out_at: when the contact opted out (``None`` while not opted out).
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
    email_opt_out: bool = False
    opted_out_at: datetime | None = None

    def __attrs_post_init__(self) -> None:
        # The checks of Checker, in the same order with the same messages, but
        # called directly: contacts are built by the hundred thousand in bulk
        # imports, and the per-field indirection was a fifth of the cost.
        c = Checker(self)
        name = _CONTACT_NAMES if type(self) is Contact else _names(c)
        put = object.__setattr__
        check_id(name["id"], self.id, PREFIXES["contact"])
        check_id(name["team_id"], self.team_id, PREFIXES["team"])
        put(self, "created_at", utc_datetime(name["created_at"], self.created_at))
        put(self, "status", check_text(name["status"], self.status, max_len=64))
        first = check_text(name["first_name"], self.first_name, max_len=MAX_NAME, allow_empty=True)
        put(self, "first_name", first)
        last = check_text(name["last_name"], self.last_name, max_len=MAX_NAME, allow_empty=True)
        put(self, "last_name", last)
        if not first and not last:
            raise ValidationError(
                "Contact.first_name", self.first_name, "a contact needs a first or a last name"
            )
        put(self, "emails", _channels("Contact.emails", self.emails, EmailAddress))
        put(self, "phones", _channels("Contact.phones", self.phones, PhoneNumber))
        if self.company_ids != () or type(self.company_ids) is not tuple:
            c.ids("company_ids", PREFIXES["company"], max_len=MAX_COMPANIES)
        if self.source is not None:
            c.optional_text("source", max_len=64)
        put(self, "custom_fields", check_custom_fields(name["custom_fields"], self.custom_fields))
        if self.created_by is not None:
            check_id(name["created_by"], self.created_by, PREFIXES["member"])
        check_int(name["version"], self.version, minimum=1)
        if self.email_opt_out is not False or self.opted_out_at is not None:
            self._check_opt_out(c)

    def _check_opt_out(self, c: Checker) -> None:
        c.boolean("email_opt_out")
        c.optional_utc("opted_out_at")
        if self.opted_out_at is not None and not self.email_opt_out:
            raise ValidationError(
                c.name("opted_out_at"), self.opted_out_at, "only an opted-out contact has it"
            )

    @property
    def display_name(self) -> str:
        """First and last name joined by a space."""
        return " ".join(p for p in (self.first_name, self.last_name) if p)


_CONTACT_FIELDS = (
    "id",
    "team_id",
    "created_at",
    "status",
    "first_name",
    "last_name",
    "custom_fields",
    "created_by",
    "version",
)
_CONTACT_NAMES = {attr: f"Contact.{attr}" for attr in _CONTACT_FIELDS}


def _names(c: Checker) -> dict[str, str]:
    """Field names for messages about a subclass of :class:`Contact`."""
    return {attr: c.name(attr) for attr in _CONTACT_FIELDS}


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
        c.ident("id", PREFIXES["company"])
        c.ident("team_id", PREFIXES["team"])
        c.text("name", max_len=MAX_NAME)
        c.utc("created_at")
        c.optional_text("domain", max_len=253)
        c.optional_ident("created_by", PREFIXES["member"])
        c.integer("version", minimum=1)
