"""Hypothesis strategies for every teamcrm entity, and for invalid input.

Every strategy here builds *valid* values (entities pass their own checks),
except the ``invalid_*`` / ``naive_*`` strategies, which build values that
the named check must reject.  Use them in your own tests::

    from hypothesis import given
    from teamcrm.testing import strategies as tst

    @given(contact=tst.contacts())
    def test_contact_round_trips(contact): ...

Strategies that build team-scoped entities take the ids they refer to
(``team_id``, ``created_by``, ``company_ids``...).  Each of these parameters
accepts either a plain value or a hypothesis strategy; by default a fresh
random id is drawn, which is fine for pure domain tests but not for a store
that checks references — the contract suite passes ids of rows it created.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from teamcrm.bucket import (
    AccessGrant,
    AccessLevel,
    Bucket,
    BucketKind,
    BucketMembership,
    TeamAccess,
)
from teamcrm.contact import Company, Contact, EmailAddress, PhoneNumber
from teamcrm.events import DomainEvent, EventName
from teamcrm.followup import (
    MAX_CADENCE,
    Cadence,
    CadenceUnit,
    FollowUpDue,
    FollowUpPolicy,
    PolicyId,
    Snooze,
    Touch,
    TouchKind,
)
from teamcrm.ids import BucketId, CompanyId, ContactId, InteractionId, MemberId, TeamId
from teamcrm.interaction import Interaction, InteractionKind, Outcome
from teamcrm.lead import (
    MAX_LEAD_NOTE,
    InboundBucket,
    Lead,
    LeadId,
    LeadStatus,
    Offer,
    OfferId,
    OfferStatus,
    RoutingCursor,
)
from teamcrm.notification import Notification, NotificationId, NotificationKind
from teamcrm.pool import (
    DEFAULT_OFFER_WINDOW,
    MAX_OFFER_WINDOW,
    DistributionMethod,
    LeadPool,
    PoolId,
)
from teamcrm.routing import RoutingExplanation, RoutingOutcome, Skipped, SkipReason
from teamcrm.task import MAX_NOTE, Task, TaskId, TaskStatus
from teamcrm.team import BucketManagement, Member, Role, Team, TeamSettings
from teamcrm.validation import (
    MAX_BODY,
    MAX_CUSTOM_FIELDS,
    MAX_CUSTOM_VALUE,
    MAX_NAME,
    JSONScalar,
    normalise_email,
    normalise_phone,
)

__all__ = [
    "AWKWARD_TEXTS",
    "MAX_DATETIME",
    "MIN_DATETIME",
    "access_grants",
    "aware_datetimes",
    "bucket_ids",
    "buckets",
    "cadences",
    "companies",
    "company_ids",
    "contact_ids",
    "contacts",
    "custom_field_values",
    "custom_fields",
    "domain_events",
    "email_addresses",
    "emails",
    "follow_up_dues",
    "follow_up_policies",
    "inbound_buckets",
    "interaction_ids",
    "interactions",
    "invalid_custom_fields",
    "invalid_datetimes",
    "invalid_ids",
    "invalid_texts",
    "lead_ids",
    "lead_pools",
    "leads",
    "member_ids",
    "members",
    "memberships",
    "naive_datetimes",
    "notification_ids",
    "notifications",
    "offer_ids",
    "offer_windows",
    "offers",
    "out_of_range_datetimes",
    "personal_buckets",
    "phone_numbers",
    "phones",
    "policy_ids",
    "pool_ids",
    "routing_cursors",
    "routing_explanations",
    "snoozes",
    "task_ids",
    "tasks",
    "team_buckets",
    "team_ids",
    "team_settings",
    "teams",
    "time_zones",
    "touches",
    "unicode_text",
]

T = TypeVar("T")

#: Earliest datetime the strategies draw (far enough from ``datetime.min``
#: that every UTC offset converts without overflow).
MIN_DATETIME = datetime(1900, 1, 1)
#: Latest datetime the strategies draw.
MAX_DATETIME = datetime(2200, 12, 31)

#: Valid but awkward text: combining marks (NFD), right-to-left scripts, emoji
#: with zero-width joiners, a zero-width space and a byte-order mark inside a
#: word, case-mapping traps, astral-plane characters, SQL and JSON metacharacters.
AWKWARD_TEXTS: tuple[str, ...] = (
    "Zoe\u0308 Bjo\u0308rk",
    "Jos\u00e9",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05dc\u05d9\u05db\u05dd",
    "\u0645\u0631\u062d\u0628\u0627",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467",
    "a\u200bb",
    "x\ufeffy",
    "\u0130stanbul \u00df \u01c4",
    "\U0001d49c\U0001d4b7\U00010348",
    "Robert'); DROP TABLE contacts;--",
    '{"json": [1, 2]} \\ %s %(x)s ?',
    "\u4e2d\u6587\u540d\u5b57",
    "\u0928\u092e\u0938\u094d\u0924\u0947",
    "O\u2019Brien-\u0141\u00f3d\u017a",
)

_ID_SUFFIX = st.text(alphabet="0123456789abcdef", min_size=26, max_size=26)


def _ids(prefix: str) -> SearchStrategy[str]:
    return _ID_SUFFIX.map(lambda s: prefix + s)


def team_ids() -> SearchStrategy[TeamId]:
    """Well-formed team ids (``tm_`` + 26 hex digits)."""
    return _ids("tm_").map(TeamId)


def member_ids() -> SearchStrategy[MemberId]:
    """Well-formed member ids."""
    return _ids("mb_").map(MemberId)


def contact_ids() -> SearchStrategy[ContactId]:
    """Well-formed contact ids."""
    return _ids("ct_").map(ContactId)


def company_ids() -> SearchStrategy[CompanyId]:
    """Well-formed company ids."""
    return _ids("co_").map(CompanyId)


def bucket_ids() -> SearchStrategy[BucketId]:
    """Well-formed bucket ids."""
    return _ids("bk_").map(BucketId)


def interaction_ids() -> SearchStrategy[InteractionId]:
    """Well-formed interaction ids."""
    return _ids("ix_").map(InteractionId)


# Aliases for use inside strategies whose parameters shadow the names above.
_contact_ids = contact_ids
_company_ids = company_ids
_member_ids = member_ids


def _as_strategy(value: Any, default: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """Turn a parameter into a strategy: ``None`` → *default*, a value → ``just(value)``."""
    if value is None:
        return default
    if isinstance(value, SearchStrategy):
        return value
    return st.just(value)


# ----------------------------------------------------------------- text, time


def _valid_char(ch: str) -> bool:
    return unicodedata.category(ch) not in ("Cs", "Cc")


def unicode_text(*, min_size: int = 1, max_size: int = 60) -> SearchStrategy[str]:
    """Valid single-line text: any unicode but control characters and lone surrogates.

    Mixes arbitrary code points (all planes, combining marks, right-to-left
    scripts) with :data:`AWKWARD_TEXTS`.  With ``min_size >= 1`` the text is
    never empty or whitespace-only.  The length is counted after stripping.
    """
    chars = st.characters(exclude_categories=("Cs", "Cc"))
    drawn = st.text(chars, min_size=min_size, max_size=max_size)
    awkward = st.sampled_from([t for t in AWKWARD_TEXTS if min_size <= len(t) <= max_size])
    text = st.one_of(drawn, awkward) if max_size >= 3 else drawn
    return text.filter(lambda s: min_size <= len(s.strip()) <= max_size)


def time_zones() -> SearchStrategy[str]:
    """IANA time zone names known to this Python (``Europe/Warsaw``, ``Asia/Kathmandu``...)."""
    zones = sorted(z for z in available_timezones() if "/" in z) or ["UTC"]
    return st.sampled_from(["UTC", *zones])


def aware_datetimes(
    *, min_value: datetime = MIN_DATETIME, max_value: datetime = MAX_DATETIME
) -> SearchStrategy[datetime]:
    """Timezone-aware datetimes in arbitrary IANA zones, never in a DST gap.

    *min_value* and *max_value* are naive bounds (wall time in the drawn zone).
    """
    return st.datetimes(
        min_value=min_value,
        max_value=max_value,
        timezones=time_zones().map(ZoneInfo),
        allow_imaginary=False,
    )


def naive_datetimes() -> SearchStrategy[datetime]:
    """Naive datetimes (no tzinfo), which every teamcrm check must reject."""
    return st.datetimes(min_value=MIN_DATETIME, max_value=MAX_DATETIME)


def out_of_range_datetimes() -> SearchStrategy[datetime]:
    """Aware datetimes so close to ``datetime.min``/``max`` that they have no UTC equivalent.

    A check that converts to UTC must reject them with a ``ValidationError``
    (``astimezone`` itself raises ``OverflowError``).
    """
    return st.one_of(
        st.datetimes(
            max_value=datetime(1, 1, 1, 8), timezones=st.sampled_from([ZoneInfo("Asia/Tokyo")])
        ),
        st.datetimes(
            min_value=datetime(9999, 12, 31, 20),
            timezones=st.sampled_from([ZoneInfo("America/New_York")]),
        ),
    )


def invalid_datetimes() -> SearchStrategy[Any]:
    """Values that are not aware datetimes: naive ones, dates, strings, numbers, ``None``."""
    return st.one_of(
        naive_datetimes(),
        st.dates(),
        st.datetimes().map(lambda d: d.isoformat()),
        st.integers(),
        st.floats(allow_nan=False),
        st.none(),
    )


# ------------------------------------------------------------------ invalid


def invalid_texts(
    *,
    max_len: int = MAX_NAME,
    allow_empty: bool = False,
    multiline: bool = False,
    allow_none: bool = False,
) -> SearchStrategy[Any]:
    """Values that :func:`teamcrm.validation.check_text` rejects under the given rules.

    Draws empty and whitespace-only strings (unless *allow_empty*), strings
    longer than *max_len* after stripping, strings holding a control
    character (other than newline, tab and CR when *multiline*) or a lone
    surrogate, and values of the wrong type (numbers, bytes, lists, dicts,
    booleans and, unless *allow_none*, ``None``).
    """
    word = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=10)
    controls = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
    if multiline:
        controls = [c for c in controls if c not in "\n\t\r"]
    control = st.builds(lambda a, c, b: a + c + b, word, st.sampled_from(controls), word)
    surrogate = st.builds(
        lambda a, c, b: a + c + b,
        word,
        st.integers(0xD800, 0xDFFF).map(chr),
        word,
    )
    huge = st.builds(
        lambda ch, extra: ch * (max_len + extra),
        st.sampled_from(["x", "\u00e9", "\U0001f600"]),
        st.integers(1, 50),
    )
    wrong_type: list[SearchStrategy[Any]] = [
        st.integers(),
        st.floats(),
        st.binary(max_size=10),
        st.booleans(),
        st.lists(word, max_size=3),
        st.dictionaries(word, word, max_size=2),
    ]
    if not allow_none:
        wrong_type.append(st.none())
    options: list[SearchStrategy[Any]] = [control, surrogate, huge, *wrong_type]
    if not allow_empty:
        blank = st.text(st.sampled_from(" \t\n\r\u00a0\u2003\u3000"), max_size=5)
        options.append(blank)
    return st.one_of(options)


def invalid_custom_fields() -> SearchStrategy[Any]:
    """Custom-field mappings :func:`~teamcrm.validation.check_custom_fields` rejects.

    Bad names (empty, too long, starting with a digit, not strings), bad values
    (control characters, lone surrogates, text over the limit, NaN and
    infinities, integers beyond 64 bits, bytes, lists, dicts), too many
    entries, or not a mapping at all.
    """
    bad_key = st.one_of(
        st.just(""),
        st.just("1abc"),
        st.just("\u0663abc"),  # an Arabic-Indic digit first
        st.just("\u0301accent"),  # a combining mark first
        st.just("a:b"),
        st.just("a" * 65),
        st.just("bad\x00key"),
        st.integers(),
        st.none(),
    )
    bad_value = st.one_of(
        invalid_texts(
            max_len=MAX_CUSTOM_VALUE, allow_empty=True, multiline=True, allow_none=True
        ).filter(lambda v: not isinstance(v, int | float | bool)),
        st.sampled_from([float("nan"), float("inf"), float("-inf"), 2**63, -(2**63) - 1, 10**30]),
    )
    return st.one_of(
        st.builds(lambda k: {k: 1}, bad_key),
        st.builds(lambda v: {"field": v}, bad_value),
        st.just({f"f{i}": i for i in range(MAX_CUSTOM_FIELDS + 1)}),
        st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=2), st.integers()),
    )


def invalid_ids(prefix: str = "ct_") -> SearchStrategy[Any]:
    """Values that are not well-formed ids with *prefix*: other prefixes, bad text, wrong types."""
    other = next(p for p in ("ct_", "bk_") if p != prefix)
    return st.one_of(
        _ids(other),
        st.just(prefix),
        _ID_SUFFIX.map(lambda s: prefix + s.upper()),
        _ID_SUFFIX.map(lambda s: prefix + s + "0"),
        invalid_texts(max_len=40),
    )


# ---------------------------------------------------------- values & fields


_ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"


def emails() -> SearchStrategy[str]:
    """Valid email addresses (as strings), including unicode local parts.

    Local parts are dot-atoms (single dots between non-empty atoms), domains
    have two or more labels without edge hyphens: every value passes
    :func:`teamcrm.validation.check_email`.
    """
    atom = st.text(
        st.sampled_from(_ATEXT) | st.characters(min_codepoint=0x80, categories=("L", "N")),
        min_size=1,
        max_size=8,
    )
    local = st.lists(atom, min_size=1, max_size=3).map(".".join)
    domain = st.text(st.characters(categories=("Ll", "Lu", "Nd")), min_size=1, max_size=15)
    tld = st.sampled_from(["com", "org", "pl", "co.uk", "xn--p1ai", "example"])
    return st.builds(lambda lo, d, t: f"{lo}@{d}.{t}", local, domain, tld)


def _digits(n: int) -> SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


def phones() -> SearchStrategy[str]:
    """Valid phone numbers in assorted human formats (see :mod:`teamcrm.phones`).

    North American numbers with and without ``+1`` (read in the default
    region ``US``), Polish and British numbers with their country code,
    sometimes with an extension.
    """
    area = st.builds(lambda a, b: a + b, st.sampled_from("23456789"), _digits(2))
    us = st.builds(
        lambda fmt, a, e, n: fmt.format(a=a, e=e, n=n),
        st.sampled_from(
            ["({a}) {e}-{n}", "{a}-{e}-{n}", "{a}.{e}.{n}", "+1 {a} {e} {n}", "+1{a}{e}{n}"]
        ),
        area,
        area,
        _digits(4),
    )
    pl = st.builds(
        lambda sep, d: "+48" + sep + sep.join([d[:3], d[3:6], d[6:]]),
        st.sampled_from(["", " ", "-"]),
        st.builds(lambda a, b: a + b, st.sampled_from("123456789"), _digits(8)),
    )
    gb = st.builds(
        lambda d, sep: f"+44{sep}20{sep}{d[:4]}{sep}{d[4:]}", _digits(8), st.sampled_from(["", " "])
    )
    ext = st.sampled_from(["", "", "", " ext. 12", " x7"])
    return st.builds(lambda n, x: n + x, st.one_of(us, pl, gb), ext)


def email_addresses() -> SearchStrategy[EmailAddress]:
    """:class:`EmailAddress` values (validated, bounced or neither)."""
    return st.builds(
        lambda address, flags, label: EmailAddress(
            address=address, validated=flags == "validated", bounced=flags == "bounced", label=label
        ),
        emails(),
        st.sampled_from(["neither", "validated", "bounced"]),
        st.none() | unicode_text(max_size=20),
    )


def phone_numbers() -> SearchStrategy[PhoneNumber]:
    """:class:`PhoneNumber` values."""
    return st.builds(
        PhoneNumber,
        number=phones(),
        validated=st.booleans(),
        label=st.none() | unicode_text(max_size=20),
    )


def _unique_channels(items: list[Any]) -> tuple[Any, ...]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.address.lower() if isinstance(item, EmailAddress) else item.number
        if key not in seen:
            seen.add(key)
            out.append(item)
    return tuple(out)


_FIELD_KEY = st.one_of(
    st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_ .-]{0,20}\Z"),
    # Names in other scripts (seed 004's own example is "województwo").
    st.builds(
        lambda first, rest: unicodedata.normalize("NFC", first + rest),
        st.sampled_from(["w", "Ж", "Γ", "都", "ب", "_"]),
        st.text(
            st.characters(categories=("Ll", "Lu", "Lo", "Nd"), max_codepoint=0x9FFF)
            | st.sampled_from(list("ółęñ _.-")),
            max_size=12,
        ),
    ),
)


def custom_field_values(*, large: bool = True) -> SearchStrategy[JSONScalar]:
    """JSON scalars a custom field may hold: text (multi-line, up to the limit), 64-bit
    integers, finite floats, booleans and ``None``.

    With *large*, text close to :data:`~teamcrm.validation.MAX_CUSTOM_VALUE`
    characters is drawn too.
    """
    multiline = st.text(
        st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\t"), max_size=80
    )
    options: list[SearchStrategy[JSONScalar]] = [
        multiline.map(lambda s: s.strip()),
        st.sampled_from(AWKWARD_TEXTS),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
    ]
    if large:
        options.append(
            st.builds(
                lambda ch, n: ch * n,
                st.sampled_from(["x", "\u00e9", "\U0001f600", "\u05e9"]),
                st.integers(MAX_CUSTOM_VALUE - 100, MAX_CUSTOM_VALUE),
            )
        )
    return st.one_of(options)


def custom_fields(
    *, max_size: int = 8, large: bool = True
) -> SearchStrategy[dict[str, JSONScalar]]:
    """Custom-field mappings (name → JSON scalar), optionally with very large values."""
    return st.dictionaries(_FIELD_KEY, custom_field_values(large=large), max_size=max_size)


# ----------------------------------------------------------------- entities


def team_settings() -> SearchStrategy[TeamSettings]:
    """Valid :class:`TeamSettings`, including custom status lists."""

    @st.composite
    def build(draw: st.DrawFn) -> TeamSettings:
        statuses = draw(
            st.lists(unicode_text(max_size=20), min_size=1, max_size=6, unique_by=str.strip)
        )
        normal = tuple(dict.fromkeys(unicodedata.normalize("NFC", s.strip()) for s in statuses))
        return TeamSettings(
            bucket_management=draw(st.sampled_from(BucketManagement)),
            file_notes_under_companies=draw(st.booleans()),
            statuses=normal,
            new_contact_status=draw(st.sampled_from(normal)),
            new_lead_status=draw(st.sampled_from(normal)),
        )

    return st.one_of(st.just(TeamSettings()), build())


def teams(*, team_id: Any = None) -> SearchStrategy[Team]:
    """:class:`Team` values at version 1."""
    return st.builds(
        Team,
        id=_as_strategy(team_id, team_ids()),
        name=unicode_text(max_size=MAX_NAME),
        created_at=aware_datetimes(),
        settings=team_settings(),
    )


def members(*, team_id: Any = None, role: Any = None, active: Any = None) -> SearchStrategy[Member]:
    """:class:`Member` values of a team, in any role and time zone, active or not."""
    return st.builds(
        Member,
        id=member_ids(),
        team_id=_as_strategy(team_id, team_ids()),
        name=unicode_text(max_size=MAX_NAME),
        role=_as_strategy(role, st.sampled_from(Role)),
        created_at=aware_datetimes(),
        email=st.none() | emails(),
        active=_as_strategy(active, st.booleans()),
        away_until=st.none() | aware_datetimes(),
        time_zone=time_zones(),
    )


def contacts(
    *, team_id: Any = None, created_by: Any = None, company_ids: Any = None, status: Any = None
) -> SearchStrategy[Contact]:
    """:class:`Contact` values with unicode names, channels and (large) custom fields.

    *company_ids* is a tuple of company ids (or a strategy of tuples);
    *created_by* a member id or ``None``.
    """

    @st.composite
    def build(draw: st.DrawFn) -> Contact:
        name = unicode_text(max_size=MAX_NAME)
        first = draw(st.just("") | name)
        last = draw(name if not first.strip() else st.just("") | name)
        opted_out = draw(st.booleans())
        return Contact(
            id=draw(contact_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            created_at=draw(aware_datetimes()),
            status=draw(_as_strategy(status, unicode_text(max_size=64))),
            first_name=first,
            last_name=last,
            emails=_unique_channels(draw(st.lists(email_addresses(), max_size=3))),
            phones=_unique_channels(draw(st.lists(phone_numbers(), max_size=3))),
            company_ids=draw(
                _as_strategy(company_ids, st.lists(_company_ids(), max_size=3).map(tuple))
            ),
            source=draw(st.none() | unicode_text(max_size=64)),
            custom_fields=draw(custom_fields()),
            created_by=draw(_as_strategy(created_by, st.none() | member_ids())),
            email_opt_out=opted_out,
            opted_out_at=draw(st.none() | aware_datetimes()) if opted_out else None,
        )

    return build()


def companies(*, team_id: Any = None, created_by: Any = None) -> SearchStrategy[Company]:
    """:class:`Company` values."""
    return st.builds(
        Company,
        id=company_ids(),
        team_id=_as_strategy(team_id, team_ids()),
        name=unicode_text(max_size=MAX_NAME),
        created_at=aware_datetimes(),
        domain=st.none() | unicode_text(max_size=60),
        created_by=_as_strategy(created_by, st.none() | member_ids()),
    )


def access_grants(*, member_id: Any = None) -> SearchStrategy[AccessGrant]:
    """:class:`AccessGrant` values (viewer or editor, with or without conversations)."""
    return st.builds(
        AccessGrant,
        member_id=_as_strategy(member_id, member_ids()),
        level=st.sampled_from(AccessLevel),
        can_view_conversations=st.booleans(),
    )


def team_buckets(
    *, team_id: Any = None, grantees: Any = None, created_by: Any = None
) -> SearchStrategy[Bucket]:
    """Team :class:`Bucket` values; *grantees* is a list of member ids (or a strategy).

    Each grantee gets one grant of a random level; some buckets are shared
    with the whole team (:class:`~teamcrm.bucket.TeamAccess`) and some hold
    every contact.
    """

    @st.composite
    def build(draw: st.DrawFn) -> Bucket:
        who = draw(_as_strategy(grantees, st.lists(member_ids(), max_size=4, unique=True)))
        grants = tuple(draw(access_grants(member_id=m)) for m in dict.fromkeys(who))
        return Bucket(
            id=draw(bucket_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            name=draw(unicode_text(max_size=MAX_NAME)),
            kind=BucketKind.TEAM,
            created_at=draw(aware_datetimes()),
            grants=grants,
            created_by=draw(_as_strategy(created_by, st.none() | member_ids())),
            team_access=draw(st.none() | st.builds(TeamAccess, level=st.sampled_from(AccessLevel))),
            holds_all=draw(st.booleans()),
        )

    return build()


def personal_buckets(*, team_id: Any = None, owner_id: Any = None) -> SearchStrategy[Bucket]:
    """Personal :class:`Bucket` values owned by *owner_id*."""

    @st.composite
    def build(draw: st.DrawFn) -> Bucket:
        owner = draw(_as_strategy(owner_id, member_ids()))
        return Bucket(
            id=draw(bucket_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            name=draw(unicode_text(max_size=MAX_NAME)),
            kind=BucketKind.PERSONAL,
            owner_id=owner,
            created_at=draw(aware_datetimes()),
            created_by=owner,
        )

    return build()


def buckets(
    *, team_id: Any = None, owner_id: Any = None, grantees: Any = None
) -> SearchStrategy[Bucket]:
    """Team or personal buckets (see :func:`team_buckets` and :func:`personal_buckets`)."""
    return st.one_of(
        team_buckets(team_id=team_id, grantees=grantees),
        personal_buckets(team_id=team_id, owner_id=owner_id),
    )


def memberships(
    *, team_id: Any = None, bucket_id: Any = None, item_id: Any = None, added_by: Any = None
) -> SearchStrategy[BucketMembership]:
    """:class:`BucketMembership` values (a contact or company in a bucket)."""
    return st.builds(
        BucketMembership,
        team_id=_as_strategy(team_id, team_ids()),
        bucket_id=_as_strategy(bucket_id, bucket_ids()),
        item_id=_as_strategy(item_id, contact_ids() | company_ids()),
        added_at=aware_datetimes(),
        added_by=_as_strategy(added_by, st.none() | member_ids()),
    )


def interactions(
    *,
    team_id: Any = None,
    author_id: Any = None,
    contact_ids: Any = None,
    company_ids: Any = None,
) -> SearchStrategy[Interaction]:
    """:class:`Interaction` values; at least one contact or company id is always present.

    *contact_ids* / *company_ids* are tuples of ids (or strategies of tuples).
    """

    @st.composite
    def build(draw: st.DrawFn) -> Interaction:
        cts = draw(_as_strategy(contact_ids, st.lists(_contact_ids(), max_size=3).map(tuple)))
        cos = draw(_as_strategy(company_ids, st.lists(_company_ids(), max_size=2).map(tuple)))
        if not cts and not cos:
            cts = (draw(_contact_ids()),)
        occurred = draw(aware_datetimes())
        return Interaction(
            id=draw(interaction_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            kind=draw(st.sampled_from(InteractionKind)),
            author_id=draw(_as_strategy(author_id, member_ids())),
            occurred_at=occurred,
            logged_at=draw(aware_datetimes()),
            contact_ids=cts,
            company_ids=cos,
            outcome=draw(st.none() | st.sampled_from(Outcome)),
            via=draw(st.none() | phones() | emails()),
            reference=draw(st.none() | unicode_text(max_size=200)),
            body=draw(
                st.one_of(
                    st.just(""),
                    st.text(
                        st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\t"),
                        max_size=300,
                    ),
                    st.builds(lambda n: "line\n" * n, st.integers(100, 2000)),
                )
            ),
        )

    return build()


def _event_data() -> SearchStrategy[dict[str, Any]]:
    value = st.one_of(
        custom_field_values(large=False),
        st.lists(st.one_of(contact_ids(), unicode_text(max_size=20)), max_size=4),
    )
    return st.dictionaries(st.from_regex(r"\A[a-z_]{1,16}\Z"), value, max_size=5)


def domain_events(*, team_id: Any = None, actor_id: Any = None) -> SearchStrategy[DomainEvent]:
    """:class:`DomainEvent` values with JSON-ready data (scalars and lists of strings)."""
    return st.builds(
        DomainEvent,
        name=st.sampled_from(EventName),
        team_id=_as_strategy(team_id, team_ids()),
        subject_id=contact_ids() | bucket_ids() | member_ids(),
        occurred_at=aware_datetimes(),
        actor_id=_as_strategy(actor_id, st.none() | member_ids()),
        data=_event_data(),
    )


# ------------------------------------------------------------- notifications


def _multiline(max_size: int) -> SearchStrategy[str]:
    """Any text without control characters other than newline and tab."""
    return st.text(
        st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\t"),
        max_size=max_size,
    )


def notification_ids() -> SearchStrategy[NotificationId]:
    """Well-formed notification ids (``nt_…``)."""
    return _ids("nt_").map(NotificationId)


def notifications(
    *,
    team_id: Any = None,
    member_id: Any = None,
    created_at: Any = None,
    read_at: Any = None,
    emailed_at: Any = None,
) -> SearchStrategy[Notification]:
    """:class:`Notification` values: unicode messages (up to the size limit), JSON data.

    *read_at* / *emailed_at* default to ``None`` or any aware datetime.
    """
    big = st.builds(
        lambda ch, n: ch * n,
        st.sampled_from(["x", "\u00e9", "\U0001f600"]),
        st.integers(MAX_BODY - 50, MAX_BODY),
    )
    return st.builds(
        Notification,
        id=notification_ids(),
        team_id=_as_strategy(team_id, team_ids()),
        member_id=_as_strategy(member_id, member_ids()),
        kind=st.sampled_from(NotificationKind),
        subject_id=st.one_of(contact_ids(), unicode_text(max_size=64)),
        message=st.one_of(unicode_text(max_size=300), big),
        created_at=_as_strategy(created_at, aware_datetimes()),
        read_at=_as_strategy(read_at, st.none() | aware_datetimes()),
        emailed_at=_as_strategy(emailed_at, st.none() | aware_datetimes()),
        data=custom_fields(max_size=5),
    )


# ----------------------------------------------------------------- follow-ups


def policy_ids() -> SearchStrategy[PolicyId]:
    """Well-formed follow-up policy ids (``fp_…``)."""
    return _ids("fp_").map(PolicyId)


def task_ids() -> SearchStrategy[TaskId]:
    """Well-formed task ids (``tk_…``)."""
    return _ids("tk_").map(TaskId)


def cadences() -> SearchStrategy[Cadence]:
    """:class:`Cadence` values of every unit, from 1 to :data:`~teamcrm.followup.MAX_CADENCE`."""
    return st.builds(
        Cadence,
        count=st.one_of(st.integers(1, 40), st.integers(1, MAX_CADENCE)),
        unit=st.sampled_from(CadenceUnit),
    )


def follow_up_policies(
    *, team_id: Any = None, bucket_id: Any = None, member_id: Any = None, created_by: Any = None
) -> SearchStrategy[FollowUpPolicy]:
    """:class:`FollowUpPolicy` values at version 1, in any IANA time zone."""
    return st.builds(
        FollowUpPolicy,
        id=policy_ids(),
        team_id=_as_strategy(team_id, team_ids()),
        bucket_id=_as_strategy(bucket_id, bucket_ids()),
        member_id=_as_strategy(member_id, member_ids()),
        cadence=cadences(),
        reset_by_team=st.booleans(),
        created_at=aware_datetimes(),
        created_by=_as_strategy(created_by, member_ids()),
        time_zone=time_zones(),
    )


def touches(
    *, team_id: Any = None, contact_id: Any = None, member_id: Any = None, at: Any = None
) -> SearchStrategy[Touch]:
    """:class:`Touch` values (interactions are team-wide or not; *done* is the member's own)."""
    return st.builds(
        Touch,
        team_id=_as_strategy(team_id, team_ids()),
        contact_id=_as_strategy(contact_id, contact_ids()),
        member_id=_as_strategy(member_id, member_ids()),
        at=_as_strategy(at, aware_datetimes()),
        kind=st.sampled_from(TouchKind),
        team_wide=st.booleans(),
    )


def follow_up_dues(
    *,
    team_id: Any = None,
    policy_id: Any = None,
    member_id: Any = None,
    bucket_id: Any = None,
    contact_id: Any = None,
    due_on: Any = None,
) -> SearchStrategy[FollowUpDue]:
    """:class:`FollowUpDue` rows, with or without a counting touch; any date from year 1 to 9999."""

    @st.composite
    def build(draw: st.DrawFn) -> FollowUpDue:
        touched = draw(st.booleans())
        return FollowUpDue(
            team_id=draw(_as_strategy(team_id, team_ids())),
            policy_id=draw(_as_strategy(policy_id, policy_ids())),
            member_id=draw(_as_strategy(member_id, member_ids())),
            bucket_id=draw(_as_strategy(bucket_id, bucket_ids())),
            contact_id=draw(_as_strategy(contact_id, contact_ids())),
            due_on=draw(_as_strategy(due_on, st.dates())),
            since=draw(aware_datetimes()),
            touch_at=draw(aware_datetimes()) if touched else None,
            touch_by=draw(_as_strategy(member_id, member_ids())) if touched else None,
            touch_kind=draw(st.sampled_from(TouchKind)) if touched else None,
        )

    return build()


def snoozes(
    *, team_id: Any = None, member_id: Any = None, contact_id: Any = None
) -> SearchStrategy[Snooze]:
    """:class:`Snooze` values."""
    return st.builds(
        Snooze,
        team_id=_as_strategy(team_id, team_ids()),
        member_id=_as_strategy(member_id, member_ids()),
        contact_id=_as_strategy(contact_id, contact_ids()),
        until=aware_datetimes(),
    )


def tasks(
    *, team_id: Any = None, member_id: Any = None, contact_id: Any = None, created_by: Any = None
) -> SearchStrategy[Task]:
    """:class:`Task` values, open or closed, with multi-line notes up to the size limit."""

    @st.composite
    def build(draw: st.DrawFn) -> Task:
        status = draw(st.sampled_from(TaskStatus))
        note = draw(
            st.one_of(
                st.just(""),
                _multiline(200),
                st.builds(lambda n: "\u00e9\n" * n, st.integers(MAX_NOTE // 2 - 20, MAX_NOTE // 2)),
            )
        )
        return Task(
            id=draw(task_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            member_id=draw(_as_strategy(member_id, member_ids())),
            contact_id=draw(_as_strategy(contact_id, contact_ids())),
            due_at=draw(aware_datetimes()),
            created_at=draw(aware_datetimes()),
            created_by=draw(_as_strategy(created_by, member_ids())),
            note=note,
            status=status,
            closed_at=None if status is TaskStatus.OPEN else draw(aware_datetimes()),
        )

    return build()


# ------------------------------------------------------------------- routing


def pool_ids() -> SearchStrategy[PoolId]:
    """Well-formed lead pool ids (``lp_…``)."""
    return _ids("lp_").map(PoolId)


def lead_ids() -> SearchStrategy[LeadId]:
    """Well-formed lead ids (``ld_…``)."""
    return _ids("ld_").map(LeadId)


def offer_ids() -> SearchStrategy[OfferId]:
    """Well-formed offer ids (``of_…``)."""
    return _ids("of_").map(OfferId)


def offer_windows() -> SearchStrategy[timedelta]:
    """Offer windows: from one microsecond to :data:`~teamcrm.pool.MAX_OFFER_WINDOW`."""
    return st.one_of(
        st.sampled_from([timedelta(microseconds=1), DEFAULT_OFFER_WINDOW, MAX_OFFER_WINDOW]),
        st.timedeltas(min_value=timedelta(microseconds=1), max_value=MAX_OFFER_WINDOW),
    )


def lead_pools(
    *,
    team_id: Any = None,
    source_bucket_ids: Any = None,
    member_ids: Any = None,
    fallback_member_id: Any = None,
    created_by: Any = None,
) -> SearchStrategy[LeadPool]:
    """:class:`LeadPool` values at version 1, of every method, with or without a follow-up.

    *source_bucket_ids* / *member_ids* are tuples of ids (or strategies of them);
    by default random ids (at least one source bucket).
    """
    return st.builds(
        LeadPool,
        id=pool_ids(),
        team_id=_as_strategy(team_id, team_ids()),
        name=unicode_text(max_size=MAX_NAME),
        created_at=aware_datetimes(),
        source_bucket_ids=_as_strategy(
            source_bucket_ids, st.lists(bucket_ids(), min_size=1, max_size=3).map(tuple)
        ),
        member_ids=_as_strategy(member_ids, st.lists(_member_ids(), max_size=5).map(tuple)),
        method=st.sampled_from(DistributionMethod),
        active=st.booleans(),
        offer_window=offer_windows(),
        follow_up=st.none() | cadences(),
        fallback_member_id=_as_strategy(fallback_member_id, st.none() | _member_ids()),
        created_by=_as_strategy(created_by, st.none() | _member_ids()),
    )


def routing_explanations(
    *, pool_id: Any = None, member_ids: Any = None
) -> SearchStrategy[RoutingExplanation]:
    """:class:`RoutingExplanation` values; *member_ids* is a strategy of candidate ids.

    Skipped candidates may be any text (a candidate that is not a member at all).
    """
    who = _as_strategy(member_ids, _member_ids())
    many = st.lists(who, max_size=4, unique=True).map(tuple)
    return st.builds(
        RoutingExplanation,
        method=st.one_of(
            st.sampled_from([m.value for m in DistributionMethod]),
            unicode_text(max_size=64),
        ),
        outcome=st.sampled_from(RoutingOutcome),
        decided_at=aware_datetimes(),
        pool_id=_as_strategy(pool_id, st.none() | pool_ids()),
        actor_id=st.none() | who,
        eligible=many,
        skipped=st.lists(
            st.builds(
                Skipped,
                member_id=st.one_of(who, unicode_text(max_size=64)),
                reason=st.sampled_from(SkipReason),
            ),
            max_size=4,
        ).map(tuple),
        cursor_before=st.none() | st.integers(0, 2**62),
        cursor_after=st.none() | st.integers(0, 2**62),
        chosen=many,
        offered=many,
        offer_expires_at=st.none() | aware_datetimes(),
        note=st.none() | unicode_text(max_size=300),
    )


def leads(
    *,
    team_id: Any = None,
    contact_id: Any = None,
    pool_id: Any = None,
    member_ids: Any = None,
    status: Any = None,
) -> SearchStrategy[Lead]:
    """:class:`Lead` values at version 1 in any status, with keys and an explanation.

    *member_ids* is a strategy of member ids for assignees and decliners;
    *pool_id* may be ``None`` (a lead assigned outside any pool) or a strategy.
    """
    who = _as_strategy(member_ids, _member_ids())

    @st.composite
    def build(draw: st.DrawFn) -> Lead:
        state = draw(_as_strategy(status, st.sampled_from(LeadStatus)))
        assigned = state is LeadStatus.ASSIGNED
        pool = draw(_as_strategy(pool_id, st.none() | pool_ids()))
        return Lead(
            id=draw(lead_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            contact_id=draw(_as_strategy(contact_id, contact_ids())),
            created_at=draw(aware_datetimes()),
            pool_id=pool,
            status=state,
            assignee_ids=tuple(draw(st.lists(who, min_size=1, max_size=3, unique=True)))
            if assigned
            else (),
            assigned_at=draw(aware_datetimes()) if assigned else None,
            entry=draw(st.one_of(st.integers(1, 5), st.integers(1, 2**62))),
            keys=tuple(
                draw(
                    st.lists(
                        st.one_of(
                            emails().map(normalise_email),
                            phones().map(normalise_phone),
                            unicode_text(max_size=320),
                        ),
                        max_size=4,
                    )
                )
            ),
            declined_by=tuple(draw(st.lists(who, max_size=3, unique=True))),
            explanation=draw(
                st.none() | routing_explanations(pool_id=st.just(pool), member_ids=who)
            ),
        )

    return build()


def offers(
    *, team_id: Any = None, lead_id: Any = None, member_id: Any = None, offered_by: Any = None
) -> SearchStrategy[Offer]:
    """:class:`Offer` values at version 1, open or settled, expiring after they were made."""

    @st.composite
    def build(draw: st.DrawFn) -> Offer:
        created = draw(aware_datetimes())
        state = draw(st.sampled_from(OfferStatus))
        return Offer(
            id=draw(offer_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            lead_id=draw(_as_strategy(lead_id, lead_ids())),
            member_id=draw(_as_strategy(member_id, member_ids())),
            created_at=created,
            expires_at=created + draw(offer_windows()),
            status=state,
            settled_at=None if state is OfferStatus.OPEN else draw(aware_datetimes()),
            offered_by=draw(_as_strategy(offered_by, st.none() | member_ids())),
            note=draw(
                st.one_of(
                    st.none(),
                    _multiline(200),
                    st.builds(lambda n: "\u05e9\n" * n, st.integers(1, MAX_LEAD_NOTE // 2)),
                )
            ),
        )

    return build()


def routing_cursors(*, team_id: Any = None, pool_id: Any = None) -> SearchStrategy[RoutingCursor]:
    """:class:`RoutingCursor` values (any position and version up to 2**62)."""
    return st.builds(
        RoutingCursor,
        team_id=_as_strategy(team_id, team_ids()),
        pool_id=_as_strategy(pool_id, pool_ids()),
        position=st.one_of(st.integers(0, 10), st.integers(0, 2**62)),
        version=st.one_of(st.integers(0, 10), st.integers(0, 2**62)),
    )


def inbound_buckets(
    *, team_id: Any = None, member_id: Any = None, bucket_id: Any = None
) -> SearchStrategy[InboundBucket]:
    """:class:`InboundBucket` values."""
    return st.builds(
        InboundBucket,
        team_id=_as_strategy(team_id, team_ids()),
        member_id=_as_strategy(member_id, member_ids()),
        bucket_id=_as_strategy(bucket_id, bucket_ids()),
    )
