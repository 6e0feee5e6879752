"""Routing explanations read back from the JSON the SQL stores wrote.

A lead row holds its :class:`~teamcrm.routing.RoutingExplanation` as JSON
(``converter.unstructure``, then ``dumps``).  Reading a page of leads built
each one through cattrs and the explanation's own checks, which was two
thirds of the routing dashboard page's time.  :func:`explanation_from_data`
rebuilds it from the stored form directly, with the trusted builders
(``validation.trusted_builder``): the values were checked when the
explanation was made, and a stored explanation is only ever one the library
wrote.  ``tests/adapters/test_sql_explanations.py`` checks that it returns
exactly what cattrs returns, for any explanation and for the older stored
forms that lack later fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from teamcrm.routing import RoutingExplanation, RoutingOutcome, Skipped, SkipReason
from teamcrm.validation import FrozenDict, trusted_builder

__all__ = ["explanation_from_data"]

_explanation = trusted_builder(RoutingExplanation)
_skipped = trusted_builder(Skipped)


def _utc(text: str) -> datetime:
    """A stored ISO datetime (always written with its offset) in UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def explanation_from_data(data: Mapping[str, Any]) -> RoutingExplanation:
    """The explanation whose unstructured form (parsed JSON) is *data*."""
    get = data.get
    expires = get("offer_expires_at")
    return _explanation(
        method=data["method"],
        outcome=RoutingOutcome(data["outcome"]),
        decided_at=_utc(data["decided_at"]),
        pool_id=get("pool_id"),
        actor_id=get("actor_id"),
        eligible=tuple(get("eligible") or ()),
        skipped=tuple(
            _skipped(member_id=s["member_id"], reason=SkipReason(s["reason"]))
            for s in get("skipped") or ()
        ),
        cursor_before=get("cursor_before"),
        cursor_after=get("cursor_after"),
        chosen=tuple(get("chosen") or ()),
        offered=tuple(get("offered") or ()),
        offer_expires_at=None if expires is None else _utc(expires),
        note=get("note"),
        weights=FrozenDict(get("weights") or {}),
        loads=FrozenDict(get("loads") or {}),
        warnings=tuple(get("warnings") or ()),
        role=get("role"),
    )
