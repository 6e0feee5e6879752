"""Turning Python values into column values and back (SQLite and PostgreSQL alike).

* Datetimes are stored as integer **microseconds since 1970-01-01 UTC**: exact,
  compact, and ordered the same way as the datetimes themselves (ISO text is
  not, because ``isoformat()`` drops zero microseconds).
* Free-form data (custom fields, event payloads) is compact JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "EPOCH",
    "dumps",
    "from_micros",
    "ids_json",
    "loads",
    "optional_micros",
    "to_micros",
]

#: The zero of the stored time scale.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _default(value: Any) -> Any:
    """Encode read-only mappings (e.g. ``MappingProxyType``) and tuples' kin as JSON."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_encoder = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default
)
#: The C encoder ``_encoder.encode`` builds per call, made once (no circular
#: check: the values are entities' checked data, trees by construction).
_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)  # typeshed: private
_chunks: Callable[[Any, int], Sequence[str]] | None = (
    None
    if _make_encoder is None
    else _make_encoder(
        None, _default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
)


def to_micros(value: datetime) -> int:
    """Return an aware datetime as integer microseconds since the epoch (UTC)."""
    return (value - EPOCH) // _US


def optional_micros(value: datetime | None) -> int | None:
    """Like :func:`to_micros`, passing ``None`` through."""
    return None if value is None else (value - EPOCH) // _US


def from_micros(value: int) -> datetime:
    """Return the UTC datetime stored as *value* microseconds since the epoch."""
    return EPOCH + timedelta(microseconds=value)


def dumps(value: Any) -> str:
    """Return *value* as compact JSON text (unicode kept as is, no NaN)."""
    if _chunks is None:  # pragma: no cover - a Python without the C encoder
        return _encoder.encode(value)
    return "".join(_chunks(value, 0))


def loads(text: str) -> Any:
    """Parse JSON text written by :func:`dumps`."""
    return json.loads(text)


def ids_json(ids: Iterable[str]) -> tuple[list[str], str]:
    """Return *ids* without duplicates (order kept) and as a JSON array."""
    unique = list(dict.fromkeys(ids))
    return unique, dumps(unique)
