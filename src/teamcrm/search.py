"""Searching contacts: the query value, saved filters, and the pure matching rules.

A :class:`ContactQuery` is a frozen value whose criteria combine with AND:

* ``name`` - the start of the name, word by word: the query's words must
  begin at some word of "first last", the last one as a prefix, compared
  case- and accent-insensitively (``"zoe"``, ``"kowal"`` and ``"zoe kow"``
  all find "Zoë Kowalska"; ``"lukasz"`` finds "Łukasz");
* ``email`` - an address, case-insensitively;
* ``phone`` - a number in any spelling (``"+1 (555) 010-2030"`` finds
  ``"+15550102030"``);
* ``company_id``, ``status``, ``bucket_id``, ``source``;
* ``assignee_id`` - the member owning an open lead of the contact;
* ``custom_field`` with ``custom_value`` - a custom field holding exactly that
  value (``custom_value=None`` with a field name: the field is set at all);
* ``last_contacted`` and ``created`` - :class:`DateRange`\\ s (half-open:
  ``start <= t < end``); "last contacted" is the contact's newest
  interaction by anyone in the team.

Results come in a stable order - ``created_at``, then id - and are paged
with an opaque cursor (:func:`encode_cursor`).  Every adapter returns
exactly the contacts that :func:`matches` accepts, among those the searching
member may see (:class:`SearchScope`).

A :class:`SavedFilter` is a query saved by name, for its owner or for the
whole team; it is stored as data (``teamcrm.converter``).
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NewType

import attrs

from teamcrm.contact import Company, Contact
from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, BucketId, CompanyId, ContactId, MemberId, TeamId, id_suffix
from teamcrm.phones import might_be_phone
from teamcrm.validation import (
    MAX_NAME,
    Checker,
    JSONScalar,
    check_custom_fields,
    check_email,
    check_id,
    check_phone,
    check_text,
    utc_datetime,
)

__all__ = [
    "FOLD_EXTRAS",
    "MAX_PAGE",
    "CompanyQuery",
    "ContactQuery",
    "DateRange",
    "SavedFilter",
    "SavedFilterId",
    "SearchScope",
    "ascii_lower",
    "company_matches",
    "decode_cursor",
    "encode_cursor",
    "fold",
    "matches",
    "name_matches",
    "name_needle",
    "name_text",
    "new_saved_filter_id",
    "query_from_mapping",
    "tokens",
]

#: Most rows one page of search results may hold.
MAX_PAGE = 1_000

SavedFilterId = NewType("SavedFilterId", str)

#: Letters that Unicode does not decompose into a base letter and a mark, and
#: what they fold to (both cases; the SQLite adapter folds them the same way).
FOLD_EXTRAS: dict[str, str] = {
    "\u0142": "l",  # l with stroke (Polish)
    "\u0141": "l",
    "\u0111": "d",  # d with stroke
    "\u0110": "d",
    "\u00f8": "o",  # o with stroke
    "\u00d8": "o",
    "\u0127": "h",  # h with stroke
    "\u0126": "h",
    "\u0131": "i",  # dotless i
    "\u00e6": "ae",
    "\u00c6": "ae",
    "\u0153": "oe",
    "\u0152": "oe",
    "\u00fe": "th",
    "\u00de": "th",
    "\u00f0": "d",
    "\u00d0": "d",
    "\u00df": "ss",  # sharp s
    "\u1e9e": "ss",
}
_EXTRA_FOLD = str.maketrans(FOLD_EXTRAS)
_TOKEN = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Return *text* lower-cased, without accents and with single spaces.

    >>> fold("  Zoë  KOWALSKA ")
    'zoe kowalska'
    >>> fold("Łukasz Straße")
    'lukasz strasse'
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA_FOLD).lower())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.split())


def tokens(text: str) -> tuple[str, ...]:
    """The folded words of *text* (runs of letters and digits).

    >>> tokens("Mary-Ann O'Brien")
    ('mary', 'ann', 'o', 'brien')
    """
    return tuple(_TOKEN.findall(fold(text)))


def name_matches(prefix: Sequence[str], first_name: str, last_name: str) -> bool:
    """Does the folded query *prefix* (its words) start at some word of the full name?

    Every word but the last must equal consecutive words of "first last";
    the last must begin the word after them.  So ``"zoe"``, ``"kow"`` and
    ``"zoe kow"`` all find "Zoë Kowalska", and ``"ann"`` finds "Mary-Ann".
    """
    if not prefix:
        return True
    words = tokens(f"{first_name} {last_name}")
    n = len(prefix)
    for i in range(len(words) - n + 1):
        if words[i : i + n - 1] == tuple(prefix[:-1]) and words[i + n - 1].startswith(prefix[-1]):
            return True
    return False


#: What separates the words of :func:`name_text` (no letter or digit, so never in a word).
WORD_MARK = " ^"


def name_text(*parts: str) -> str:
    """The indexed form of a name: each folded word after :data:`WORD_MARK`.

    A query prefix is a match exactly when :func:`name_needle` of it is a
    substring of this text (:func:`name_matches`), so stores index this text
    (computed here, in Python: folding happens once, identically, for every
    store) and look for the needle in it.

    >>> name_text("Zoë", "Kowalska")
    ' ^zoe ^kowalska'
    """
    return "".join(WORD_MARK + word for word in tokens(" ".join(parts)))


def name_needle(prefix: Sequence[str]) -> str:
    """The substring of :func:`name_text` that a folded query *prefix* must find.

    >>> name_needle(("zoe", "kow"))
    ' ^zoe ^kow'
    """
    return WORD_MARK + WORD_MARK.join(prefix)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """*text* with only the ASCII letters lower-cased (how company domains compare)."""
    return text.translate(_ASCII_LOWER)


def new_saved_filter_id() -> SavedFilterId:
    """Return a fresh, random saved-filter id (``sf_…``)."""
    return SavedFilterId(PREFIXES["saved_filter"] + id_suffix())


@attrs.frozen(kw_only=True)
class DateRange:
    """A half-open time range ``start <= t < end``; either end may be open (``None``)."""

    start: datetime | None = None
    end: datetime | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.optional_utc("start")
        c.optional_utc("end")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValidationError("DateRange.end", self.end, "must be after start")

    def __contains__(self, moment: object) -> bool:
        if not isinstance(moment, datetime):
            return False
        if self.start is not None and moment < self.start:
            return False
        return self.end is None or moment < self.end


def _text_64(field: str, value: Any) -> str:
    return check_text(field, value, max_len=64)


def _name(field: str, value: Any) -> str:
    return check_text(field, value, max_len=MAX_NAME)


def _phone(field: str, value: Any) -> str:
    """The key of a number in any spelling (read in the default region).

    A number that only reads in another region (``"600 000 003"``) is kept
    as typed: the search use case keys it in the team's region.
    """
    try:
        return check_phone(field, value)
    except ValidationError:
        text = check_text(field, value, max_len=40).strip()
        if text.startswith("+") or not might_be_phone(text):
            raise
        return text


def _ident(prefix: str) -> Callable[[str, Any], str]:
    def check(field: str, value: Any) -> str:
        return check_id(field, value, prefix)

    return check


#: (attribute, field name in errors, check) of the optional text criteria of a query.
_QUERY_CHECKS: tuple[tuple[str, str, Callable[[str, Any], str]], ...] = tuple(
    (attr, f"ContactQuery.{attr}", check)
    for attr, check in (
        ("name", _name),
        ("email", check_email),
        ("phone", _phone),
        ("company_id", _ident(PREFIXES["company"])),
        ("status", _text_64),
        ("bucket_id", _ident(PREFIXES["bucket"])),
        ("assignee_id", _ident(PREFIXES["member"])),
        ("source", _text_64),
    )
)


def _range(obj: object, attr: str) -> None:
    value = getattr(obj, attr)
    if value is not None and not isinstance(value, DateRange):
        raise ValidationError(f"{type(obj).__name__}.{attr}", value, "must be a DateRange or None")


#: The ``assignee_id`` that asks for contacts nobody owns (``ContactQuery.unassigned``).
UNASSIGNED = "unassigned"


@attrs.frozen(kw_only=True)
class ContactQuery:
    """What to search for; every criterion given must hold (AND).

    An empty query finds every contact the member may see.

    :ivar assignee_id: contacts a member owns an open lead of;
        ``"unassigned"`` is the same as ``unassigned=True``.
    :ivar unassigned: contacts nobody owns: no open lead of theirs has an
        assignee (never routed, entered and not assigned, or waiting after a
        rejection — seed 001's "Unassigned contacts").

    :ivar custom_value: a JSON scalar (text, number, boolean) the custom field
        must hold; ``None`` asks only that *custom_field* is set.
    """

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company_id: CompanyId | None = None
    status: str | None = None
    bucket_id: BucketId | None = None
    assignee_id: MemberId | None = None
    source: str | None = None
    custom_field: str | None = None
    custom_value: Any = None
    last_contacted: DateRange | None = None
    created: DateRange | None = None
    unassigned: bool = False

    def __attrs_post_init__(self) -> None:
        c = self
        if self.assignee_id == UNASSIGNED:
            object.__setattr__(self, "assignee_id", None)
            object.__setattr__(self, "unassigned", True)
        if not isinstance(self.unassigned, bool):
            raise ValidationError("ContactQuery.unassigned", self.unassigned, "must be a bool")
        if self.unassigned and self.assignee_id is not None:
            raise ValidationError(
                "ContactQuery.assignee_id", self.assignee_id, "contradicts unassigned=True"
            )
        for attr, field, check in _QUERY_CHECKS:
            value = getattr(c, attr)
            if value is not None:
                object.__setattr__(c, attr, check(field, value))
        if self.custom_field is not None:
            if not isinstance(self.custom_field, str):
                raise ValidationError(
                    "ContactQuery.custom_field", self.custom_field, "must be a field name"
                )
            checked = check_custom_fields(
                "ContactQuery.custom_field", {self.custom_field: self.custom_value}
            )
            ((key, value),) = checked.items()
            object.__setattr__(self, "custom_field", key)
            object.__setattr__(self, "custom_value", value)
        elif self.custom_value is not None:
            raise ValidationError(
                "ContactQuery.custom_value", self.custom_value, "needs a custom_field"
            )
        _range(c, "last_contacted")
        _range(c, "created")
        if self.name is not None and not tokens(self.name):
            raise ValidationError("ContactQuery.name", self.name, "has no letters to search for")

    @property
    def name_prefix(self) -> tuple[str, ...] | None:
        """The folded words of the name criterion, or ``None``."""
        return None if self.name is None else tokens(self.name)

    @property
    def email_key(self) -> str | None:
        """The email address as stored for lookups (lower case), or ``None``."""
        return None if self.email is None else self.email.lower()

    def describe(self) -> str:
        """The criteria in words, for titles (``"name ^ 'zoe', status = 'active'"``)."""
        parts = []
        for name in _QUERY_FIELDS:
            value = getattr(self, name)
            if value is None or value is False or name == "custom_value":
                continue
            if name == "unassigned":
                parts.append("unassigned")
                continue
            if name == "name":
                parts.append(f"name ^ {value!r}")
            elif name == "custom_field":
                parts.append(f"{value} = {self.custom_value!r}")
            elif isinstance(value, DateRange):
                start = "" if value.start is None else value.start.isoformat()
                end = "" if value.end is None else value.end.isoformat()
                parts.append(f"{name} in [{start}, {end})")
            else:
                parts.append(f"{name} = {value!r}")
        return ", ".join(parts) or "all contacts"


#: The fields of :class:`ContactQuery`, in declaration order.
_QUERY_FIELDS: tuple[str, ...] = tuple(f.name for f in attrs.fields(ContactQuery))
_QUERY_FIELD_SET = frozenset(_QUERY_FIELDS)


@attrs.frozen(kw_only=True)
class SearchScope:
    """Which contacts a non-manager may see: its own and those in *bucket_ids*.

    Built by the service from :mod:`teamcrm.permissions` (team buckets the
    member can view, and the member's personal buckets); ``None`` in place
    of a scope means "every contact of the team" (admins and managers).
    """

    member_id: MemberId
    bucket_ids: frozenset[BucketId] = frozenset()

    def __attrs_post_init__(self) -> None:
        check_id("SearchScope.member_id", self.member_id, PREFIXES["member"])
        object.__setattr__(self, "bucket_ids", frozenset(self.bucket_ids))


def matches(
    contact: Contact,
    query: ContactQuery,
    *,
    bucket_ids: Iterable[str] = (),
    last_contacted_at: datetime | None = None,
    assignee_ids: Iterable[str] = (),
) -> bool:
    """Does *contact* satisfy every criterion of *query*?

    *bucket_ids* are the buckets holding the contact, *last_contacted_at*
    its newest interaction, *assignee_ids* the owners of its open leads.
    This is the reference every adapter's search is tested against.
    """
    q = query
    prefix = q.name_prefix
    if prefix is not None and not name_matches(prefix, contact.first_name, contact.last_name):
        return False
    if q.email is not None and all(e.address.lower() != q.email_key for e in contact.emails):
        return False
    if q.phone is not None and all(p.number != q.phone for p in contact.phones):
        return False
    if q.company_id is not None and q.company_id not in contact.company_ids:
        return False
    if q.status is not None and contact.status != q.status:
        return False
    if q.source is not None and contact.source != q.source:
        return False
    if q.bucket_id is not None and q.bucket_id not in set(bucket_ids):
        return False
    if q.assignee_id is not None and q.assignee_id not in set(assignee_ids):
        return False
    if q.unassigned and any(True for _ in assignee_ids):
        return False
    if q.custom_field is not None:
        if q.custom_field not in contact.custom_fields:
            return False
        stored = contact.custom_fields[q.custom_field]
        if q.custom_value is not None and not _same_json(stored, q.custom_value):
            return False
    if q.last_contacted is not None and (
        last_contacted_at is None or last_contacted_at not in q.last_contacted
    ):
        return False
    return q.created is None or contact.created_at in q.created


@attrs.frozen(kw_only=True)
class CompanyQuery:
    """What to search companies for; every criterion given must hold (AND).

    :ivar name: the start of the name, word by word, as for contacts
        (``"glob"`` finds "Globex Corp").
    :ivar domain: the company's domain, equal but for the case of ASCII
        letters (``"Example.COM"`` finds ``"example.com"``).
    """

    name: str | None = None
    domain: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.name is not None:
            object.__setattr__(self, "name", _name("CompanyQuery.name", self.name))
            if not tokens(self.name):
                raise ValidationError(
                    "CompanyQuery.name", self.name, "has no letters to search for"
                )
        if self.domain is not None:
            domain = check_text("CompanyQuery.domain", self.domain, max_len=253).strip()
            if not domain:
                raise ValidationError("CompanyQuery.domain", self.domain, "must not be blank")
            object.__setattr__(self, "domain", domain)

    @property
    def name_prefix(self) -> tuple[str, ...] | None:
        """The folded words of the name criterion, or ``None``."""
        return None if self.name is None else tokens(self.name)

    @property
    def domain_key(self) -> str | None:
        """The domain as compared (ASCII letters lower-cased), or ``None``."""
        return None if self.domain is None else ascii_lower(self.domain)


def company_matches(company: Company, query: CompanyQuery) -> bool:
    """Does *company* satisfy every criterion of *query*?  The reference of company search."""
    prefix = query.name_prefix
    if prefix is not None and not name_matches(prefix, company.name, ""):
        return False
    key = query.domain_key
    return key is None or (company.domain is not None and ascii_lower(company.domain) == key)


def _same_json(a: JSONScalar, b: JSONScalar) -> bool:
    """Equal as JSON values: ``True`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    return a == b


def encode_cursor(created_at: datetime, contact_id: str) -> str:
    """Return the opaque cursor that continues a search after this contact."""
    raw = f"{utc_datetime('cursor', created_at).isoformat()}|{contact_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, prefix: str = PREFIXES["contact"]) -> tuple[datetime, ContactId]:
    """Return the (created_at, id) a cursor points after; ``ValidationError`` if bad.

    *prefix* is the kind of id the cursor must hold (``PREFIXES["company"]`` for company search).
    """
    if not isinstance(cursor, str) or not 0 < len(cursor) <= 200:
        raise ValidationError("after", cursor, "is not a search cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, contact_id = raw.partition("|")
        at = utc_datetime("after", datetime.fromisoformat(stamp))
        check_id("after", contact_id, prefix)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError("after", cursor, "is not a search cursor") from exc
    return at, ContactId(contact_id)


@attrs.frozen(kw_only=True)
class SavedFilter:
    """A contact query saved by name.

    :ivar owner_id: who saved it.
    :ivar shared: ``True`` for a filter of the whole team (saved by a
        manager or admin), ``False`` for one only its owner sees.
    """

    id: SavedFilterId
    team_id: TeamId
    owner_id: MemberId
    name: str
    query: ContactQuery
    created_at: datetime
    shared: bool = False
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["saved_filter"])
        c.ident("team_id", PREFIXES["team"])
        c.ident("owner_id", PREFIXES["member"])
        c.text("name", max_len=MAX_NAME)
        if not isinstance(self.query, ContactQuery):
            raise ValidationError("SavedFilter.query", self.query, "must be a ContactQuery")
        c.utc("created_at")
        c.boolean("shared")
        c.integer("version", minimum=1)


def query_from_mapping(data: Mapping[str, Any]) -> ContactQuery:
    """Build a :class:`ContactQuery` from keyword data (unknown keys are refused)."""
    for key in data:
        if key not in _QUERY_FIELD_SET:
            raise ValidationError(
                "query", key, f"unknown criterion; known: {sorted(_QUERY_FIELD_SET)}"
            )
    return ContactQuery(**data)
