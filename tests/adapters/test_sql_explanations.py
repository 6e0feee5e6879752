"""The SQL stores' fast explanation decoder returns exactly what cattrs returns."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from teamcrm.adapters.sql.codec import dumps, loads
from teamcrm.adapters.sql.explanations import explanation_from_data, explanation_json
from teamcrm.converter import converter
from teamcrm.routing import RoutingExplanation
from teamcrm.testing.strategies import routing_explanations
from teamcrm.validation import FrozenDict

#: Fields an explanation stored by an older release may lack (they have defaults).
OPTIONAL = [
    "pool_id",
    "actor_id",
    "eligible",
    "skipped",
    "cursor_before",
    "cursor_after",
    "chosen",
    "offered",
    "offer_expires_at",
    "note",
    "weights",
    "loads",
    "warnings",
    "role",
]


def _stored(explanation: RoutingExplanation) -> dict[str, Any]:
    data: dict[str, Any] = loads(dumps(converter.unstructure(explanation)))
    return data


def _same(a: RoutingExplanation, b: RoutingExplanation) -> None:
    assert a == b
    for field in ("eligible", "skipped", "chosen", "offered", "warnings"):
        assert type(getattr(a, field)) is type(getattr(b, field)) is tuple
    assert type(a.weights) is type(a.loads) is FrozenDict
    assert a.decided_at.tzinfo is UTC
    assert a.offer_expires_at is None or a.offer_expires_at.tzinfo is UTC


@given(routing_explanations())
def test_the_decoder_returns_what_cattrs_returns(explanation: RoutingExplanation) -> None:
    data = _stored(explanation)
    fast = explanation_from_data(data)
    _same(fast, converter.structure(data, RoutingExplanation))
    _same(fast, explanation)


@given(routing_explanations(), st.sets(st.sampled_from(OPTIONAL)))
def test_older_stored_forms_without_later_fields_decode_alike(
    explanation: RoutingExplanation, missing: set[str]
) -> None:
    data = {k: v for k, v in _stored(explanation).items() if k not in missing}
    _same(explanation_from_data(data), converter.structure(data, RoutingExplanation))


@given(routing_explanations())
def test_the_encoder_writes_the_text_cattrs_and_dumps_write(
    explanation: RoutingExplanation,
) -> None:
    assert explanation_json(explanation) == dumps(converter.unstructure(explanation))
