"""Valid and awkward text, time zones and datetimes."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

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
