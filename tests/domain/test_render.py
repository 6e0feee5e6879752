"""Terminal tables line up whatever the script of the names."""

from __future__ import annotations

import pytest

import teamcrm
from teamcrm.render import display_width, text_table


@pytest.mark.parametrize(
    ("text", "width"),
    [
        ("Ana", 3),
        ("山田太郎", 8),
        ("김민준", 6),
        ("\uff26\uff55\uff4c\uff4c", 8),  # "Full" in full-width letters
        ("José", 4),
        ("e\u0301", 1),
        ("", 0),
    ],
)
def test_display_width_counts_terminal_columns(text: str, width: int) -> None:
    assert display_width(text) == width


def test_text_table_aligns_wide_names() -> None:
    table = text_table(["name", "n"], [["山田太郎", 1], ["Ana", 22], ["Jose\u0301", 3]])
    lines = table.splitlines()
    # The second column starts at the same terminal column on every line.
    starts = {display_width(line[: line.rindex(" ") + 1]) for line in lines}
    assert starts == {10}, table


def test_an_id_of_the_wrong_length_is_called_that() -> None:
    crm = teamcrm.open("memory://")
    crm.create_team("T", admin_name="A")
    with pytest.raises(teamcrm.ValidationError, match="26 hex digits, not 3 characters"):
        crm.as_member("mb_000")
    with pytest.raises(teamcrm.ValidationError, match="starting with 'mb_'"):
        crm.as_member("ct_" + "0" * 26)
    with pytest.raises(teamcrm.ValidationError, match="lower-case hex"):
        crm.as_member("mb_" + "Z" * 26)
    with pytest.raises(teamcrm.ValidationError, match="not int"):
        crm.as_member(7)  # type: ignore[arg-type]
