"""Values of a contact's fields: emails, phones, custom fields."""

from __future__ import annotations

import unicodedata
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from teamcrm.contact import EmailAddress, PhoneNumber
from teamcrm.testing.strategies.text_and_time import AWKWARD_TEXTS, unicode_text
from teamcrm.validation import (
    MAX_CUSTOM_VALUE,
    JSONScalar,
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
