"""docs/guarantees.md names only tests that exist: the page cannot point at nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guarantees.md"
#: `group/file.py::test_name` (a file under tests/) or `::test_name` (the file of the
#: reference before it).
REFERENCE = re.compile(r"`(?:(?P<file>(?:\w+/)?test_\w+\.py))?::(?P<test>test_\w+)(?:\.\.\.)?")


def test_every_test_the_page_names_exists() -> None:
    text = PAGE.read_text()
    missing: list[str] = []
    current = None
    seen = 0
    for match in REFERENCE.finditer(text):
        current = match["file"] or current
        assert current is not None, match.group(0)
        source = (ROOT / "tests" / current).read_text()
        name = match["test"]
        if not re.search(rf"^\s*(?:async )?def {name}\b", source, re.M):
            missing.append(f"{current}::{name}")
        seen += 1
    assert seen > 30
    assert missing == []
