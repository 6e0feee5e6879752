"""The SQL repositories' row memo: an equal row gives the same entity, a changed row a new one."""

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
