"""Rooms named after concepts: a module past ~600 lines is two concepts (issue 14)."""

from __future__ import annotations

from pathlib import Path

import teamcrm

SRC = Path(teamcrm.__file__).parent
LIMIT = 600


def test_modules_outside_adapters_and_service_stay_under_600_lines() -> None:
    """Every module of ``teamcrm`` outside ``adapters/`` and ``service/`` is at most 600 lines."""
    sizes = {
        str(p.relative_to(SRC)): len(p.read_text(encoding="utf-8").splitlines())
        for p in SRC.rglob("*.py")
        if p.relative_to(SRC).parts[0] not in ("adapters", "service")
    }
    assert len(sizes) > 50, sorted(sizes)
    oversized = {name: n for name, n in sizes.items() if n > LIMIT}
    assert oversized == {}, oversized
