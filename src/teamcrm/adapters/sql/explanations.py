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

from teamcrm.adapters.sql.codec import dumps
from teamcrm.converter import converter
from teamcrm.routing import RoutingExplanation, RoutingOutcome, Skipped, SkipReason
from teamcrm.validation import FrozenDict, trusted_builder

__all__ = ["explanation_from_data", "explanation_json"]

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


def explanation_json(explanation: RoutingExplanation) -> str:
    """The JSON text ``dumps(converter.unstructure(explanation))`` makes, built directly.

    Fields in declaration order; enums are ``StrEnum`` members (JSON writes
    their value), tuples become arrays and the mappings objects as the
    encoder writes them; datetimes in ISO form.  A routed add writes one per
    lead; ``tests/adapters/test_sql_explanations.py`` checks the text is the
    converter's.
    """
    e = explanation
    if type(e) is not RoutingExplanation:  # pragma: no cover - not subclassed
        return dumps(converter.unstructure(e))
    expires = e.offer_expires_at
    return dumps(
        {
            "method": e.method,
            "outcome": e.outcome,
            "decided_at": e.decided_at.isoformat(),
            "pool_id": e.pool_id,
            "actor_id": e.actor_id,
            "eligible": e.eligible,
            "skipped": [{"member_id": s.member_id, "reason": s.reason} for s in e.skipped]
            if e.skipped
            else [],
            "cursor_before": e.cursor_before,
            "cursor_after": e.cursor_after,
            "chosen": e.chosen,
            "offered": e.offered,
            "offer_expires_at": None if expires is None else expires.isoformat(),
            "note": e.note,
            "weights": e.weights,
            "loads": e.loads,
            "warnings": e.warnings,
            "role": e.role,
        }
    )
