"""Rows and events the SQL repositories build: memoised entities, the outbox text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import teamcrm
from teamcrm.adapters.sql import row_memo as memo_module
from teamcrm.adapters.sql.row_memo import row_memo


def test_equal_rows_share_the_entity_and_changed_rows_do_not() -> None:
    built: list[Sequence[Any]] = []

    @row_memo
    def build(row: Sequence[Any]) -> tuple[Any, ...]:
        built.append(row)
        return ("entity", *row)

    first = build(("id_1", "Ana", 1))
    assert build(("id_1", "Ana", 1)) is first
    changed = build(("id_1", "Ana", 2))  # a new version is another key
    assert changed == ("entity", "id_1", "Ana", 2)
    assert changed is not first
    assert len(built) == 2


def test_unhashable_rows_are_built_each_time() -> None:
    calls = []

    @row_memo
    def build(row: Sequence[Any]) -> int:
        calls.append(row)
        return len(calls)

    assert build(("x", ["a"])) == 1
    assert build(("x", ["a"])) == 2


def test_the_memo_is_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(memo_module, "MEMO_SIZE", 3)

    @row_memo
    def build(row: Sequence[Any]) -> list[Any]:
        return list(row)

    kept = build((0,))
    for i in range(1, 4):
        build((i,))
    assert build((0,)) is not kept  # cleared when full: built again


def test_a_renamed_member_is_read_back_renamed() -> None:
    crm = teamcrm.open("sqlite://")
    _, admin = crm.create_team("Memo", admin_name="Ana")
    ana = crm.as_member(admin.id)
    before = ana.members()
    ana.update_member(admin.id, name="Anna")
    after = ana.members()
    assert [m.name for m in before] == ["Ana"]
    assert [m.name for m in after] == ["Anna"]
    crm.close()


def test_event_json_is_the_converters_text() -> None:
    from datetime import UTC, datetime

    from teamcrm.adapters.sql.codec import dumps
    from teamcrm.adapters.sql.outbox import event_json
    from teamcrm.converter import converter
    from teamcrm.events import DomainEvent, EventName

    at = datetime(2026, 12, 6, 5, 1, 4, 190888, tzinfo=UTC)
    events = [
        DomainEvent(
            name=EventName.BUCKET_ITEMS_ADDED,
            team_id="tm_661efff09b1e92d393a2c2ec4e",
            subject_id="bk_661efff0cab29a4e928179676d",
            occurred_at=at,
            actor_id="mb_661efff09b28cd84f6b2a272e1",
            data={"item_ids": ["ct_661efff0a7d3d186e8e4ed99f2"], "note": "Zoë", "n": 1.5},
        ),
        DomainEvent(
            name=EventName.CONTACT_CREATED,
            team_id="tm_661efff09b1e92d393a2c2ec4e",
            subject_id="ct_661efff0a7d3d186e8e4ed99f2",
            occurred_at=at.replace(microsecond=0),
            data={"source": None, "ok": True},
        ),
    ]
    for event in events:
        expected = dumps(converter.unstructure(event, DomainEvent))
        assert event_json(event) == expected
        assert event_json(event, event.occurred_at.isoformat()) == expected
