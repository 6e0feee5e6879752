"""Id prefixes are named in one place (``teamcrm.ids.PREFIXES``) and nowhere else."""

from __future__ import annotations

import re
from pathlib import Path

import teamcrm
from teamcrm.ids import (
    PREFIXES,
)

SRC = Path(teamcrm.__file__).parent


def test_prefixes_are_distinct_three_character_names() -> None:
    assert len(set(PREFIXES.values())) == len(PREFIXES)
    assert all(re.fullmatch(r"[a-z]{2}_", p) for p in PREFIXES.values())


def test_no_module_but_ids_spells_a_prefix_out() -> None:
    # Python string literals only: SQL inside them ('ct_') is the schema's text, not code
    literal = re.compile(r'"(' + "|".join(map(re.escape, PREFIXES.values())) + r')"')
    found = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if path.name != "ids.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert found == []
